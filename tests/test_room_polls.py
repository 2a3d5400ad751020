"""Polls in the room state machine: who may vote, changing a ballot, closing, time limits,
results, and what each member sees."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rooms import messages as m
from rooms.machine import SYSTEM, Actor, Close, ExpirePoll, Rejected, apply
from rooms.state import Role, snapshot
from tests.test_room_machine import CHAIR, OFFICIAL, P1, P2, P3, SECRETARY, T0, join, room


def open_poll(state, **fields):  # type: ignore[no-untyped-def]
    command = m.OpenPoll(type="open_poll", id="o", question="Thông qua dự toán?", **fields)
    return apply(state, command, CHAIR, T0)


def vote(state, actor, option, poll=1):  # type: ignore[no-untyped-def]
    return apply(
        state, m.CastBallot(type="cast_ballot", id="v", poll=poll, option=option), actor, T0
    )


def test_points_present_when_it_opened_vote_once_each_and_may_change_until_close() -> None:
    state = room()
    (opened,) = open_poll(state)
    assert opened.data["eligible"] == ["p:11", "p:12", "p:13"]
    assert opened.data["options"] == ["Tán thành", "Không tán thành", "Không biểu quyết"]
    vote(state, P1, 0)
    vote(state, P2, 1)
    vote(state, P2, 0)  # changed
    assert vote(state, P2, 0) == []  # the same ballot again changes nothing
    late = Actor("p:14", Role.POINT)
    join(state, late)
    with pytest.raises(Rejected) as refused:
        vote(state, late, 0)
    assert refused.value.code == "not_eligible"
    with pytest.raises(Rejected) as official:
        vote(state, OFFICIAL, 0)
    assert official.value.code == "not_eligible"  # one ballot per point, not per person
    with pytest.raises(Rejected) as bad:
        vote(state, P3, 3)
    assert bad.value.code == "invalid_option"
    with pytest.raises(Rejected) as twice:
        open_poll(state)
    assert twice.value.code == "poll_open"

    seen_by_point = snapshot(state, "p:12", Role.POINT)["poll"]
    assert seen_by_point["may_vote"] and seen_by_point["my_ballot"] == 0
    assert seen_by_point["voted_count"] == 2 and "voted" not in seen_by_point
    assert snapshot(state, "u:1", Role.CHAIR)["poll"]["voted"] == ["p:11", "p:12"]

    with pytest.raises(Rejected):
        apply(state, m.ClosePoll(type="close_poll", id="c", poll=1), P1, T0)
    (closed,) = apply(state, m.ClosePoll(type="close_poll", id="c", poll=1), CHAIR, T0)
    result = closed.data["result"]
    assert result["counts"] == [2, 0, 0] and result["eligible"] == 3 and result["cast"] == 2
    assert result["passed"] is True  # 2 of 3 eligible agree: more than half
    assert closed.data["not_voted"] == ["p:13"]
    with pytest.raises(Rejected) as after:
        vote(state, P3, 0)
    assert after.value.code == "poll_closed"
    assert snapshot(state)["poll"] is None
    (second,) = open_poll(state, voters="people", rule="majority_of_cast", options=["Có", "Không"])
    assert second.data["number"] == 2
    assert second.data["eligible"] == ["u:1", "u:2", "u:3"]  # chair, secretary, official


def test_a_time_limit_closes_the_poll_and_the_room_closing_closes_it_too() -> None:
    state = room()
    open_poll(state, seconds=60)
    vote(state, P1, 1)
    assert apply(state, ExpirePoll(1), SYSTEM, T0 + timedelta(seconds=30)) == []  # not yet
    (closed,) = apply(state, ExpirePoll(1), SYSTEM, T0 + timedelta(seconds=61))
    assert closed.data["reason"] == "time_up" and closed.data["result"]["passed"] is False
    assert apply(state, ExpirePoll(1), SYSTEM, T0 + timedelta(seconds=62)) == []  # once

    open_poll(state)
    events = apply(state, Close(), SYSTEM, T0)
    assert events[0].kind == "poll.closed" and events[0].data["reason"] == "room_closed"


def test_the_secretary_may_run_a_poll_but_not_with_nobody_to_vote() -> None:
    state = room()
    opened = apply(
        state, m.OpenPoll(type="open_poll", id="o", question="Có đồng ý?"), SECRETARY, T0
    )
    assert opened[0].kind == "poll.opened"
    apply(state, m.ClosePoll(type="close_poll", id="c", poll=1), SECRETARY, T0)
    empty = room_without_points()
    with pytest.raises(Rejected) as nobody:
        open_poll(empty)
    assert nobody.value.code == "no_voters"


def room_without_points():  # type: ignore[no-untyped-def]
    from rooms.machine import Open
    from rooms.state import RoomState

    state = RoomState(meeting_id=8)
    apply(state, Open(), SYSTEM, T0)
    join(state, CHAIR)
    return state
