"""Deciding what a command does in a room: permissions and rules, pure.

``decide(state, command, actor, now)`` returns the events a command causes, or raises
Rejected with a code the client sees. It reads the state and never changes it; ``apply``
numbers the events, folds them in with ``evolve``, and returns them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rooms import messages as m
from rooms import polls
from rooms.state import ORGANIZERS, Event, Poll, Role, RoomState, evolve


@dataclass(frozen=True)
class Actor:
    key: str
    role: Role


SYSTEM = Actor("system", Role.SYSTEM)
# One kiosk and a spare, a desk and a phone: more than this is a misbehaving client.
MAX_CONNECTIONS_PER_MEMBER = 4


class Rejected(Exception):
    """A command the room refuses; the client gets an error frame with ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Commands the room gives itself; they never come from the wire.
@dataclass(frozen=True)
class Open:
    pass


@dataclass(frozen=True)
class Close:
    pass


@dataclass(frozen=True)
class Join:
    key: str
    kind: str
    id: int
    name: str
    role: Role
    unit_id: int | None
    conn: str


@dataclass(frozen=True)
class Leave:
    key: str
    conn: str
    reason: str = "disconnected"


@dataclass(frozen=True)
class ExpireFloor:
    """The floor's time limit ran out (sent by the room's timer)."""


@dataclass(frozen=True)
class ShowAgendaItem:
    """An organizer moves the meeting to an agenda item (checked against the meeting's
    agenda by the socket, which knows the database; the room keeps its title)."""

    item_id: int | None
    title: str = ""


@dataclass(frozen=True)
class ShowDocument:
    """The chair or presenter shows a document at a page: a ``present`` command checked by
    the socket against the meeting's documents, with the version shown and its pages."""

    document_id: int
    version: int
    pages: int
    title: str
    page: int


@dataclass(frozen=True)
class ExpirePoll:
    """The poll's time limit has run out (sent by the room's timer)."""

    number: int


RoomCommand = (
    m.Command
    | Open
    | Close
    | Join
    | Leave
    | ExpireFloor
    | ShowAgendaItem
    | ShowDocument
    | ExpirePoll
)
Draft = tuple[str, dict[str, Any]]


def apply(
    state: RoomState,
    command: RoomCommand,
    actor: Actor,
    now: datetime,
    request_id: str | None = None,
) -> list[Event]:
    """Decide, number and fold in: the events of ``command``, with ``state`` updated."""
    events = []
    for kind, data in decide(state, command, actor, now):
        event = Event(state.seq + 1, kind, now, actor.key, data, request_id)
        evolve(state, event)
        events.append(event)
    return events


def decide(state: RoomState, command: RoomCommand, actor: Actor, now: datetime) -> list[Draft]:
    handler = _DECIDERS.get(type(command))
    if handler is None:
        raise Rejected("unknown_type", f"no rule for {type(command).__name__}")
    if state.closed and not isinstance(command, Leave):
        raise Rejected("room_closed", "the meeting has ended")
    if not state.open and not isinstance(command, Open | Leave):
        raise Rejected("room_not_open", "the meeting has not started")
    return handler(state, command, actor, now)


def _require(allowed: bool, who: str) -> None:
    if not allowed:
        raise Rejected("not_allowed", f"only {who} may do this")


def _present_member(state: RoomState, key: str) -> None:
    if key not in state.members:
        raise Rejected("not_present", f"{key} is not in the room")


def _is_chair(actor: Actor) -> bool:
    return actor.role is Role.CHAIR


def _open(state: RoomState, _: Open, actor: Actor, now: datetime) -> list[Draft]:
    return [] if state.open else [("room.opened", {})]


def _close(state: RoomState, _: Close, actor: Actor, now: datetime) -> list[Draft]:
    drafts: list[Draft] = []
    if state.roll_call is not None:
        drafts.append(_roll_call_result(state))
    if state.poll is not None:
        drafts.append(_poll_result(state.poll, "room_closed"))
    if state.recording is not None:
        drafts.append(("recording.stopped", {"number": state.recording.number}))
    drafts.append(("room.closed", {}))
    return drafts


def _join(state: RoomState, c: Join, actor: Actor, now: datetime) -> list[Draft]:
    member = state.members.get(c.key)
    if member is not None and c.conn in member.connections:
        return []
    if member is not None and len(member.connections) >= MAX_CONNECTIONS_PER_MEMBER:
        raise Rejected(
            "too_many_connections",
            f"already {len(member.connections)} connections; close one first",
        )
    data = {
        "key": c.key,
        "kind": c.kind,
        "id": c.id,
        "name": c.name,
        "role": c.role.value,
        "unit_id": c.unit_id,
        "conn": c.conn,
        "first": member is None,
    }
    return [("member.joined", data)]


def _leave(state: RoomState, c: Leave, actor: Actor, now: datetime) -> list[Draft]:
    member = state.members.get(c.key)
    if member is None or c.conn not in member.connections:
        return []
    last = member.connections == {c.conn}
    drafts: list[Draft] = []
    if last and state.floor and state.floor.key == c.key:
        drafts.append(("floor.revoked", {"key": c.key, "reason": "left"}))
    drafts.append(("member.left", {"key": c.key, "conn": c.conn, "last": last, "reason": c.reason}))
    return drafts


def _ping(state: RoomState, c: m.Ping, actor: Actor, now: datetime) -> list[Draft]:
    return []


def _raise_hand(state: RoomState, c: m.RaiseHand, actor: Actor, now: datetime) -> list[Draft]:
    _require(actor.role in (Role.POINT, Role.OFFICIAL), "points and officials")
    # Only those in the room: a command that arrives after its member left (forwarded from
    # another process) would put someone in the queue whom next_floor could never reach.
    _present_member(state, actor.key)
    if actor.key in state.queue:
        raise Rejected("already_in_queue", "your hand is already raised")
    if state.floor and state.floor.key == actor.key:
        raise Rejected("has_floor", "you have the floor")
    return [("hand.raised", {"key": actor.key})]


def _lower_hand(state: RoomState, c: m.LowerHand, actor: Actor, now: datetime) -> list[Draft]:
    target = c.target or actor.key
    if target != actor.key:
        _require(_is_chair(actor), "the chair (for someone else's hand)")
    if target not in state.queue:
        raise Rejected("not_in_queue", f"{target} has no hand raised")
    return [("hand.lowered", {"key": target, "by": actor.key})]


def _grant(state: RoomState, target: str, seconds: int | None, now: datetime) -> list[Draft]:
    _present_member(state, target)
    if state.role_of(target) in (Role.CHAIR, Role.SYSTEM):
        raise Rejected("invalid_target", "the chair always speaks; give the floor to a member")
    drafts: list[Draft] = []
    if state.floor is not None:
        if state.floor.key == target:
            raise Rejected("has_floor", f"{target} already has the floor")
        drafts.append(("floor.revoked", {"key": state.floor.key, "reason": "replaced"}))
    expires = (now + timedelta(seconds=seconds)).isoformat() if seconds else None
    # The name goes with it: every point sees and hears the speaker, most without the
    # member list.
    name = state.members[target].name
    drafts.append(
        (
            "floor.granted",
            {"key": target, "name": name, "expires_at": expires, "seconds": seconds},
        )
    )
    return drafts


def _grant_floor(state: RoomState, c: m.GrantFloor, actor: Actor, now: datetime) -> list[Draft]:
    _require(_is_chair(actor), "the chair")
    return _grant(state, c.target, c.seconds, now)


def _next_floor(state: RoomState, c: m.NextFloor, actor: Actor, now: datetime) -> list[Draft]:
    _require(_is_chair(actor), "the chair")
    if not state.queue:
        raise Rejected("queue_empty", "nobody has raised a hand")
    return _grant(state, state.queue[0], c.seconds, now)


def _revoke_floor(state: RoomState, c: m.RevokeFloor, actor: Actor, now: datetime) -> list[Draft]:
    _require(_is_chair(actor), "the chair")
    if state.floor is None:
        raise Rejected("floor_not_held", "nobody has the floor")
    return [("floor.revoked", {"key": state.floor.key, "reason": "revoked"})]


def _expire_floor(state: RoomState, c: ExpireFloor, actor: Actor, now: datetime) -> list[Draft]:
    floor = state.floor
    if floor is None or floor.expires_at is None or floor.expires_at > now:
        return []  # revoked or replaced meanwhile: the timer is stale
    return [("floor.revoked", {"key": floor.key, "reason": "lapsed"})]


def _mute(state: RoomState, c: m.Mute, actor: Actor, now: datetime) -> list[Draft]:
    _require(_is_chair(actor), "the chair")
    _present_member(state, c.target)
    if c.target in state.muted:
        raise Rejected("already_muted", f"{c.target} is already muted")
    return [("member.muted", {"key": c.target})]


def _unmute(state: RoomState, c: m.Unmute, actor: Actor, now: datetime) -> list[Draft]:
    _present_member(state, c.target)
    if not _is_chair(actor):
        _require(c.target == actor.key, "the chair (for someone else)")
        has_floor = state.floor is not None and state.floor.key == actor.key
        if c.target in state.muted and not has_floor:
            raise Rejected("muted_by_chair", "the chair has muted you; ask for the floor")
    if c.target not in state.muted:
        raise Rejected("not_muted", f"{c.target} is not muted")
    return [("member.unmuted", {"key": c.target})]


def _mute_all(state: RoomState, c: m.MuteAll, actor: Actor, now: datetime) -> list[Draft]:
    _require(_is_chair(actor), "the chair")
    # Which points it mutes follows from the state (see evolve): the event names none, so
    # it tells points nothing about who else is present.
    return [("mute_all.on", {})]


def _unmute_all(state: RoomState, c: m.UnmuteAll, actor: Actor, now: datetime) -> list[Draft]:
    _require(_is_chair(actor), "the chair")
    return [("mute_all.off", {})]


def _set_presenter(state: RoomState, c: m.SetPresenter, actor: Actor, now: datetime) -> list[Draft]:
    _require(_is_chair(actor), "the chair")
    if c.target is not None:
        _present_member(state, c.target)
    return [("presenter.set", {"key": c.target})]


def _may_present(state: RoomState, actor: Actor) -> None:
    _require(
        actor.role in ORGANIZERS or actor.key == state.presenter,
        "the chair, the secretary or the named presenter",
    )


def _present(state: RoomState, c: m.Present, actor: Actor, now: datetime) -> list[Draft]:
    _may_present(state, actor)
    return [("presentation.shown", {"document_id": c.document_id, "page": c.page, "by": actor.key})]


def _show_document(state: RoomState, c: ShowDocument, actor: Actor, now: datetime) -> list[Draft]:
    _may_present(state, actor)
    _page_exists(c.page, c.pages)
    return [
        (
            "presentation.shown",
            {
                "document_id": c.document_id,
                "version": c.version,
                "pages": c.pages,
                "title": c.title,
                "page": c.page,
                "by": actor.key,
            },
        )
    ]


def _page_exists(page: int, pages: int | None) -> None:
    if pages is not None and page > pages:
        raise Rejected("page_out_of_range", f"the document has {pages} pages")


def _turn_page(state: RoomState, c: m.TurnPage, actor: Actor, now: datetime) -> list[Draft]:
    _may_present(state, actor)
    if state.presentation is None:
        raise Rejected("nothing_presented", "no document is being shown")
    _page_exists(c.page, state.presentation.pages)
    return [("presentation.page", {"page": c.page, "by": actor.key})]


def _stop(state: RoomState, c: m.StopPresenting, actor: Actor, now: datetime) -> list[Draft]:
    _may_present(state, actor)
    if state.presentation is None:
        raise Rejected("nothing_presented", "no document is being shown")
    return [("presentation.stopped", {"by": actor.key})]


def _open_roll_call(
    state: RoomState, c: m.OpenRollCall, actor: Actor, now: datetime
) -> list[Draft]:
    _require(actor.role in ORGANIZERS, "the chair or the secretary")
    if state.roll_call is not None:
        raise Rejected("roll_call_open", "a roll call is already open")
    return [("roll_call.opened", {"number": state.roll_calls_held + 1})]


def _answer_roll_call(
    state: RoomState, c: m.AnswerRollCall, actor: Actor, now: datetime
) -> list[Draft]:
    _require(actor.role is Role.POINT, "conference points")
    if state.roll_call is None:
        raise Rejected("no_roll_call", "no roll call is open")
    return [("roll_call.answered", {"key": actor.key, "head_count": c.head_count})]


def _roll_call_result(state: RoomState) -> Draft:
    assert state.roll_call is not None
    answers = dict(state.roll_call.answers)
    present_points = sorted(k for k, mb in state.members.items() if mb.role is Role.POINT)
    return (
        "roll_call.closed",
        {
            "number": state.roll_call.number,
            "answers": answers,
            "missing": [k for k in present_points if k not in answers],
            "points_answered": len(answers),
            "people": sum(answers.values()),
        },
    )


def _close_roll_call(
    state: RoomState, c: m.CloseRollCall, actor: Actor, now: datetime
) -> list[Draft]:
    _require(actor.role in ORGANIZERS, "the chair or the secretary")
    if state.roll_call is None:
        raise Rejected("no_roll_call", "no roll call is open")
    return [_roll_call_result(state)]


def _open_poll(state: RoomState, c: m.OpenPoll, actor: Actor, now: datetime) -> list[Draft]:
    _require(actor.role in ORGANIZERS, "the chair or the secretary")
    if state.poll is not None:
        raise Rejected("poll_open", f"poll {state.poll.number} is still open")
    voters = polls.Voters(c.voters)
    eligible = polls.eligible(state.members.values(), voters)
    if not eligible:
        raise Rejected("no_voters", "nobody present may vote in such a poll")
    closes_at = now + timedelta(seconds=c.seconds) if c.seconds else None
    return [
        (
            "poll.opened",
            {
                "number": state.polls_held + 1,
                "question": c.question,
                "options": list(c.options or polls.DEFAULT_OPTIONS),
                "voters": voters.value,
                "rule": c.rule or polls.Rule.MAJORITY_OF_ELIGIBLE.value,
                "closes_at": closes_at.isoformat() if closes_at else None,
                "eligible": sorted(eligible),
                "present": len(state.members),
                "agenda_item_id": state.agenda_item.item_id if state.agenda_item else None,
                "secret": c.secret,
            },
        )
    ]


def _open_poll_numbered(state: RoomState, number: int) -> Poll:
    if state.poll is None or state.poll.number != number:
        raise Rejected("poll_closed", f"poll {number} is not open")
    return state.poll


def _cast_ballot(state: RoomState, c: m.CastBallot, actor: Actor, now: datetime) -> list[Draft]:
    poll = _open_poll_numbered(state, c.poll)
    if actor.key not in poll.eligible:
        raise Rejected(
            "not_eligible", "only those present when the poll opened may vote (one per point)"
        )
    if c.option >= len(poll.options):
        raise Rejected("invalid_option", f"choose an option from 0 to {len(poll.options) - 1}")
    if poll.secret:
        # The choice goes to the ballot box (the room writes it); the log says who voted.
        if actor.key in poll.voted:
            if c.ballot is None:
                raise Rejected("ballot_required", "give your ballot's id to change it")
            return []
        return [("poll.voted", {"number": poll.number, "key": actor.key})]
    if poll.choices.get(actor.key) == c.option:
        return []  # the same ballot again: nothing changes
    return [("poll.voted", {"number": poll.number, "key": actor.key, "option": c.option})]


def _poll_result(poll: Poll, reason: str) -> Draft:
    if poll.secret:
        if poll.box_counts is None:
            raise Rejected("unavailable", "the ballot box has not been counted; retry")
        counts = poll.box_counts
    else:
        counts = polls.count_choices(poll.options, poll.choices.values())
    result = polls.tally(poll.options, counts, len(poll.eligible), polls.Rule(poll.rule))
    return (
        "poll.closed",
        {
            "number": poll.number,
            "question": poll.question,
            "voters": poll.voters,
            "reason": reason,
            "result": result.as_dict(),
            "secret": poll.secret,
            # Who could vote and how many were present when it opened: the result's basis.
            "eligible": sorted(poll.eligible),
            "present": poll.present,
            "not_voted": sorted(poll.eligible - poll.voted),
        },
    )


def _close_poll(state: RoomState, c: m.ClosePoll, actor: Actor, now: datetime) -> list[Draft]:
    _require(actor.role in ORGANIZERS, "the chair or the secretary")
    return [_poll_result(_open_poll_numbered(state, c.poll), "closed")]


def _expire_poll(state: RoomState, c: ExpirePoll, actor: Actor, now: datetime) -> list[Draft]:
    poll = state.poll
    if poll is None or poll.number != c.number or poll.closes_at is None or now < poll.closes_at:
        return []  # closed meanwhile, or not yet due
    return [_poll_result(poll, "time_up")]


def _chat(state: RoomState, c: m.Chat, actor: Actor, now: datetime) -> list[Draft]:
    member = state.members.get(actor.key)
    return [
        (
            "chat.sent",
            {
                "from": actor.key,
                "name": member.name if member else actor.key,
                "text": c.text,
                "to": c.to,
            },
        )
    ]


def _start_recording(
    state: RoomState, c: m.StartRecording, actor: Actor, now: datetime
) -> list[Draft]:
    _require(_is_chair(actor), "the chair")
    if state.recording is not None:
        raise Rejected("recording", "a recording is already running")
    return [("recording.started", {"number": state.recordings_made + 1})]


def _stop_recording(
    state: RoomState, c: m.StopRecording, actor: Actor, now: datetime
) -> list[Draft]:
    _require(_is_chair(actor), "the chair")
    if state.recording is None:
        raise Rejected("not_recording", "nothing is being recorded")
    return [("recording.stopped", {"number": state.recording.number})]


def _show_agenda_item(
    state: RoomState, c: ShowAgendaItem, actor: Actor, now: datetime
) -> list[Draft]:
    _require(actor.role in ORGANIZERS, "the chair or the secretary")
    current = state.agenda_item.item_id if state.agenda_item else None
    if c.item_id == current:
        return []
    return [("agenda.current", {"item_id": c.item_id, "title": c.title if c.item_id else ""})]


_DECIDERS: dict[type, Any] = {
    Open: _open,
    Close: _close,
    Join: _join,
    Leave: _leave,
    ExpireFloor: _expire_floor,
    ShowAgendaItem: _show_agenda_item,
    ShowDocument: _show_document,
    m.OpenPoll: _open_poll,
    m.CastBallot: _cast_ballot,
    m.ClosePoll: _close_poll,
    ExpirePoll: _expire_poll,
    m.Ping: _ping,
    m.RaiseHand: _raise_hand,
    m.LowerHand: _lower_hand,
    m.GrantFloor: _grant_floor,
    m.NextFloor: _next_floor,
    m.RevokeFloor: _revoke_floor,
    m.Mute: _mute,
    m.Unmute: _unmute,
    m.MuteAll: _mute_all,
    m.UnmuteAll: _unmute_all,
    m.SetPresenter: _set_presenter,
    m.Present: _present,
    m.TurnPage: _turn_page,
    m.StopPresenting: _stop,
    m.OpenRollCall: _open_roll_call,
    m.AnswerRollCall: _answer_roll_call,
    m.CloseRollCall: _close_roll_call,
    m.Chat: _chat,
    m.StartRecording: _start_recording,
    m.StopRecording: _stop_recording,
}
