"""The room protocol on the wire: every message a client sends, every frame it receives.

JSON text frames. Every client command carries ``type`` and an ``id`` of its choosing and
is answered by ``ack`` or ``error`` with the same ``id``. State changes reach every client
as ``event`` frames numbered by the room's ``seq``. ``docs/protocol.md`` shows each one.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

VERSION = 1

MemberKey = Annotated[str, StringConstraints(pattern=r"^[pu]:[1-9][0-9]{0,9}$")]
CommandId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ChatText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
FloorSeconds = Annotated[int, Field(ge=10, le=3600)]


class ProtocolError(Exception):
    """A frame that is not a valid command; answered with an error frame, never a close."""

    def __init__(self, code: str, message: str, command_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.command_id = command_id


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: CommandId
    v: Literal[1] = 1


class Ping(_Command):
    """Keep-alive; answered by an ack."""

    type: Literal["ping"]


class RaiseHand(_Command):
    """Ask for the floor: join the end of the queue (once)."""

    type: Literal["raise_hand"]


class LowerHand(_Command):
    """Leave the queue; the chair may lower anyone's hand with ``target``."""

    type: Literal["lower_hand"]
    target: MemberKey | None = None


class GrantFloor(_Command):
    """Chair: give the floor to a member, optionally for ``seconds``."""

    type: Literal["grant_floor"]
    target: MemberKey
    seconds: FloorSeconds | None = None


class NextFloor(_Command):
    """Chair: give the floor to the first in the queue."""

    type: Literal["next_floor"]
    seconds: FloorSeconds | None = None


class RevokeFloor(_Command):
    """Chair: take the floor back."""

    type: Literal["revoke_floor"]


class Mute(_Command):
    """Chair: mute a member (it cannot unmute itself unless it has the floor)."""

    type: Literal["mute"]
    target: MemberKey


class Unmute(_Command):
    """Chair: unmute anyone. A member: unmute itself, if the chair has not muted it."""

    type: Literal["unmute"]
    target: MemberKey


class MuteAll(_Command):
    """Chair: mute every point except the floor holder, and points that join later."""

    type: Literal["mute_all"]


class UnmuteAll(_Command):
    """Chair: lift every mute."""

    type: Literal["unmute_all"]


class SetPresenter(_Command):
    """Chair: name a member who may turn the pages (null: only the chair)."""

    type: Literal["set_presenter"]
    target: MemberKey | None


class Present(_Command):
    """Chair or presenter: show a document at a page; every client follows."""

    type: Literal["present"]
    document_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    page: Annotated[int, Field(ge=1, le=100_000)] = 1


class TurnPage(_Command):
    """Chair or presenter: go to a page of the document being shown."""

    type: Literal["turn_page"]
    page: Annotated[int, Field(ge=1, le=100_000)]


class StopPresenting(_Command):
    """Chair or presenter: stop showing the document."""

    type: Literal["stop_presenting"]


class OpenRollCall(_Command):
    """Chair or secretary: start a roll call."""

    type: Literal["open_roll_call"]


class AnswerRollCall(_Command):
    """A point: confirm presence with the number of people in the room."""

    type: Literal["answer_roll_call"]
    head_count: Annotated[int, Field(ge=0, le=10_000)]


class CloseRollCall(_Command):
    """Chair or secretary: close the roll call and record its result."""

    type: Literal["close_roll_call"]


class Chat(_Command):
    """A text message to everyone, or only to the chair and secretary."""

    type: Literal["chat"]
    text: ChatText
    to: Literal["all", "organizers"] = "all"


class StartRecording(_Command):
    """Chair: record what everyone sees and hears (main and floor) from now."""

    type: Literal["start_recording"]


class StopRecording(_Command):
    """Chair: stop the recording."""

    type: Literal["stop_recording"]


class SetAgendaItem(_Command):
    """Chair or secretary: the agenda item the meeting is on now (null: none)."""

    type: Literal["set_agenda_item"]
    item_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None


SdpText = Annotated[str, StringConstraints(min_length=10, max_length=60_000)]


class Offer(_Command):
    """Media: the client's SDP offer for its one peer connection (see docs/protocol.md for
    the m-lines it must hold); acked with the server's answer and what each slot shows."""

    type: Literal["offer"]
    sdp: SdpText


class Candidate(_Command):
    """Media: one trickled ICE candidate of the client (a=candidate line)."""

    type: Literal["candidate"]
    candidate: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    sdpMid: Annotated[str, StringConstraints(max_length=32)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=64)] | None = None


class Thumbnails(_Command):
    """Media, chair and secretaries: which page of point thumbnails to receive."""

    type: Literal["thumbnails"]
    page: Annotated[int, Field(ge=0, le=1000)]


PollText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
OptionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class OpenPoll(_Command):
    """Chair or secretary: put a question to the vote (biểu quyết). Those present now may
    vote: one ballot per point (``voters: "points"``) or per official (``"people"``)."""

    type: Literal["open_poll"]
    question: PollText
    options: Annotated[list[OptionText], Field(min_length=2, max_length=10)] | None = None
    voters: Literal["points", "people"] = "points"
    # None: the meeting's rule (the server fills it in from the meeting's settings).
    rule: Literal["majority_of_eligible", "majority_of_cast", "two_thirds_of_eligible"] | None = (
        None
    )
    seconds: Annotated[int, Field(ge=10, le=3600)] | None = None
    # Secret: who voted is known, what each voted is not (docs/votes.md).
    secret: bool = False


BallotId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class CastBallot(_Command):
    """An eligible voter: choose an option (index from 0); a ballot may be changed until
    the poll closes. In a secret poll the ack carries the ballot's ``ballot`` id: only its
    holder can change that ballot (give it back as ``ballot``)."""

    type: Literal["cast_ballot"]
    poll: Annotated[int, Field(ge=1, le=100_000)]
    option: Annotated[int, Field(ge=0, le=9)]
    ballot: BallotId | None = None


class ClosePoll(_Command):
    """Chair or secretary: close the poll; the result is an event."""

    type: Literal["close_poll"]
    poll: Annotated[int, Field(ge=1, le=100_000)]


MediaCommand = Offer | Candidate | Thumbnails

Command = (
    Ping
    | RaiseHand
    | LowerHand
    | GrantFloor
    | NextFloor
    | RevokeFloor
    | Mute
    | Unmute
    | MuteAll
    | UnmuteAll
    | SetPresenter
    | Present
    | TurnPage
    | StopPresenting
    | OpenRollCall
    | AnswerRollCall
    | CloseRollCall
    | Chat
    | StartRecording
    | StopRecording
    | SetAgendaItem
    | OpenPoll
    | CastBallot
    | ClosePoll
    | Offer
    | Candidate
    | Thumbnails
)
_COMMAND = TypeAdapter(Annotated[Command, Field(discriminator="type")])
COMMAND_TYPES = frozenset(
    cls.model_fields["type"].annotation.__args__[0] for cls in Command.__args__
)
MAX_FRAME_CHARS = 16_384
# An SDP offer with a page of thumbnails is larger than any other command.
MAX_OFFER_FRAME_CHARS = 61_440


def parse_command(data: dict[str, Any]) -> Command:
    """A command from its JSON object (already validated once: forwarded between processes)."""
    return _COMMAND.validate_python(data)


def decode_command(text: str | bytes) -> Command:
    """Parse one client frame; ProtocolError says what is wrong with it."""
    if isinstance(text, bytes):
        raise ProtocolError("binary_frame", "send JSON text frames")
    if len(text) > MAX_OFFER_FRAME_CHARS:
        raise ProtocolError("frame_too_large", f"frames are at most {MAX_FRAME_CHARS} characters")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError("malformed_json", f"not JSON: {exc.msg}") from None
    except (ValueError, RecursionError):
        # An integer of more than 4,300 digits, or arrays nested a thousand deep: JSON,
        # but not what Python will read.
        raise ProtocolError("malformed_json", "not JSON this server reads") from None
    if not isinstance(raw, dict):
        raise ProtocolError("malformed_command", "a command is a JSON object")
    if len(text) > MAX_FRAME_CHARS and raw.get("type") != "offer":
        raise ProtocolError("frame_too_large", f"frames are at most {MAX_FRAME_CHARS} characters")
    command_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    if raw.get("v", VERSION) != VERSION:
        raise ProtocolError(
            "unsupported_version", f"this server speaks version {VERSION}", command_id
        )
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in COMMAND_TYPES:
        # Not repr(kind) of any JSON: a list nested 900 deep is JSON, and its repr recurses.
        shown = repr(kind[:64]) if isinstance(kind, str) else "that is not a string"
        raise ProtocolError("unknown_type", f"unknown command type {shown}", command_id)
    try:
        return _COMMAND.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "command"
        raise ProtocolError("invalid_command", f"{where}: {first['msg']}", command_id) from None


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def ack(command_id: str, seq: int | None = None, **result: Any) -> str:
    frame: dict[str, Any] = {"type": "ack", "id": command_id}
    if seq is not None:
        frame["seq"] = seq
    frame.update(result)
    return _dumps(frame)


def error(code: str, message: str, command_id: str | None = None) -> str:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if command_id is not None:
        frame["id"] = command_id
    return _dumps(frame)


def event(seq: int, kind: str, at: str, actor: str | None, data: dict[str, Any]) -> str:
    return _dumps(
        {"type": "event", "seq": seq, "event": kind, "at": at, "actor": actor, "data": data}
    )


def welcome(you: dict[str, Any], snapshot: dict[str, Any]) -> str:
    return _dumps({"type": "welcome", "v": VERSION, "you": you, "snapshot": snapshot})


def resumed(you: dict[str, Any], from_seq: int, to_seq: int) -> str:
    return _dumps(
        {"type": "resumed", "v": VERSION, "you": you, "from_seq": from_seq, "to_seq": to_seq}
    )


def media_layout(slots: dict[str, Any]) -> str:
    """What the participant's received m-lines show, sent whenever it changes."""
    return _dumps({"type": "media", "slots": slots})


def lobby(meeting_id: int, status: str, starts_at: str) -> str:
    return _dumps(
        {
            "type": "lobby",
            "v": VERSION,
            "meeting_id": meeting_id,
            "status": status,
            "starts_at": starts_at,
        }
    )
