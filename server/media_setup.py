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
    processes: list[asyncio.subprocess.Process] = []
    try:
        addresses = list(external)
        for _ in range(0 if external else settings.media_workers):
            process, address = await _spawn(secret, str(recordings))
            processes.append(process)
            addresses.append(address)
        remote = RemoteMediaPlane(
            store,
            addresses,
            secret,
            settings.media_peers_per_worker,
            ice_servers(settings, "hoinghi-worker"),
            on_recording,
        )
        await remote.start()
        log.info("media on %d workers: %s", len(addresses), ", ".join(addresses))
        try:
            yield remote
        finally:
            await remote.close()
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()


async def _spawn(secret: str, recordings: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "media-worker",
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
