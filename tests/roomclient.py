"""A room client for tests: a real WebSocket to the live server, with helpers to wait."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

TIMEOUT = 10.0


class RoomClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []  # everything received, in order
        self._ids = itertools.count(1)
        self._new = asyncio.Event()
        self._reader = asyncio.create_task(self._read())
        self.closed: tuple[int | None, str] | None = None

    @classmethod
    async def open(
        cls, base: str, meeting_id: int, headers: dict[str, str] | None = None, **query: Any
    ) -> RoomClient:
        params = "&".join(f"{k}={v}" for k, v in query.items())
        url = f"{base}/ws/meetings/{meeting_id}" + (f"?{params}" if params else "")
        ws = await connect(url, additional_headers=headers or {}, max_queue=None)
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.frames.append(json.loads(raw))
                self._new.set()
        except Exception:
            pass
        finally:
            self.closed = (self.ws.close_code, self.ws.close_reason or "")
            self._new.set()

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], within: float = TIMEOUT
    ) -> dict[str, Any]:
        seen = 0
        async with asyncio.timeout(within):
            while True:
                for frame in self.frames[seen:]:
                    if match(frame):
                        return frame
                seen = len(self.frames)
                if self.closed is not None:
                    raise AssertionError(f"closed {self.closed} before a match: {self.frames}")
                self._new.clear()
                await self._new.wait()

    async def event(self, kind: str, **data: Any) -> dict[str, Any]:
        return await self.wait_for(
            lambda f: (
                f.get("type") == "event"
                and f["event"] == kind
                and all(f["data"].get(k) == v for k, v in data.items())
            )
        )

    async def send(self, command_type: str, **fields: Any) -> dict[str, Any]:
        """Send a command and wait for its ack or error."""
        command_id = f"c{next(self._ids)}"
        await self.ws.send(json.dumps({"type": command_type, "id": command_id, **fields}))
        return await self.wait_for(
            lambda f: f.get("id") == command_id and f["type"] in ("ack", "error")
        )

    async def send_raw(self, raw: str | bytes) -> None:
        await self.ws.send(raw)

    def events(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == "event"]

    async def wait_closed(self, within: float = TIMEOUT) -> tuple[int | None, str]:
        async with asyncio.timeout(within):
            await self._reader
        assert self.closed is not None
        return self.closed

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


def addressed_to(events: list[Any], key: str, role: str, after: int = 0) -> list[int]:
    """The seqs of logged events (rooms.state.Event) that member ``key`` is sent, after a seq."""
    from rooms.audience import receives
    from rooms.state import Role

    return [e.seq for e in events if e.seq > after and receives(e.kind, e.data, key, Role(role))]
