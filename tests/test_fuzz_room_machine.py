"""Fuzzing the room state machine (rooms/machine.py, rooms/state.py) with random meetings.

Hypothesis plays a meeting: the chair, secretaries, an admin, officials and points join on
several connections and leave, send any command (allowed or not, sensible or not), time
passes and limits run out, the room closes. After every step the room must hold together:
one floor holder at most, and present; a queue of present members, each once; events
numbered one by one; a poll's ballots only from those eligible, counted exactly at close;
a refused command changes nothing; a closed room takes nothing but departures; and the
log, replayed from nothing, gives the same room (docs/fuzzing.md).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from rooms import messages as m
from rooms import polls
from rooms.machine import (
    MAX_CONNECTIONS_PER_MEMBER,
    SYSTEM,
    Actor,
    Close,
    ExpireFloor,
    ExpirePoll,
    Join,
    Leave,
    Open,
    Rejected,
    RoomCommand,
    ShowAgendaItem,
    ShowDocument,
    apply,
)
from rooms.state import Event, Role, RoomState, evolve, snapshot
from tests.fuzzing import fuzz_settings

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
PEOPLE = {
    "u:1": Role.CHAIR,
    "u:2": Role.SECRETARY,
    "u:3": Role.OFFICIAL,
    "u:4": Role.ADMIN,
    "u:5": Role.OFFICIAL,
    "u:6": Role.SECRETARY,
    "p:11": Role.POINT,
    "p:12": Role.POINT,
    "p:13": Role.POINT,
    "p:14": Role.POINT,
    "p:15": Role.POINT,
}
ACTORS = [Actor(key, role) for key, role in PEOPLE.items()]
# Targets include someone who never comes: commands about them must be refused.
TARGETS = [*PEOPLE, "p:99"]
CONNECTIONS = [f"c{n}" for n in range(MAX_CONNECTIONS_PER_MEMBER + 1)]
# Every code the room may refuse a command with (docs/protocol.md).
REJECTIONS = {
    "not_allowed",
    "too_many_connections",
    "not_present",
    "invalid_target",
    "has_floor",
    "already_in_queue",
    "not_in_queue",
    "queue_empty",
    "floor_not_held",
    "already_muted",
    "not_muted",
    "muted_by_chair",
    "recording",
    "not_recording",
    "nothing_presented",
    "page_out_of_range",
    "roll_call_open",
    "no_roll_call",
    "poll_open",
    "poll_closed",
    "no_voters",
    "not_eligible",
    "invalid_option",
    "ballot_required",
    "unknown_ballot",
    "room_not_open",
    "room_closed",
}

targets = st.sampled_from(TARGETS)
texts = st.sampled_from(["Xin phát biểu", "Đồng ý", "?", "x" * 500]) | st.text(
    min_size=1, max_size=30
).filter(str.strip)
seconds = st.none() | st.integers(min_value=10, max_value=3600)
poll_numbers = st.integers(min_value=1, max_value=4)
ballots = st.none() | st.integers(min_value=0, max_value=5).map(lambda n: f"{n:032x}")


def _c(cls: type[Any], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    kind = cls.model_fields["type"].annotation.__args__[0]
    return st.builds(cls, id=st.just("c"), type=st.just(kind), **fields)


wire_commands = st.one_of(
    _c(m.Ping),
    _c(m.RaiseHand),
    _c(m.LowerHand, target=st.none() | targets),
    _c(m.GrantFloor, target=targets, seconds=seconds),
    _c(m.NextFloor, seconds=seconds),
    _c(m.RevokeFloor),
    _c(m.Mute, target=targets),
    _c(m.Unmute, target=targets),
    _c(m.MuteAll),
    _c(m.UnmuteAll),
    _c(m.SetPresenter, target=st.none() | targets),
    _c(m.Present, document_id=st.integers(1, 3), page=st.integers(1, 12)),
    _c(m.TurnPage, page=st.integers(1, 12)),
    _c(m.StopPresenting),
    _c(m.OpenRollCall),
    _c(m.AnswerRollCall, head_count=st.integers(0, 10_000)),
    _c(m.CloseRollCall),
    _c(m.Chat, text=texts, to=st.sampled_from(["all", "organizers"])),
    _c(m.StartRecording),
    _c(m.StopRecording),
    _c(
        m.OpenPoll,
        question=texts,
        options=st.none() | st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=2, max_size=4),
        voters=st.sampled_from(["points", "people"]),
        rule=st.none() | st.sampled_from([r.value for r in polls.Rule]),
        seconds=seconds,
        secret=st.booleans(),
    ),
    _c(m.CastBallot, poll=poll_numbers, option=st.integers(0, 4), ballot=ballots),
    _c(m.ClosePoll, poll=poll_numbers),
)


def _diff(before: RoomState, after: RoomState) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(before)
        if getattr(before, f.name) != getattr(after, f.name)
    ]


def _normalized(state: RoomState) -> RoomState:
    """The state as the log alone determines it: a secret poll's counts come from the
    ballot box, loaded just before closing, never from the log."""
    state = copy.deepcopy(state)
    if state.poll is not None:
        state.poll.box_counts = None
    return state


class Meeting(RuleBasedStateMachine):
    """One room, played by Hypothesis; the model keeps the log and the secret ballot box."""

    def __init__(self) -> None:
        super().__init__()
        self.state = RoomState(meeting_id=7)
        self.log: list[Event] = []
        self.now = T0
        self.box: dict[str, int] = {}  # secret ballots of the open poll: id -> option
        self.boxed = 0
        self.closed_at_seq: int | None = None

    # --- doing things ---------------------------------------------------------------

    def run(self, command: RoomCommand, actor: Actor) -> list[Event] | None:
        """Apply a command as the room does; check what any command must respect."""
        was_closed = self.state.closed
        before = copy.deepcopy(self.state)
        try:
            secret = self._box_before(command, actor)
            events = apply(self.state, command, actor, self.now)
        except Rejected as refused:
            assert refused.code in REJECTIONS, refused.code
            after = _normalized(self.state)
            assert after == _normalized(before), f"a refused command changed {_diff(before, after)}"
            if was_closed and not isinstance(command, Leave):
                assert refused.code == "room_closed"
            return None
        if was_closed:
            # A closed room accepts nothing that changes it but connections ending.
            assert isinstance(command, Leave), command
            assert {e.kind for e in events} <= {"member.left"}
        for offset, event in enumerate(events, start=1):
            assert event.seq == before.seq + offset
            assert event.at == self.now and event.actor == actor.key
            self._check_event(before, event)
        assert self.state.seq == before.seq + len(events)
        if secret and isinstance(command, m.CastBallot):
            self._box_after(command)
        self.log += events
        return events

    def _box_before(self, command: RoomCommand, actor: Actor) -> bool:
        """What rooms/room.py's BallotBox does before a secret poll's commands: refuse a
        ballot id it does not hold, and count the box just before closing."""
        poll = self.state.poll
        if poll is None or not poll.secret:
            return False
        if isinstance(command, m.CastBallot) and command.poll == poll.number:
            if command.ballot is not None and (
                actor.key not in poll.voted or command.ballot not in self.box
            ):
                raise Rejected("unknown_ballot", "no such ballot in this poll")
            return True
        if isinstance(command, m.ClosePoll | ExpirePoll | Close):
            counts = [0] * len(poll.options)
            for option in self.box.values():
                counts[option] += 1
            poll.box_counts = counts
        return False

    def _box_after(self, command: m.CastBallot) -> None:
        if command.ballot is None:  # a first ballot: the voter gets its id
            self.box[f"{self.boxed:032x}"] = command.option
            self.boxed += 1
        else:
            self.box[command.ballot] = command.option

    def _check_event(self, before: RoomState, event: Event) -> None:
        if event.kind == "poll.opened":
            self.box, self.boxed = {}, 0
            assert set(event.data["eligible"]) <= set(before.members)
            assert event.data["present"] == len(before.members)
        if event.kind == "poll.closed":
            poll = before.poll
            assert poll is not None and event.data["number"] == poll.number
            result = event.data["result"]
            if poll.secret:
                expected = [0] * len(poll.options)
                for option in self.box.values():
                    expected[option] += 1
            else:
                expected = polls.count_choices(poll.options, poll.choices.values())
            assert result["counts"] == expected
            assert result["cast"] == sum(expected) == len(poll.voted)
            assert result["eligible"] == len(poll.eligible)
            assert event.data["not_voted"] == sorted(poll.eligible - poll.voted)
            assert result["not_voted"] == len(poll.eligible) - len(poll.voted)
        if event.kind == "roll_call.closed":
            roll_call = before.roll_call
            assert roll_call is not None
            assert event.data["answers"] == roll_call.answers
            assert event.data["people"] == sum(roll_call.answers.values())
        if event.kind == "room.closed":
            self.closed_at_seq = event.seq

    # --- rules ------------------------------------------------------------------------

    @initialize()
    def open_room(self) -> None:
        assert self.run(Open(), SYSTEM) is not None

    @rule(actor=st.sampled_from(ACTORS), conn=st.sampled_from(CONNECTIONS))
    def join(self, actor: Actor, conn: str) -> None:
        kind = "point" if actor.role is Role.POINT else "user"
        name = f"Thành viên {actor.key}"
        self.run(Join(actor.key, kind, int(actor.key[2:]), name, actor.role, None, conn), SYSTEM)

    @rule(
        actor=st.sampled_from(ACTORS),
        conn=st.sampled_from(CONNECTIONS),
        reason=st.sampled_from(["disconnected", "lost"]),
    )
    def leave(self, actor: Actor, conn: str, reason: str) -> None:
        self.run(Leave(actor.key, conn, reason), SYSTEM)

    @rule(data=st.data(), command=wire_commands)
    def member_sends(self, data: st.DataObject, command: m.Command) -> None:
        # The socket only takes commands from members in the room.
        present = [a for a in ACTORS if a.key in self.state.members]
        if not present:
            return
        self.run(command, data.draw(st.sampled_from(present), label="actor"))

    @rule(actor=st.sampled_from(ACTORS), command=wire_commands)
    def anyone_sends(self, actor: Actor, command: m.Command) -> None:
        # A command that arrives after its member left (forwarded from another process, or
        # from a connection the room already counted as lost).
        self.run(command, actor)

    @rule(
        actor=st.sampled_from(ACTORS),
        document=st.integers(1, 3),
        pages=st.integers(1, 12),
        page=st.integers(1, 14),
    )
    def show_document(self, actor: Actor, document: int, pages: int, page: int) -> None:
        self.run(ShowDocument(document, 1, pages, f"Tài liệu {document}", page), actor)

    @rule(actor=st.sampled_from(ACTORS), item=st.none() | st.integers(1, 3))
    def show_agenda_item(self, actor: Actor, item: int | None) -> None:
        self.run(ShowAgendaItem(item, f"Mục {item}" if item else ""), actor)

    @rule(seconds=st.sampled_from([1, 9, 10, 59, 60, 600, 3601]))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule()
    def floor_timer(self) -> None:
        self.run(ExpireFloor(), SYSTEM)

    @rule(number=poll_numbers)
    def poll_timer(self, number: int) -> None:
        self.run(ExpirePoll(number), SYSTEM)

    @precondition(lambda self: self.state.seq > 25)
    @rule()
    def close_room(self) -> None:
        self.run(Close(), SYSTEM)

    @rule()
    def restart(self) -> None:
        """The server restarts: the room is rebuilt from its log and carries on."""
        self.state = self._replayed()

    # --- invariants -------------------------------------------------------------------

    def _replayed(self) -> RoomState:
        rebuilt = RoomState(meeting_id=7)
        for event in self.log:
            evolve(rebuilt, event)
        return rebuilt

    @invariant()
    def one_floor_holder_and_present(self) -> None:
        floor = self.state.floor
        if floor is not None:
            assert floor.key in self.state.members
            assert floor.key not in self.state.queue

    @invariant()
    def queue_of_present_members_each_once(self) -> None:
        queue = self.state.queue
        assert len(queue) == len(set(queue))
        assert set(queue) <= set(self.state.members)

    @invariant()
    def members_hold_their_connections(self) -> None:
        for key, member in self.state.members.items():
            assert member.key == key
            assert 1 <= len(member.connections) <= MAX_CONNECTIONS_PER_MEMBER
        assert self.state.muted <= set(self.state.members)
        assert self.state.presenter is None or self.state.presenter in self.state.members

    @invariant()
    def seq_counts_the_log(self) -> None:
        assert [e.seq for e in self.log] == list(range(1, len(self.log) + 1))
        assert self.state.seq == len(self.log)

    @invariant()
    def ballots_only_from_the_eligible(self) -> None:
        poll = self.state.poll
        if poll is None:
            return
        assert poll.voted <= poll.eligible
        assert set(poll.choices) <= poll.voted
        assert all(0 <= c < len(poll.options) for c in poll.choices.values())
        if poll.secret:
            assert not poll.choices
            assert len(self.box) == len(poll.voted)
        else:
            assert set(poll.choices) == poll.voted

    @invariant()
    def closed_means_closed(self) -> None:
        if self.state.closed:
            assert not self.state.open
            assert self.state.floor is None and not self.state.queue
            assert self.state.poll is None and self.state.roll_call is None
            assert self.state.recording is None
            assert self.closed_at_seq is not None

    @invariant()
    def the_log_replayed_is_the_same_room(self) -> None:
        rebuilt = self._replayed()
        assert rebuilt == _normalized(self.state)
        assert snapshot(rebuilt) == snapshot(self.state)


Meeting.TestCase.settings = fuzz_settings(300, stateful_step_count=60)
test_a_meeting_played_at_random_holds_together = Meeting.TestCase


def test_a_closed_room_refuses_every_command_and_keeps_its_state() -> None:
    """Not left to chance: after closing, each kind of command is refused, by anyone."""
    meeting = Meeting()
    meeting.open_room()
    for actor in ACTORS:
        meeting.join(actor, "c0")
    meeting.run(Close(), SYSTEM)
    frozen = copy.deepcopy(meeting.state)
    for cls in m.Command.__args__:
        kind = cls.model_fields["type"].annotation.__args__[0]
        command = cls.model_construct(id="c", type=kind)
        for actor in (ACTORS[0], ACTORS[1], ACTORS[6], SYSTEM):
            try:
                apply(meeting.state, command, actor, T0)
            except Rejected as refused:
                assert refused.code in ("room_closed", "unknown_type")
            else:
                raise AssertionError(f"{kind} was accepted by a closed room")
    for internal in (Open(), Close(), ExpireFloor(), ExpirePoll(1), ShowAgendaItem(1, "x")):
        try:
            apply(meeting.state, internal, SYSTEM, T0)
        except Rejected as refused:
            assert refused.code == "room_closed"
        else:
            raise AssertionError(f"{internal} was accepted by a closed room")
    assert meeting.state == frozen
    join = Join("p:11", "point", 11, "P", Role.POINT, None, "c9")
    try:
        apply(meeting.state, join, SYSTEM, T0)
    except Rejected as refused:
        assert refused.code == "room_closed"
    left = apply(meeting.state, Leave("p:11", "c0"), SYSTEM, T0)
    assert [e.kind for e in left] == ["member.left"]
    assert replace(meeting.state, members=frozen.members, seq=frozen.seq) == frozen


def test_a_hand_raised_after_its_member_left_is_refused() -> None:
    """Found by the fuzzer: a raise_hand that reached the room after its member's last
    connection closed (forwarded by another process, or from a connection the room already
    dropped as lost) put someone absent in the queue, and next_floor then failed with
    not_present until the chair lowered that hand."""
    meeting = Meeting()
    meeting.open_room()
    chair, official = Actor("u:1", Role.CHAIR), Actor("u:3", Role.OFFICIAL)
    meeting.join(chair, "c0")
    meeting.join(official, "c0")
    meeting.leave(official, "c0", "lost")
    try:
        apply(meeting.state, m.RaiseHand(id="r", type="raise_hand"), official, T0)
    except Rejected as refused:
        assert refused.code == "not_present"
    else:
        raise AssertionError("an absent member raised a hand")
    assert meeting.state.queue == []
