"""The processes that do paper work: watermarked copies, agenda packs, page images.

pypdf is pure Python and holds the GIL, so copies made in threads would take turns on one
core and stall the event loop; a small process pool uses every core and leaves the server
process free to serve. Jobs write their result to a path and return small values.

Each worker runs under a memory limit, and each job under a deadline: a file that makes
pdfium or pypdf run away costs the pool's processes (replaced on the next job), never the
server.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")


class PaperFailed(Exception):
    """A paper-work job could not be done (the file made a worker die or run too long)."""


def _limit_memory(megabytes: int) -> None:
    import resource

    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class PaperWorkers:
    def __init__(self, processes: int = 0, memory_mb: int = 4096, seconds: float = 300) -> None:
        self.processes = processes or os.cpu_count() or 2
        self.memory_mb = memory_mb
        self.seconds = seconds
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        # Started on first use: most requests never need it. "spawn": forking a process
        # that runs an event loop and threads is unsafe.
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_limit_memory,
                initargs=(self.memory_mb,),
            )
        return self._pool

    async def run(self, job: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self._executor()
            try:
                return await asyncio.wait_for(loop.run_in_executor(pool, job, *args), self.seconds)
            except TimeoutError:
                self._discard(pool)
                raise PaperFailed(f"the work took longer than {self.seconds:g} seconds") from None
            except (BrokenProcessPool, MemoryError) as exc:
                if attempt == 1 and self._pool is not pool:
                    continue  # another job broke the pool and it was replaced: try again
                self._discard(pool)
                raise PaperFailed("the file needed more memory than a worker may use") from exc
        raise AssertionError("unreachable")

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Kill a pool whose worker ran away; jobs still on it fail and are run again."""
        if self._pool is pool:
            self._pool = None
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
