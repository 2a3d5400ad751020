"""Which members receive which events.

Presence (who joins and leaves, who answered the roll call, who voted) goes to the people who run
the meeting and to the member itself: with 200 points joining at 08:00, telling every
point about every other would be 40,000 messages for nothing a point's screen shows.
Points and officials get the member count and the members that matter to them
(organizers, the floor, the queue) in their snapshot; events that change the floor, the
queue or the page go to everyone.

A batch of such narrow events is handed only to the watchers and the members it is about
(see ``QuietRuns``), not to every connection of the room: a join storm of N points would
otherwise be N² hand-overs, each to learn that the event is not for that connection.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from rooms.state import ORGANIZERS, Role

# Who sees the whole membership live.
WATCHERS = ORGANIZERS | {Role.ADMIN}
# Events that say who is present: for the watchers, and the member they are about.
PRESENCE = frozenset({"member.joined", "member.left", "roll_call.answered", "poll.voted"})
# Runs of narrow events remembered per room; a connection further behind fetches instead.
QUIET_RUNS_KEPT = 256


def narrow(kind: str, data: dict[str, Any]) -> tuple[frozenset[Role], Any] | None:
    """The roles that receive this event and the one member (key) it is also for, or None
    if it is for everyone."""
    if kind == "chat.sent" and data.get("to") == "organizers":
        return ORGANIZERS, data.get("from")
    if kind in PRESENCE:
        return WATCHERS, data.get("key")
    return None


def receives(kind: str, data: dict[str, Any], key: str, role: Role) -> bool:
    """Whether the member ``key`` (with ``role``) is sent this event, live or on resume."""
    audience = narrow(kind, data)
    return audience is None or role in audience[0] or audience[1] == key


class _Event(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def data(self) -> dict[str, Any]: ...


E = TypeVar("E", bound=_Event)


def by_member(events: Sequence[E]) -> dict[str, list[E]] | None:
    """A batch of narrow events by the member (besides the watchers) each is for, or None
    if any of them is for everyone."""
    found: dict[str, list[E]] = {}
    for event in events:
        audience = narrow(event.kind, event.data)
        if audience is None or not audience[0] <= WATCHERS:
            return None
        if isinstance(audience[1], str):
            found.setdefault(audience[1], []).append(event)
    return found


class QuietRuns:
    """Seq ranges whose events went only to the watchers and the members they are about.

    A connection that is neither (see ``may_step_over``) was not handed them, so its seq
    lags; when it next sees a gap it steps over these ranges instead of fetching them from
    the log. That is safe because every event this process saw for a member was handed to
    its connections in order: a gap a connection finds holds only events that are not for
    it. Ranges this process never saw (lost on the bus, older than the ones kept) are not
    here, and are fetched as before.
    """

    def __init__(self, kept: int = QUIET_RUNS_KEPT) -> None:
        self._firsts: list[int] = []
        self._lasts: list[int] = []
        self._kept = kept

    def add(self, first: int, last: int) -> None:
        if self._lasts and first <= self._lasts[-1]:
            return  # out of order (a replayed batch): not needed, and would break the order
        if self._lasts and self._lasts[-1] + 1 == first:
            self._lasts[-1] = last
            return
        self._firsts.append(first)
        self._lasts.append(last)
        if len(self._firsts) > self._kept:
            del self._firsts[0], self._lasts[0]

    def step_over(self, after: int, upto: int) -> int:
        """The highest seq up to ``upto`` such that every seq after ``after`` up to it is in
        a run; ``after`` itself if the next seq is not."""
        index = bisect_right(self._firsts, after + 1) - 1
        if index < 0 or self._lasts[index] <= after:
            return after
        return min(self._lasts[index], upto)


def may_step_over(role: Role) -> bool:
    """Whether a member with ``role`` may step over quiet runs (watchers get every event)."""
    return role not in WATCHERS
