"""The room state machine on its own: rules, permissions as a table, rebuild from the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rooms import messages as m
from rooms.machine import (
    SYSTEM,
    Actor,
    Close,
    ExpireFloor,
    Join,
    Leave,
    Open,
    Rejected,
    apply,
)
from rooms.state import Event, Role, RoomState, evolve, snapshot

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)

CHAIR = Actor("u:1", Role.CHAIR)
SECRETARY = Actor("u:2", Role.SECRETARY)
OFFICIAL = Actor("u:3", Role.OFFICIAL)
ADMIN = Actor("u:4", Role.ADMIN)
P1 = Actor("p:11", Role.POINT)
P2 = Actor("p:12", Role.POINT)
P3 = Actor("p:13", Role.POINT)
ACTORS = {
    a.role.value if a.role is not Role.POINT else a.key: a
    for a in (CHAIR, SECRETARY, OFFICIAL, ADMIN, P1, P2, P3)
}


def join(state: RoomState, actor: Actor, conn: str | None = None, at: datetime = T0) -> list[Event]:
    kind = "point" if actor.role is Role.POINT else "user"
    command = Join(
        actor.key,
        kind,
        int(actor.key[2:]),
        f"name {actor.key}",
        actor.role,
        None,
        conn or f"c-{actor.key}",
    )
    return apply(state, command, SYSTEM, at)


def room() -> RoomState:
    state = RoomState(meeting_id=7)
    apply(state, Open(), SYSTEM, T0)
    for actor in (CHAIR, SECRETARY, OFFICIAL, ADMIN, P1, P2, P3):
        join(state, actor)
    return state


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


def test_seq_increases_by_one_per_event() -> None:
    state = room()
    assert state.seq == 1 + 7
    events = apply(state, m.RaiseHand(id="a", type="raise_hand"), P1, T0)
    assert [e.seq for e in events] == [9]
    with pytest.raises(ValueError, match="does not follow"):
        evolve(state, Event(11, "hand.raised", T0, "p:12", {"key": "p:12"}))


def test_queue_is_ordered_and_holds_each_member_once() -> None:
    state = room()
    for actor in (P2, P1, OFFICIAL):
        apply(state, m.RaiseHand(id="r", type="raise_hand"), actor, T0)
    assert state.queue == ["p:12", "p:11", "u:3"]
    with pytest.raises(Rejected) as again:
        apply(state, m.RaiseHand(id="r", type="raise_hand"), P1, T0)
    assert again.value.code == "already_in_queue"
    apply(state, m.LowerHand(id="l", type="lower_hand"), P1, T0)
    assert state.queue == ["p:12", "u:3"]
    with pytest.raises(Rejected) as other:
        apply(state, m.LowerHand(id="l", type="lower_hand", target="p:12"), P3, T0)
    assert other.value.code == "not_allowed"
    apply(state, m.LowerHand(id="l", type="lower_hand", target="p:12"), CHAIR, T0)
    assert state.queue == ["u:3"]


def test_the_floor_goes_to_one_member_at_a_time() -> None:
    state = room()
    for actor in (P1, P2):
        apply(state, m.RaiseHand(id="r", type="raise_hand"), actor, T0)
    events = apply(state, m.NextFloor(id="n", type="next_floor"), CHAIR, T0)
    assert kinds(events) == ["floor.granted"]
    assert state.floor is not None and state.floor.key == "p:11"
    assert state.queue == ["p:12"]
    events = apply(state, m.GrantFloor(id="g", type="grant_floor", target="p:12"), CHAIR, T0)
    assert kinds(events) == ["floor.revoked", "floor.granted"]
    assert events[0].data == {"key": "p:11", "reason": "replaced"}
    assert state.floor.key == "p:12" and state.queue == []
    apply(state, m.RevokeFloor(id="x", type="revoke_floor"), CHAIR, T0)
    assert state.floor is None
    with pytest.raises(Rejected) as none:
        apply(state, m.RevokeFloor(id="x", type="revoke_floor"), CHAIR, T0)
    assert none.value.code == "floor_not_held"
    with pytest.raises(Rejected) as empty:
        apply(state, m.NextFloor(id="n", type="next_floor"), CHAIR, T0)
    assert empty.value.code == "queue_empty"
    with pytest.raises(Rejected) as absent:
        apply(state, m.GrantFloor(id="g", type="grant_floor", target="p:99"), CHAIR, T0)
    assert absent.value.code == "not_present"


def test_a_timed_floor_lapses_and_a_stale_timer_does_nothing() -> None:
    state = room()
    apply(state, m.GrantFloor(id="g", type="grant_floor", target="p:11", seconds=60), CHAIR, T0)
    assert state.floor is not None and state.floor.expires_at == T0 + timedelta(seconds=60)
    assert apply(state, ExpireFloor(), SYSTEM, T0 + timedelta(seconds=30)) == []
    lapsed = apply(state, ExpireFloor(), SYSTEM, T0 + timedelta(seconds=60))
    assert [(e.kind, e.data["reason"]) for e in lapsed] == [("floor.revoked", "lapsed")]
    assert state.floor is None
    assert apply(state, ExpireFloor(), SYSTEM, T0 + timedelta(seconds=90)) == []


def test_a_holder_that_leaves_loses_the_floor_and_its_place() -> None:
    state = room()
    apply(state, m.RaiseHand(id="r", type="raise_hand"), P2, T0)
    apply(state, m.GrantFloor(id="g", type="grant_floor", target="p:11"), CHAIR, T0)
    events = apply(state, Leave("p:11", "c-p:11"), SYSTEM, T0)
    assert kinds(events) == ["floor.revoked", "member.left"]
    assert state.floor is None
    apply(state, Leave("p:12", "c-p:12"), SYSTEM, T0)
    assert state.queue == []


def test_presence_counts_connections() -> None:
    state = room()
    join(state, P1, conn="second")
    assert state.members["p:11"].connections == {"c-p:11", "second"}
    first_leave = apply(state, Leave("p:11", "c-p:11"), SYSTEM, T0)
    assert first_leave[0].data["last"] is False
    assert "p:11" in state.members
    assert apply(state, Leave("p:11", "c-p:11"), SYSTEM, T0) == []  # already gone
    last = apply(state, Leave("p:11", "second"), SYSTEM, T0)
    assert last[0].data["last"] is True
    assert "p:11" not in state.members


def test_muting_rules() -> None:
    state = room()
    apply(state, m.MuteAll(id="a", type="mute_all"), CHAIR, T0)
    assert state.muted == {"p:11", "p:12", "p:13"}
    with pytest.raises(Rejected) as self_unmute:
        apply(state, m.Unmute(id="u", type="unmute", target="p:11"), P1, T0)
    assert self_unmute.value.code == "muted_by_chair"
    # The floor lifts the mute; losing it brings the mute back while mute-all holds.
    apply(state, m.GrantFloor(id="g", type="grant_floor", target="p:11"), CHAIR, T0)
    assert "p:11" not in state.muted
    apply(state, m.RevokeFloor(id="r", type="revoke_floor"), CHAIR, T0)
    assert "p:11" in state.muted
    # A point joining while everyone is muted starts muted.
    late = Actor("p:14", Role.POINT)
    join(state, late)
    assert "p:14" in state.muted
    apply(state, m.UnmuteAll(id="x", type="unmute_all"), CHAIR, T0)
    assert state.muted == set()
    apply(state, m.Mute(id="m", type="mute", target="p:12"), CHAIR, T0)
    with pytest.raises(Rejected):
        apply(state, m.Unmute(id="u", type="unmute", target="p:12"), P2, T0)
    apply(state, m.GrantFloor(id="g", type="grant_floor", target="p:13"), CHAIR, T0)
    apply(state, m.Mute(id="m", type="mute", target="p:13"), CHAIR, T0)
    # ...but a muted floor holder may unmute itself.
    apply(state, m.Unmute(id="u", type="unmute", target="p:13"), P3, T0)
    assert "p:13" not in state.muted


def test_presenter_and_pages() -> None:
    state = room()
    with pytest.raises(Rejected) as nobody:
        apply(state, m.Present(id="p", type="present", document_id=5), P1, T0)
    assert nobody.value.code == "not_allowed"
    apply(state, m.SetPresenter(id="s", type="set_presenter", target="p:11"), CHAIR, T0)
    apply(state, m.Present(id="p", type="present", document_id=5, page=3), P1, T0)
    apply(state, m.TurnPage(id="t", type="turn_page", page=4), P1, T0)
    shown = snapshot(state)["presentation"]
    assert (shown["document_id"], shown["page"], shown["by"]) == (5, 4, "p:11")
    apply(state, m.TurnPage(id="t", type="turn_page", page=5), SECRETARY, T0)
    apply(state, m.StopPresenting(id="x", type="stop_presenting"), CHAIR, T0)
    with pytest.raises(Rejected) as stopped:
        apply(state, m.TurnPage(id="t", type="turn_page", page=6), P1, T0)
    assert stopped.value.code == "nothing_presented"


def test_roll_call_records_who_answered_and_who_did_not() -> None:
    state = room()
    apply(state, m.OpenRollCall(id="o", type="open_roll_call"), SECRETARY, T0)
    apply(state, m.AnswerRollCall(id="a", type="answer_roll_call", head_count=12), P1, T0)
    apply(state, m.AnswerRollCall(id="a", type="answer_roll_call", head_count=9), P2, T0)
    apply(state, m.AnswerRollCall(id="a", type="answer_roll_call", head_count=10), P2, T0)
    with pytest.raises(Rejected):
        apply(state, m.AnswerRollCall(id="a", type="answer_roll_call", head_count=1), OFFICIAL, T0)
    [closed] = apply(state, m.CloseRollCall(id="c", type="close_roll_call"), CHAIR, T0)
    assert closed.data == {
        "number": 1,
        "answers": {"p:11": 12, "p:12": 10},
        "missing": ["p:13"],
        "points_answered": 2,
        "people": 22,
    }
    opened = apply(state, m.OpenRollCall(id="o", type="open_roll_call"), CHAIR, T0)
    assert opened[0].data == {"number": 2}


def test_nothing_happens_before_the_room_opens_or_after_it_closes() -> None:
    state = RoomState(meeting_id=7)
    with pytest.raises(Rejected) as early:
        apply(state, Join("p:11", "point", 11, "P", Role.POINT, None, "c"), SYSTEM, T0)
    assert early.value.code == "room_not_open"
    state = room()
    apply(state, m.OpenRollCall(id="o", type="open_roll_call"), CHAIR, T0)
    closing = apply(state, Close(), SYSTEM, T0)
    assert kinds(closing) == ["roll_call.closed", "room.closed"]
    with pytest.raises(Rejected) as late:
        apply(state, m.RaiseHand(id="r", type="raise_hand"), P1, T0)
    assert late.value.code == "room_closed"
    # Connections still end cleanly after the close.
    assert kinds(apply(state, Leave("p:11", "c-p:11"), SYSTEM, T0)) == ["member.left"]


# Who may send which command, with the room prepared so that the rule is the only obstacle.
def _commands() -> dict[str, m.Command]:
    return {
        "raise_hand": m.RaiseHand(id="1", type="raise_hand"),
        "lower_other": m.LowerHand(id="1", type="lower_hand", target="p:13"),
        "grant_floor": m.GrantFloor(id="1", type="grant_floor", target="p:12"),
        "next_floor": m.NextFloor(id="1", type="next_floor"),
        "revoke_floor": m.RevokeFloor(id="1", type="revoke_floor"),
        "mute": m.Mute(id="1", type="mute", target="p:12"),
        "unmute_other": m.Unmute(id="1", type="unmute", target="p:13"),
        "mute_all": m.MuteAll(id="1", type="mute_all"),
        "unmute_all": m.UnmuteAll(id="1", type="unmute_all"),
        "set_presenter": m.SetPresenter(id="1", type="set_presenter", target="p:12"),
        "present": m.Present(id="1", type="present", document_id=1),
        "turn_page": m.TurnPage(id="1", type="turn_page", page=2),
        "open_roll_call": m.OpenRollCall(id="1", type="open_roll_call"),
        "answer_roll_call": m.AnswerRollCall(id="1", type="answer_roll_call", head_count=3),
        "close_roll_call": m.CloseRollCall(id="1", type="close_roll_call"),
        "chat": m.Chat(id="1", type="chat", text="Xin chào"),
    }


ALLOWED = {
    "raise_hand": {"official", "p:11"},
    "lower_other": {"chair"},
    "grant_floor": {"chair"},
    "next_floor": {"chair"},
    "revoke_floor": {"chair"},
    "mute": {"chair"},
    "unmute_other": {"chair"},
    "mute_all": {"chair"},
    "unmute_all": {"chair"},
    "set_presenter": {"chair"},
    "present": {"chair", "secretary"},
    "turn_page": {"chair", "secretary"},
    "open_roll_call": {"chair", "secretary"},
    "answer_roll_call": {"p:11"},
    "close_roll_call": {"chair", "secretary"},
    "chat": {"chair", "secretary", "official", "admin", "p:11"},
}


def _prepared(name: str) -> RoomState:
    state = room()
    apply(state, m.RaiseHand(id="r", type="raise_hand"), P3, T0)
    apply(state, m.Mute(id="m", type="mute", target="p:13"), CHAIR, T0)
    if name == "revoke_floor":
        apply(state, m.GrantFloor(id="g", type="grant_floor", target="p:12"), CHAIR, T0)
    if name == "turn_page":
        apply(state, m.Present(id="p", type="present", document_id=1), CHAIR, T0)
    if name in ("answer_roll_call", "close_roll_call"):
        apply(state, m.OpenRollCall(id="o", type="open_roll_call"), CHAIR, T0)
    return state


@pytest.mark.parametrize("name", sorted(ALLOWED))
@pytest.mark.parametrize("who", ["chair", "secretary", "official", "admin", "p:11"])
def test_permission_table(name: str, who: str) -> None:
    state = _prepared(name)
    command = _commands()[name]
    if who in ALLOWED[name]:
        assert apply(state, command, ACTORS[who], T0)
    else:
        with pytest.raises(Rejected) as refused:
            apply(state, command, ACTORS[who], T0)
        assert refused.value.code == "not_allowed"


def test_a_room_rebuilt_from_its_events_is_the_same_room() -> None:
    state = RoomState(meeting_id=7)
    log = apply(state, Open(), SYSTEM, T0)
    for actor in (CHAIR, SECRETARY, OFFICIAL, ADMIN, P1, P2, P3):
        log += join(state, actor)
    steps = [
        (m.RaiseHand(id="1", type="raise_hand"), P1),
        (m.RaiseHand(id="2", type="raise_hand"), P2),
        (m.NextFloor(id="3", type="next_floor", seconds=30), CHAIR),
        (m.MuteAll(id="4", type="mute_all"), CHAIR),
        (m.Present(id="5", type="present", document_id=9, page=2), SECRETARY),
        (m.OpenRollCall(id="6", type="open_roll_call"), CHAIR),
        (m.AnswerRollCall(id="7", type="answer_roll_call", head_count=8), P2),
        (m.Chat(id="8", type="chat", text="Đề nghị phát biểu"), P3),
    ]
    for command, actor in steps:
        log += apply(state, command, actor, T0)
    rebuilt = RoomState(meeting_id=7)
    for event in log:
        evolve(rebuilt, event)
    assert snapshot(rebuilt) == snapshot(state)
    assert snapshot(state)["floor"]["key"] == "p:11"
    assert snapshot(state)["queue"] == ["p:12"]
    assert rebuilt.muted == {"p:12", "p:13"}  # every point but the floor holder


def test_organizers_move_the_meeting_along_its_agenda_and_recordings_follow_the_chair() -> None:
    from rooms.machine import ShowAgendaItem

    state = room()
    with pytest.raises(Rejected) as refused:
        apply(state, ShowAgendaItem(5, "Báo cáo"), P1, T0)
    assert refused.value.code == "not_allowed"
    events = apply(state, ShowAgendaItem(5, "Báo cáo tình hình"), SECRETARY, T0)
    assert kinds(events) == ["agenda.current"]
    assert snapshot(state, P1.key, P1.role)["agenda_item"] == {
        "item_id": 5,
        "title": "Báo cáo tình hình",
    }
    assert apply(state, ShowAgendaItem(5, "Báo cáo tình hình"), CHAIR, T0) == []  # no change
    apply(state, ShowAgendaItem(None), CHAIR, T0)
    assert state.agenda_item is None

    with pytest.raises(Rejected):
        apply(state, m.StartRecording(id="r1", type="start_recording"), SECRETARY, T0)
    started = apply(state, m.StartRecording(id="r2", type="start_recording"), CHAIR, T0)
    assert started[0].data == {"number": 1}
    with pytest.raises(Rejected) as again:
        apply(state, m.StartRecording(id="r3", type="start_recording"), CHAIR, T0)
    assert again.value.code == "recording"
    # Closing the room ends a running recording first.
    closed = apply(state, Close(), SYSTEM, T0)
    assert kinds(closed) == ["recording.stopped", "room.closed"]
    assert state.recording is None and state.recordings_made == 1
