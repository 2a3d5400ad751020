"""Fuzzing the room's wire decoder (rooms/messages.py) and the JSON codec that carries
commands between processes (rooms/codec.py).

Whatever a client sends — any text, bytes, JSON value, or an object shaped like a command
with wrong fields, types, sizes and characters — the decoder answers with a command or a
ProtocolError with one of the documented codes, quickly; and every valid command survives
the trip to JSON and back (docs/fuzzing.md).
"""

from __future__ import annotations

import json
import shutil
import string
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rooms import codec
from rooms import messages as m
from rooms.machine import (
    Close,
    ExpireFloor,
    ExpirePoll,
    Join,
    Leave,
    Open,
    ShowAgendaItem,
    ShowDocument,
)
from rooms.state import Role
from tests.fuzzing import fuzz_settings
from tests.province import Province
from tests.roomclient import RoomClient

PROTOCOL_CODES = {
    "binary_frame",
    "frame_too_large",
    "malformed_json",
    "malformed_command",
    "unknown_type",
    "invalid_command",
    "unsupported_version",
}
# A frame of the largest size decodes in milliseconds; a second means something loops.
DECODE_SECONDS = 1.0
COMMAND_CLASSES: tuple[type[Any], ...] = typing.get_args(m.Command)
FIELD_NAMES = sorted({name for cls in COMMAND_CLASSES for name in cls.model_fields})


def decode(frame: str | bytes) -> m.Command | m.ProtocolError:
    """The decoder's answer, timed; anything but a command or a ProtocolError fails."""
    started = time.perf_counter()
    try:
        answer: m.Command | m.ProtocolError = m.decode_command(frame)
    except m.ProtocolError as refused:
        assert refused.code in PROTOCOL_CODES, refused.code
        assert refused.message
        assert refused.command_id is None or isinstance(refused.command_id, str)
        answer = refused
    assert time.perf_counter() - started < DECODE_SECONDS
    return answer


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# JSON of every kind, including what Python's json module writes but strict JSON has not
# (NaN, Infinity) and integers past 64 bits.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=25,
)
# Values a field might be given by a confused or hostile client.
field_values = (
    json_values
    | st.integers(min_value=-5, max_value=100_005)
    | st.from_regex(r"[pu]:-?[0-9]{0,12}", fullmatch=True)
    | st.text(alphabet="0123456789abcdef", min_size=30, max_size=34)
    | st.text(min_size=60, max_size=1200)
    | st.sampled_from(["", " ", "\t\n", "\x00", "Tán thành", "null", "p:0", "u:1", "\ud800x"])
)


@st.composite
def shaped_objects(draw: st.DrawFn) -> dict[str, Any]:
    """An object with a command's field names, holding values of any type and size."""
    obj: dict[str, Any] = {}
    obj["type"] = draw(st.sampled_from(sorted(m.COMMAND_TYPES)) | json_values)
    if draw(st.booleans()):
        obj["id"] = draw(st.text(max_size=70) | json_values)
    if draw(st.booleans()):
        obj["v"] = draw(st.sampled_from([1, 1.0, True, 2, 0, "1", None]) | json_values)
    for name in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=6, unique=True)):
        obj[name] = draw(field_values)
    obj.update(draw(st.dictionaries(st.text(max_size=12), json_values, max_size=2)))
    return obj


# --- valid commands ------------------------------------------------------------------

member_keys = st.from_regex(r"[pu]:[1-9][0-9]{0,9}", fullmatch=True)
command_ids = st.text(min_size=1, max_size=64)
# Texts the decoder keeps as they are: no whitespace at either end to strip.
_edge = st.characters(categories=["L", "N", "P", "S"])


def kept_text(max_size: int) -> st.SearchStrategy[str]:
    return st.builds(lambda a, mid, b: a + mid + b, _edge, st.text(max_size=max_size - 2), _edge)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


_floor_seconds = st.integers(min_value=10, max_value=3600)
_ids = st.integers(min_value=1, max_value=2**31 - 1)
_pages = st.integers(min_value=1, max_value=100_000)
FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "ping": {},
    "raise_hand": {},
    "lower_hand": {"target?": _maybe(member_keys)},
    "grant_floor": {"target": member_keys, "seconds?": _maybe(_floor_seconds)},
    "next_floor": {"seconds?": _maybe(_floor_seconds)},
    "revoke_floor": {},
    "mute": {"target": member_keys},
    "unmute": {"target": member_keys},
    "mute_all": {},
    "unmute_all": {},
    "set_presenter": {"target": _maybe(member_keys)},
    "present": {"document_id": _ids, "page?": _pages},
    "turn_page": {"page": _pages},
    "stop_presenting": {},
    "open_roll_call": {},
    "answer_roll_call": {"head_count": st.integers(min_value=0, max_value=10_000)},
    "close_roll_call": {},
    "chat": {"text": kept_text(1000), "to?": st.sampled_from(["all", "organizers"])},
    "start_recording": {},
    "stop_recording": {},
    "set_agenda_item": {"item_id": _maybe(_ids)},
    "open_poll": {
        "question": kept_text(500),
        "options?": _maybe(st.lists(kept_text(100), min_size=2, max_size=10)),
        "voters?": st.sampled_from(["points", "people"]),
        "rule?": _maybe(
            st.sampled_from(["majority_of_eligible", "majority_of_cast", "two_thirds_of_eligible"])
        ),
        "seconds?": _maybe(st.integers(min_value=10, max_value=3600)),
        "secret?": st.booleans(),
    },
    "cast_ballot": {
        "poll": st.integers(min_value=1, max_value=100_000),
        "option": st.integers(min_value=0, max_value=9),
        "ballot?": _maybe(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)),
    },
    "close_poll": {"poll": st.integers(min_value=1, max_value=100_000)},
    "offer": {"sdp": st.text(min_size=10, max_size=3000) | st.just("v=0\r\n" + "a" * 59_990)},
    "candidate": {
        "candidate": st.text(min_size=1, max_size=1000),
        "sdpMid?": _maybe(st.text(max_size=32)),
        "sdpMLineIndex?": _maybe(st.integers(min_value=0, max_value=64)),
    },
    "thumbnails": {"page": st.integers(min_value=0, max_value=1000)},
}


@st.composite
def valid_commands(draw: st.DrawFn) -> dict[str, Any]:
    """A valid command as a client writes it: optional fields present or not."""
    kind = draw(st.sampled_from(sorted(FIELDS)))
    obj: dict[str, Any] = {"type": kind, "id": draw(command_ids)}
    if draw(st.booleans()):
        obj["v"] = 1
    for name, strategy in FIELDS[kind].items():
        optional = name.endswith("?")
        if optional and not draw(st.booleans()):
            continue
        obj[name.rstrip("?")] = draw(strategy)
    return obj


def test_every_command_type_has_a_strategy() -> None:
    assert set(FIELDS) == m.COMMAND_TYPES


# --- properties ----------------------------------------------------------------------


@fuzz_settings(300)
@given(st.text(max_size=300) | st.text(alphabet=string.printable, max_size=300))
@example("[" * 1000 + "]" * 1000)  # nested deeper than Python's json will read
@example('{"type": [], "id": "x"}')  # an unhashable type
@example('{"type": {"a": 1}, "id": "x"}')
@example('{"type": "ping", "id": "x", "n": 1' + "0" * 5000 + "}")  # past int's 4,300 digits
@example('{"type": "ping", "id": "x", "v": NaN}')
@example('{"type": "present", "id": "x", "document_id": 1e400}')
@example("\ufeff{}")
def test_any_text_is_a_command_or_a_protocol_error(frame: str) -> None:
    decode(frame)


@fuzz_settings(100)
@given(st.binary(max_size=200))
def test_any_bytes_are_a_binary_frame_error(frame: bytes) -> None:
    answer = decode(frame)
    assert isinstance(answer, m.ProtocolError) and answer.code == "binary_frame"


@fuzz_settings(300)
@given(json_values)
def test_any_json_value_is_a_command_or_a_protocol_error(value: Any) -> None:
    answer = decode(dumps(value))
    if not isinstance(value, dict):
        assert isinstance(answer, m.ProtocolError) and answer.code == "malformed_command"


@fuzz_settings(600)
@given(shaped_objects())
def test_objects_shaped_like_commands_are_commands_or_protocol_errors(obj: dict[str, Any]) -> None:
    frame = dumps(obj)
    answer = decode(frame)
    if isinstance(answer, m.Command):
        assert answer.type == obj["type"] and answer.id == obj["id"]
    elif answer.code in ("unknown_type", "invalid_command", "unsupported_version"):
        # The error names the command it answers when the id can be read.
        expected = obj.get("id") if isinstance(obj.get("id"), str) else None
        assert answer.command_id == expected


def test_deep_nesting_anywhere_is_malformed_json_or_invalid() -> None:
    deep = "[" * 5000 + "]" * 5000
    for frame in (deep, '{"type": "ping", "id": "x", "a": ' + deep + "}"):
        answer = decode(frame)
        assert isinstance(answer, m.ProtocolError)
        assert answer.code in ("malformed_json", "frame_too_large")
    # Nested less deep than the limit: read, and refused by name without echoing it.
    nested = "[" * 900 + "]" * 900
    answer = decode('{"type": ' + nested + ', "id": "x"}')
    assert isinstance(answer, m.ProtocolError) and answer.code == "unknown_type"
    assert len(answer.message) < 100


@fuzz_settings(300)
@given(valid_commands())
def test_valid_commands_round_trip(obj: dict[str, Any]) -> None:
    frame = dumps(obj)
    limit = m.MAX_OFFER_FRAME_CHARS if obj["type"] == "offer" else m.MAX_FRAME_CHARS
    answer = decode(frame)
    if len(frame) > limit:
        assert isinstance(answer, m.ProtocolError) and answer.code == "frame_too_large"
        return
    assert isinstance(answer, m.Command), answer
    assert answer.type == obj["type"] and answer.id == obj["id"]
    for name, value in obj.items():
        assert getattr(answer, name) == value, name
    # Written back as JSON, it reads as the same command...
    assert m.decode_command(dumps(answer.model_dump())) == answer
    # ...and it crosses processes (rooms/codec.py, as JSON through Redis) unchanged.
    carried = json.loads(json.dumps(codec.encode_command(answer)))
    assert codec.decode_command(carried) == answer


@fuzz_settings(200)
@given(valid_commands(), st.data())
def test_a_damaged_valid_frame_is_a_command_or_a_protocol_error(
    obj: dict[str, Any], data: st.DataObject
) -> None:
    frame = dumps(obj)
    at = data.draw(st.integers(min_value=0, max_value=len(frame)))
    damage = data.draw(
        st.sampled_from(["cut", "drop", "insert", "replace", "duplicate"]), label="damage"
    )
    char = data.draw(st.characters() | st.sampled_from(list('{}[]",:\\0e-.')), label="char")
    if damage == "cut":
        frame = frame[:at]
    elif damage == "drop":
        frame = frame[:at] + frame[at + 1 :]
    elif damage == "insert":
        frame = frame[:at] + char + frame[at:]
    elif damage == "replace":
        frame = frame[:at] + char + frame[at + 1 :]
    else:
        frame = frame[:at] + frame[at:] * 2
    decode(frame)


internal_commands = st.one_of(
    st.builds(Open),
    st.builds(Close),
    st.builds(ExpireFloor),
    st.builds(ExpirePoll, st.integers(min_value=1, max_value=1000)),
    st.builds(
        Join,
        member_keys,
        st.sampled_from(["point", "user"]),
        st.integers(min_value=1, max_value=2**31),
        st.text(max_size=200),
        st.sampled_from(list(Role)),
        _maybe(st.integers(min_value=1, max_value=2**31)),
        st.text(min_size=1, max_size=40),
    ),
    st.builds(
        Leave,
        member_keys,
        st.text(min_size=1, max_size=40),
        st.sampled_from(["disconnected", "lost"]),
    ),
    st.builds(ShowAgendaItem, _maybe(_ids), st.text(max_size=300)),
    st.builds(ShowDocument, _ids, _ids, _pages, st.text(max_size=300), _pages),
)


@fuzz_settings(200)
@given(internal_commands)
def test_internal_commands_cross_processes_unchanged(command: Any) -> None:
    carried = json.loads(json.dumps(codec.encode_command(command)))
    assert codec.decode_command(carried) == command


@pytest.mark.parametrize("size", [m.MAX_FRAME_CHARS, m.MAX_OFFER_FRAME_CHARS])
def test_the_largest_frames_decode_quickly(size: int) -> None:
    for filler in ("a", "é", "\\u00e9", "[", "1"):
        body = '{"type": "offer", "id": "x", "sdp": "'
        frame = body + filler * ((size - len(body) - 2) // len(filler)) + '"}'
        decode(frame)
        decode(frame.replace('"offer"', '"chat"'))


# --- the same frames on a real socket --------------------------------------------------


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite only: the decoder does not touch the database."""
    path = tmp_path / "hoinghi.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


# Found by the fuzzing above: each closed the socket with 1011 ("internal error") instead
# of answering with an error frame.
FOUND = [
    ('{"type": [], "id": "f1"}', "unknown_type"),
    ('{"type": {"a": 1}, "id": "f2"}', "unknown_type"),
    ("[" * 1000 + "]" * 1000, "malformed_json"),
    ('{"type": "ping", "id": "f3", "n": 1' + "0" * 5000 + "}", "malformed_json"),
]


def _answered_with(code: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame.get("code") == code


async def test_frames_the_fuzzer_found_get_error_frames_and_the_socket_stays(
    live_province: Province,
) -> None:
    p = live_province
    mid, _ = await p.live_meeting(1)
    chair = await RoomClient.open(p.ws_url, mid, p.auth("chair"))
    await chair.wait_for(lambda f: f["type"] == "welcome")
    for raw, code in FOUND:
        await chair.send_raw(raw)
        error = await chair.wait_for(_answered_with(code))
        assert error["type"] == "error"
    assert (await chair.send("ping"))["type"] == "ack"
    assert chair.closed is None
    await chair.close()


async def test_an_unreadable_auth_frame_is_refused_as_no_token(live_province: Province) -> None:
    p = live_province
    mid, _ = await p.live_meeting(1)
    client = await RoomClient.open(p.ws_url, mid, {})
    # Under the 4 KiB an auth frame may have, and nested too deep for json: it was an
    # unhandled RecursionError (the socket dropped without a close frame).
    await client.send_raw("[" * 2000 + "]" * 2000)
    code, _ = await client.wait_closed()
    assert code == 4401
