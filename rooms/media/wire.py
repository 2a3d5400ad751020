"""Messages between the server and its media workers, and between workers.

Each message is a 4-byte length, then one type byte: ``J`` a JSON object (control), ``F``
an encoded frame of a member's camera or microphone (the hot path: a fixed binary header,
no JSON). Over TCP on the deployment's own network; the first message of a connection is
``{"op": "hello", "secret": ...}``, checked against the shared secret.
"""

from __future__ import annotations

import asyncio
import json
import struct
from dataclasses import dataclass
from typing import Any

from rooms.media.slots import Frame

MAX_MESSAGE = 4 * 1024 * 1024
_LENGTH = struct.Struct("!I")
# meeting, kind (0 video, 1 audio), keyframe, clock rate, timestamp, member length
_FRAME = struct.Struct("!IBBIqB")
KINDS = ("video", "audio")


class WireError(Exception):
    pass


@dataclass(frozen=True)
class FrameMessage:
    meeting_id: int
    member: str
    kind: str
    frame: Frame


def encode_json(message: dict[str, Any]) -> bytes:
    body = b"J" + json.dumps(message, separators=(",", ":")).encode()
    return _LENGTH.pack(len(body)) + body


def encode_frame(meeting_id: int, member: str, kind: str, frame: Frame) -> bytes:
    key = member.encode()
    header = _FRAME.pack(
        meeting_id, KINDS.index(kind), frame.keyframe, frame.clock_rate, frame.timestamp, len(key)
    )
    body = b"F" + header + key + frame.data
    return _LENGTH.pack(len(body)) + body


def _decode(body: bytes) -> dict[str, Any] | FrameMessage:
    if body[:1] == b"J":
        message = json.loads(body[1:])
        if not isinstance(message, dict):
            raise WireError("a control message is a JSON object")
        return message
    if body[:1] == b"F":
        meeting_id, kind, keyframe, clock_rate, timestamp, key_length = _FRAME.unpack_from(body, 1)
        start = 1 + _FRAME.size
        member = body[start : start + key_length].decode()
        data = body[start + key_length :]
        return FrameMessage(
            meeting_id, member, KINDS[kind], Frame(data, timestamp, clock_rate, bool(keyframe))
        )
    raise WireError(f"unknown message type {body[:1]!r}")


async def read(reader: asyncio.StreamReader) -> dict[str, Any] | FrameMessage | None:
    """The next message, or None at the end of the stream."""
    try:
        (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
        if length > MAX_MESSAGE:
            raise WireError(f"message of {length} bytes")
        return _decode(await reader.readexactly(length))
    except asyncio.IncompleteReadError:
        return None
