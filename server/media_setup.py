"""Which media plane the server runs: in its own process, or on media workers it starts
(or that run elsewhere)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from rooms.media.plane import MediaPlane
from rooms.media.recorder import Finished
from rooms.media.remote import RemoteMediaPlane
from rooms.store import EventStore
from server.media_ice import ice_servers, server_ice_servers
from server.settings import Settings

log = logging.getLogger(__name__)

READY_PREFIX = "media-worker listening on "


@asynccontextmanager
async def media_plane(
    settings: Settings,
    store: EventStore,
    on_recording: Callable[[Finished], Awaitable[None]],
) -> AsyncIterator[MediaPlane | RemoteMediaPlane | None]:
    if not settings.media_enabled:
        yield None
        return
    recordings = settings.data_dir / "recordings"
    external = [a.strip() for a in settings.media_worker_addresses.split(",") if a.strip()]
    if not external and settings.media_workers == 0:
        plane = MediaPlane(store, server_ice_servers(settings), recordings, on_recording)
        try:
            yield plane
        finally:
            await plane.close()
        return
    secret = settings.media_secret or secrets.token_urlsafe(24)
    workers = [
        SpawnedWorker(secret, str(recordings))
        for _ in range(0 if external else settings.media_workers)
    ]
    try:
        for worker in workers:
            await worker.start()
        addresses = external + [worker.address for worker in workers]
        remote = RemoteMediaPlane(
            store,
            addresses,
            secret,
            settings.media_peers_per_worker,
            ice_servers(settings, "hoinghi-worker"),
            on_recording,
        )
        await remote.start()
        remote.spawned = workers
        log.info("media on %d workers: %s", len(addresses), ", ".join(addresses))
        try:
            yield remote
        finally:
            await remote.close()
    finally:
        for worker in workers:
            await worker.stop()


class SpawnedWorker:
    """A `hoinghi media-worker` this server started, restarted on the same port if it dies
    (the server's link to it reconnects there)."""

    def __init__(self, secret: str, recordings: str) -> None:
        self.secret = secret
        self.recordings = recordings
        self.port = 0
        self.address = ""
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self.process, self.address = await _spawn(self.secret, self.recordings, self.port)
        self.port = int(self.address.rpartition(":")[2])
        self._watch = asyncio.get_running_loop().create_task(self._watch_process())

    async def _watch_process(self) -> None:
        while not self._stopping:
            assert self.process is not None
            code = await self.process.wait()
            if self._stopping:
                return
            log.error("media worker %s exited (%s); starting it again", self.address, code)
            await asyncio.sleep(min(30.0, 2.0**self.restarts))
            self.restarts += 1
            try:
                self.process, _ = await _spawn(self.secret, self.recordings, self.port)
            except (OSError, RuntimeError, TimeoutError) as exc:
                log.error("media worker on port %s did not start again: %s", self.port, exc)

    async def stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()


async def _spawn(
    secret: str, recordings: str, port: int = 0
) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "media-worker",
        "--port",
        str(port),
        "--recordings",
        recordings,
        env={**os.environ, "HOINGHI_MEDIA_SECRET": secret},
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
    if not line.startswith(READY_PREFIX):
        process.kill()
        raise RuntimeError(f"media worker did not start: {line!r}")
    return process, line.removeprefix(READY_PREFIX)
