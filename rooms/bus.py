"""How the processes serving rooms talk: room events out, lifecycle notices, ownership.

One process needs none of it: InMemoryBus owns every room and hands events straight to the
local listeners. Several processes use RedisBus (rooms/redis_bus.py), chosen by settings.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from rooms.state import Event

EventsHandler = Callable[[int, list[Event]], None]
NoticeHandler = Callable[[dict[str, Any]], None]
ForwardHandler = Callable[[int, dict[str, Any]], Awaitable[dict[str, Any]]]


def new_process_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Bus(Protocol):
    proc_id: str

    async def start(
        self, on_events: EventsHandler, on_notice: NoticeHandler, on_forward: ForwardHandler
    ) -> None: ...

    async def stop(self) -> None: ...

    async def publish_events(self, meeting_id: int, events: list[Event]) -> None:
        """From a room's owner to every process (itself included)."""

    async def publish_notice(self, notice: dict[str, Any]) -> None:
        """A small message to every process (itself included): a meeting's status changed,
        members to disconnect, a room's latest seq."""

    async def claim(self, meeting_id: int) -> bool:
        """Become (or stay) the room's owner; False if another live process owns it."""

    async def owns(self, meeting_id: int) -> bool: ...

    async def release(self, meeting_id: int) -> None: ...

    async def forward(self, meeting_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a command to the room's owner and wait for its answer."""

    async def live_processes(self) -> set[str]: ...


class InMemoryBus:
    """A single process: it owns every room; events go straight to its listeners."""

    def __init__(self, proc_id: str | None = None) -> None:
        self.proc_id = proc_id or new_process_id()
        self._on_events: EventsHandler | None = None
        self._on_notice: NoticeHandler | None = None

    async def start(
        self, on_events: EventsHandler, on_notice: NoticeHandler, on_forward: ForwardHandler
    ) -> None:
        self._on_events = on_events
        self._on_notice = on_notice

    async def stop(self) -> None:
        self._on_events = self._on_notice = None

    async def publish_events(self, meeting_id: int, events: list[Event]) -> None:
        if self._on_events is not None:
            self._on_events(meeting_id, events)

    async def publish_notice(self, notice: dict[str, Any]) -> None:
        if self._on_notice is not None:
            self._on_notice(notice)

    async def claim(self, meeting_id: int) -> bool:
        return True

    async def owns(self, meeting_id: int) -> bool:
        return True

    async def release(self, meeting_id: int) -> None:
        return None

    async def forward(self, meeting_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("a single process owns every room: nothing to forward")

    async def live_processes(self) -> set[str]:
        return {self.proc_id}
