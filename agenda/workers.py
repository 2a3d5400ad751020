"""The processes that do paper work: watermarked copies, agenda packs, page images.

pypdf is pure Python and holds the GIL, so copies made in threads would take turns on one
core and stall the event loop; a small process pool uses every core and leaves the server
process free to serve. Jobs write their result to a path and return small values.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class PaperWorkers:
    def __init__(self, processes: int = 0) -> None:
        self.processes = processes or os.cpu_count() or 2
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        # Started on first use: most requests never need it. "spawn": forking a process
        # that runs an event loop and threads is unsafe.
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    async def run(self, job: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), job, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
