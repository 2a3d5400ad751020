"""Choosing the rooms' bus from settings: in memory for one process, Redis for several."""

from __future__ import annotations

from rooms.bus import Bus, InMemoryBus
from server.settings import Settings


def make_bus(settings: Settings) -> Bus:
    if settings.redis_url:
        from rooms.redis_bus import RedisBus

        return RedisBus(settings.redis_url, prefix=settings.redis_prefix)
    return InMemoryBus()
