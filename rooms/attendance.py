"""Attendance from a room's event log: when each point and person was in the room."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rooms.state import Event


@dataclass
class Presence:
    key: str
    kind: str
    id: int
    name: str
    role: str
    intervals: list[tuple[datetime, datetime | None]] = field(default_factory=list)

    def seconds(self, until: datetime) -> float:
        return sum(((end or until) - start).total_seconds() for start, end in self.intervals)


def presences(events: list[Event]) -> tuple[list[Presence], datetime | None]:
    """Everyone who was in the room, with their intervals, and when the room closed.

    An interval starts when a member's first connection joins and ends when its last leaves;
    reconnecting within a second or two shows as two intervals, which is the truth.
    """
    found: dict[str, Presence] = {}
    closed_at: datetime | None = None
    for event in events:
        data = event.data
        if event.kind == "member.joined" and data.get("first"):
            presence = found.setdefault(
                data["key"],
                Presence(data["key"], data["kind"], data["id"], data["name"], data["role"]),
            )
            presence.intervals.append((event.at, None))
        elif event.kind == "member.left" and data.get("last"):
            leaving = found.get(data["key"])
            if leaving and leaving.intervals and leaving.intervals[-1][1] is None:
                leaving.intervals[-1] = (leaving.intervals[-1][0], event.at)
        elif event.kind == "room.closed":
            closed_at = event.at
    if closed_at is not None:
        for presence in found.values():
            if presence.intervals and presence.intervals[-1][1] is None:
                presence.intervals[-1] = (presence.intervals[-1][0], closed_at)
    return list(found.values()), closed_at
