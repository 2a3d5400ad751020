"""The state of one live meeting room, and how each event changes it.

``evolve`` is the only code that changes a RoomState. A room is rebuilt after a restart or
a failover by folding its persisted events through ``evolve`` in order, so everything the
room knows must follow from its events alone (no clock, no I/O here).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any


class Role(enum.StrEnum):
    """A member's part in this meeting (not the account's roles)."""

    CHAIR = "chair"
    SECRETARY = "secretary"
    ADMIN = "admin"
    OFFICIAL = "official"
    POINT = "point"
    SYSTEM = "system"  # the room itself: time limits running out


ORGANIZERS = frozenset({Role.CHAIR, Role.SECRETARY})


@dataclass(frozen=True)
class Event:
    """A state change, numbered by the room (``seq``) when it is persisted."""

    seq: int
    kind: str
    at: datetime
    actor: str | None
    data: dict[str, Any]
    # The command that caused it, to recognise that command if it is sent again.
    request_id: str | None = None


@dataclass
class Member:
    key: str  # "p:<point id>" or "u:<user id>"
    kind: str  # point | user
    id: int
    name: str
    role: Role
    unit_id: int | None
    since: datetime
    connections: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Floor:
    key: str
    granted_at: datetime
    expires_at: datetime | None
    name: str | None = None


@dataclass(frozen=True)
class Presentation:
    document_id: int
    page: int
    by: str
    # The version shown and its page count (the socket checks them against the database;
    # events logged before they were recorded have none).
    version: int | None = None
    pages: int | None = None
    title: str = ""


@dataclass
class Poll:
    number: int
    question: str
    options: tuple[str, ...]
    voters: str  # points | people
    rule: str
    opened_at: datetime
    closes_at: datetime | None
    eligible: frozenset[str]  # who was present when it opened and may vote
    secret: bool = False
    voted: set[str] = field(default_factory=set)
    choices: dict[str, int] = field(default_factory=dict)  # voter -> option (open polls)
    # A secret poll's counts, loaded from the ballot box by the room just before it closes
    # (never from the log: the log does not hold the choices).
    box_counts: list[int] | None = None
    present: int = 0  # participants in the room when it opened


@dataclass
class RollCall:
    number: int
    opened_at: datetime
    answers: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AgendaCurrent:
    item_id: int
    title: str


@dataclass(frozen=True)
class Recording:
    number: int
    started_at: datetime
    by: str


@dataclass
class RoomState:
    meeting_id: int
    seq: int = 0
    open: bool = False
    closed: bool = False
    members: dict[str, Member] = field(default_factory=dict)
    queue: list[str] = field(default_factory=list)
    floor: Floor | None = None
    muted: set[str] = field(default_factory=set)
    mute_all: bool = False
    presenter: str | None = None
    presentation: Presentation | None = None
    roll_call: RollCall | None = None
    roll_calls_held: int = 0
    poll: Poll | None = None
    polls_held: int = 0
    last_poll: dict[str, Any] | None = None  # the last poll.closed: its result, for late comers
    recording: Recording | None = None
    recordings_made: int = 0
    agenda_item: AgendaCurrent | None = None

    def role_of(self, key: str) -> Role | None:
        member = self.members.get(key)
        return member.role if member else None


def _poll_view(poll: Poll | None, viewer: str | None, everyone: bool) -> dict[str, Any] | None:
    """The open poll as a member sees it: the question, how many have voted, and their own
    ballot (organizers also see whose ballots are in)."""
    if poll is None:
        return None
    view: dict[str, Any] = {
        "number": poll.number,
        "question": poll.question,
        "options": list(poll.options),
        "voters": poll.voters,
        "rule": poll.rule,
        "opened_at": poll.opened_at.isoformat(),
        "closes_at": poll.closes_at.isoformat() if poll.closes_at else None,
        "eligible_count": len(poll.eligible),
        "secret": poll.secret,
        "voted_count": len(poll.voted),
        "may_vote": viewer in poll.eligible if viewer else False,
        "has_voted": viewer in poll.voted if viewer else False,
        "my_ballot": poll.choices.get(viewer) if viewer else None,
    }
    if everyone:
        view["voted"] = sorted(poll.voted)
        view["eligible"] = sorted(poll.eligible)
    return view


def evolve(state: RoomState, event: Event) -> None:
    """Apply one persisted event to the state, in place."""
    if event.seq != state.seq + 1:
        raise ValueError(f"event {event.seq} does not follow {state.seq}")
    state.seq = event.seq
    handler = _HANDLERS.get(event.kind)
    if handler is not None:
        handler(state, event)


def _opened(state: RoomState, _: Event) -> None:
    state.open = True


def _closed(state: RoomState, _: Event) -> None:
    state.closed = True
    state.recording = None
    state.open = False
    state.floor = None
    state.queue.clear()
    state.roll_call = None


def _joined(state: RoomState, event: Event) -> None:
    d = event.data
    member = state.members.get(d["key"])
    if member is None:
        member = Member(
            key=d["key"],
            kind=d["kind"],
            id=d["id"],
            name=d["name"],
            role=Role(d["role"]),
            unit_id=d.get("unit_id"),
            since=event.at,
        )
        state.members[member.key] = member
        if state.mute_all and member.role is Role.POINT:
            state.muted.add(member.key)
    member.connections.add(d["conn"])


def _left(state: RoomState, event: Event) -> None:
    key = event.data["key"]
    member = state.members.get(key)
    if member is None:
        return
    member.connections.discard(event.data["conn"])
    if member.connections:
        return
    del state.members[key]
    if key in state.queue:
        state.queue.remove(key)
    if state.floor and state.floor.key == key:
        state.floor = None
    if state.presenter == key:
        state.presenter = None
    state.muted.discard(key)


def _hand_raised(state: RoomState, event: Event) -> None:
    state.queue.append(event.data["key"])


def _hand_lowered(state: RoomState, event: Event) -> None:
    if event.data["key"] in state.queue:
        state.queue.remove(event.data["key"])


def _floor_granted(state: RoomState, event: Event) -> None:
    key = event.data["key"]
    expires = event.data.get("expires_at")
    state.floor = Floor(
        key, event.at, datetime.fromisoformat(expires) if expires else None, event.data.get("name")
    )
    if key in state.queue:
        state.queue.remove(key)
    state.muted.discard(key)


def _floor_revoked(state: RoomState, event: Event) -> None:
    key = event.data["key"]
    state.floor = None
    member = state.members.get(key)
    if state.mute_all and member is not None and member.role is Role.POINT:
        state.muted.add(key)


def _muted(state: RoomState, event: Event) -> None:
    state.muted.add(event.data["key"])


def _unmuted(state: RoomState, event: Event) -> None:
    state.muted.discard(event.data["key"])


def _all_muted(state: RoomState, event: Event) -> None:
    state.mute_all = True
    holder = state.floor.key if state.floor else None
    state.muted.update(
        k for k, member in state.members.items() if member.role is Role.POINT and k != holder
    )


def _all_unmuted(state: RoomState, _: Event) -> None:
    state.mute_all = False
    state.muted.clear()


def _presenter(state: RoomState, event: Event) -> None:
    state.presenter = event.data["key"]


def _shown(state: RoomState, event: Event) -> None:
    d = event.data
    state.presentation = Presentation(
        d["document_id"], d["page"], d["by"], d.get("version"), d.get("pages"), d.get("title", "")
    )


def _page(state: RoomState, event: Event) -> None:
    if state.presentation is not None:
        state.presentation = replace(
            state.presentation, page=event.data["page"], by=event.data["by"]
        )


def _stopped(state: RoomState, _: Event) -> None:
    state.presentation = None


def _poll_opened(state: RoomState, event: Event) -> None:
    d = event.data
    state.poll = Poll(
        d["number"],
        d["question"],
        tuple(d["options"]),
        d["voters"],
        d["rule"],
        event.at,
        datetime.fromisoformat(d["closes_at"]) if d.get("closes_at") else None,
        frozenset(d["eligible"]),
        bool(d.get("secret", False)),
        present=int(d.get("present", 0)),
    )


def _poll_voted(state: RoomState, event: Event) -> None:
    if state.poll is not None and state.poll.number == event.data["number"]:
        state.poll.voted.add(event.data["key"])
        if "option" in event.data:
            state.poll.choices[event.data["key"]] = event.data["option"]


def _poll_closed(state: RoomState, event: Event) -> None:
    state.polls_held = event.data["number"]
    state.poll = None
    state.last_poll = {**event.data, "closed_at": event.at.isoformat()}


def _roll_call_opened(state: RoomState, event: Event) -> None:
    state.roll_call = RollCall(event.data["number"], event.at)


def _roll_call_answered(state: RoomState, event: Event) -> None:
    if state.roll_call is not None:
        state.roll_call.answers[event.data["key"]] = event.data["head_count"]


def _roll_call_closed(state: RoomState, _: Event) -> None:
    if state.roll_call is not None:
        state.roll_calls_held = state.roll_call.number
    state.roll_call = None


def _recording_started(state: RoomState, event: Event) -> None:
    state.recording = Recording(event.data["number"], event.at, event.actor or "")
    state.recordings_made = event.data["number"]


def _recording_stopped(state: RoomState, _: Event) -> None:
    state.recording = None


def _agenda_current(state: RoomState, event: Event) -> None:
    item = event.data["item_id"]
    state.agenda_item = AgendaCurrent(item, event.data["title"]) if item else None


_HANDLERS = {
    "room.opened": _opened,
    "room.closed": _closed,
    "member.joined": _joined,
    "member.left": _left,
    "hand.raised": _hand_raised,
    "hand.lowered": _hand_lowered,
    "floor.granted": _floor_granted,
    "floor.revoked": _floor_revoked,
    "member.muted": _muted,
    "member.unmuted": _unmuted,
    "mute_all.on": _all_muted,
    "mute_all.off": _all_unmuted,
    "presenter.set": _presenter,
    "presentation.shown": _shown,
    "presentation.page": _page,
    "presentation.stopped": _stopped,
    "poll.opened": _poll_opened,
    "poll.voted": _poll_voted,
    "poll.closed": _poll_closed,
    "roll_call.opened": _roll_call_opened,
    "roll_call.answered": _roll_call_answered,
    "roll_call.closed": _roll_call_closed,
    "recording.started": _recording_started,
    "recording.stopped": _recording_stopped,
    "agenda.current": _agenda_current,
    # chat.sent changes nothing: it lives in the log only.
}
EVENT_KINDS = frozenset(_HANDLERS) | {"chat.sent"}


def snapshot(
    state: RoomState, viewer: str | None = None, role: Role | None = None
) -> dict[str, Any]:
    """Everything a client needs to draw the room, as JSON.

    The organizers (and the tests, with no viewer) get every member; anyone else gets the
    members that concern them: the organizers, the floor holder, the queue and themselves,
    with ``member_count`` for the rest (see rooms/audience.py).
    """
    everyone = role is None or role in ORGANIZERS or role is Role.ADMIN
    notable = set(state.queue) | {viewer, state.floor.key if state.floor else None}
    shown = [
        m for m in state.members.values() if everyone or m.key in notable or m.role in ORGANIZERS
    ]
    return {
        "meeting_id": state.meeting_id,
        "seq": state.seq,
        "open": state.open,
        "closed": state.closed,
        "member_count": len(state.members),
        "members": [
            {
                "key": m.key,
                "kind": m.kind,
                "id": m.id,
                "name": m.name,
                "role": m.role.value,
                "unit_id": m.unit_id,
                "since": m.since.isoformat(),
                "muted": m.key in state.muted,
            }
            for m in shown
        ],
        "queue": list(state.queue),
        "floor": (
            {
                "key": state.floor.key,
                "name": state.floor.name,
                "granted_at": state.floor.granted_at.isoformat(),
                "expires_at": state.floor.expires_at.isoformat()
                if state.floor.expires_at
                else None,
            }
            if state.floor
            else None
        ),
        "mute_all": state.mute_all,
        "presenter": state.presenter,
        "presentation": (
            {
                "document_id": state.presentation.document_id,
                "page": state.presentation.page,
                "by": state.presentation.by,
                "version": state.presentation.version,
                "pages": state.presentation.pages,
                "title": state.presentation.title,
            }
            if state.presentation
            else None
        ),
        "roll_call": (
            {
                "number": state.roll_call.number,
                "opened_at": state.roll_call.opened_at.isoformat(),
                # Who answered says who is present: the organizers see all, others their own.
                "answers": {
                    k: n for k, n in state.roll_call.answers.items() if everyone or k == viewer
                },
            }
            if state.roll_call
            else None
        ),
        "recording": (
            {"number": state.recording.number, "started_at": state.recording.started_at.isoformat()}
            if state.recording
            else None
        ),
        "agenda_item": (
            {"item_id": state.agenda_item.item_id, "title": state.agenda_item.title}
            if state.agenda_item
            else None
        ),
        "poll": _poll_view(state.poll, viewer, everyone),
        # The result everyone was sent at closing (counts only, for a secret poll).
        "last_poll": state.last_poll,
    }
