"""The media plane's copy of a room: folded from the log, then from live events; media
is told only of the changes that matter to it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from rooms.media.views import RoomViews, state_from_wire, state_to_wire
from rooms.state import Event, RoomState

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def _event(seq: int, event_kind: str, **data: Any) -> Event:
    return Event(seq, event_kind, T0, "u:1", data)


LOG = [
    _event(1, "room.opened"),
    _event(
        2, "member.joined", key="u:1", kind="user", id=1, name="Chủ trì", role="chair", conn="a"
    ),
    _event(
        3, "member.joined", key="p:9", kind="point", id=9, name="Xã Tân Phú", role="point", conn="b"
    ),
]


class Log:
    def __init__(self, events: list[Event]) -> None:
        self.events = events

    async def since(self, meeting_id: int, after: int, upto: int | None = None) -> list[Event]:
        return [e for e in self.events if e.seq > after and (upto is None or e.seq <= upto)]


async def test_chat_does_not_wake_the_media_plane_and_the_floor_does() -> None:
    told: list[int] = []
    views = RoomViews(Log(list(LOG)), lambda meeting_id, state: told.append(state.seq))  # type: ignore[arg-type]
    state = await views.follow(7)
    assert state.seq == 3 and told == [3]
    views.on_events(
        7, [_event(4, "chat.sent", text="xin chào"), _event(5, "hand.raised", key="p:9")]
    )
    assert views.states[7].seq == 5 and told == [3]
    views.on_events(7, [_event(6, "floor.granted", key="p:9", name="Xã Tân Phú")])
    assert told == [3, 6] and views.states[7].floor is not None


async def test_a_gap_in_the_events_is_healed_from_the_log() -> None:
    log = Log(list(LOG))
    views = RoomViews(log, lambda meeting_id, state: None)  # type: ignore[arg-type]
    await views.follow(7)
    log.events += [_event(4, "member.muted", key="p:9"), _event(5, "floor.granted", key="p:9")]
    views.on_events(7, [log.events[-1]])  # 4 was lost on the bus
    await asyncio.sleep(0.01)
    state = views.states[7]
    assert state.seq == 5 and "p:9" not in state.muted and state.floor is not None


def test_the_wire_form_keeps_what_media_reads() -> None:
    state = RoomState(7)
    from rooms.state import evolve

    for event in [*LOG, _event(4, "floor.granted", key="p:9", name="Xã Tân Phú"),
                  _event(5, "recording.started", number=2),
                  _event(6, "agenda.current", item_id=31, title="Báo cáo")]:  # fmt: skip
        evolve(state, event)
    back = state_from_wire(state_to_wire(state))
    assert back.floor is not None and back.floor.key == "p:9" and back.floor.name == "Xã Tân Phú"
    assert {k: m.role for k, m in back.members.items()} == {
        k: m.role for k, m in state.members.items()
    }
    assert back.recording is not None and back.recording.number == 2
    assert back.agenda_item == state.agenda_item and back.open and back.seq == 6
