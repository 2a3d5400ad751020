"""A connection's queue and writer, with the socket replaced by an in-memory one."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from rooms.connection import Connection, EventFrame
from rooms.state import Event, Role

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _event(seq: int, kind: str = "hand.raised", **data: object) -> Event:
    return Event(seq, kind, T0, "p:1", data or {"key": "p:1"})


class Socket:
    """Collects sent frames; can be made to stop reading (a stalled client)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []
        self.stalled = asyncio.Event()
        self.closed: tuple[int, str] | None = None
        self.stall = False

    async def send(self, frame: str) -> None:
        if self.stall:
            await self.stalled.wait()  # never set: the client never reads again
        self.sent.append(json.loads(frame))

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def _connection(
    socket: Socket, log: list[Event], queue_frames: int = 8, on_drop: object = None
) -> Connection:
    async def fetch(after: int, upto: int) -> list[Event]:
        return [e for e in log if after < e.seq <= upto]

    return Connection(
        "proc.1",
        "p:2",
        Role.POINT,
        socket.send,
        socket.close,
        fetch,
        queue_frames,
        on_drop=on_drop,  # type: ignore[arg-type]
    )


def _item(event: Event) -> tuple[EventFrame, ...]:
    return (EventFrame.of(event),)


async def test_events_go_out_once_and_in_order_after_the_welcome() -> None:
    socket, log = Socket(), [_event(n) for n in range(1, 8)]
    conn = _connection(socket, log)
    writer = asyncio.create_task(conn.run_writer())
    conn.events(_item(log[4]))  # arrives while joining: held
    conn.start_after(4, ['{"type": "welcome"}'])
    for event in (log[4], log[3], log[5]):  # a duplicate and an old one
        conn.events(_item(event))
    conn.stop()
    await writer
    assert [f.get("seq") for f in socket.sent] == [None, 5, 6]


async def test_a_gap_is_filled_from_the_store() -> None:
    socket, log = Socket(), [_event(n) for n in range(1, 10)]
    conn = _connection(socket, log)
    writer = asyncio.create_task(conn.run_writer())
    conn.start_after(2, [])
    conn.events(_item(log[2]))  # 3
    conn.events(_item(log[6]))  # 7: 4, 5, 6 were lost on the way
    conn.stop()
    await writer
    assert [f["seq"] for f in socket.sent] == [3, 4, 5, 6, 7]


async def test_private_events_advance_the_seq_without_being_sent() -> None:
    socket = Socket()
    private = _event(2, "chat.sent", to="organizers", text="x", **{"from": "p:9"})
    log = [_event(1), private, _event(3)]
    conn = _connection(socket, log)
    writer = asyncio.create_task(conn.run_writer())
    conn.start_after(0, [])
    conn.events(_item(log[0]))
    conn.events(_item(log[2]))  # 2 missing: fetched, filtered out, not a gap any more
    conn.stop()
    await writer
    assert [f["seq"] for f in socket.sent] == [1, 3]
    assert conn.last_seq == 3


async def test_a_client_that_stops_reading_is_dropped_not_waited_for() -> None:
    socket = Socket()
    socket.stall = True
    dropped: list[str] = []
    conn = _connection(socket, [], queue_frames=8, on_drop=lambda: dropped.append("now"))
    writer = asyncio.create_task(conn.run_writer())
    conn.start_after(0, [])
    for seq in range(1, 50):
        conn.events(_item(_event(seq)))  # never blocks the caller
    await asyncio.sleep(0)
    assert conn.dropped
    # The session is told at once (to leave the room), once; later frames are not queued.
    assert dropped == ["now"]
    conn.events(_item(_event(60)))
    assert dropped == ["now"]
    writer.cancel()


async def test_a_seq_notice_fetches_what_was_missed_on_the_bus() -> None:
    socket, log = Socket(), [_event(n) for n in range(1, 6)]
    conn = _connection(socket, log)
    writer = asyncio.create_task(conn.run_writer())
    conn.start_after(2, [])
    conn.catch_up(5)  # the owner says the room is at 5; nothing arrived on the bus
    conn.catch_up(1)  # stale notices change nothing
    conn.stop()
    await writer
    assert [f["seq"] for f in socket.sent] == [3, 4, 5]


def test_an_event_frame_is_the_websocket_frame_the_websockets_library_would_send() -> None:
    from websockets.frames import Frame, Opcode

    from rooms.connection import websocket_text_frame

    for text in ("", "xin chào", "a" * 125, "ă" * 200, "b" * 70_000):
        expected = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
        assert websocket_text_frame(text) == expected


class RawSocket(Socket):
    """A socket whose whole frames can also be written at once, as uvicorn's allows."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []  # "direct:<seq>" or "send:<seq|type>", as they went out
        self.full = False

    def write_now(self, frame: bytes) -> bool:
        if self.full:
            return False
        text = json.loads(frame[2:] if frame[1] < 126 else frame[4:])
        self.order.append(f"direct:{text['seq']}")
        return True

    async def send(self, frame: str) -> None:
        decoded = json.loads(frame)
        self.order.append(f"send:{decoded.get('seq', decoded['type'])}")
        await super().send(frame)


async def test_idle_connections_get_events_written_at_once_and_in_order() -> None:
    socket = RawSocket()
    log = [_event(n) for n in range(1, 9)]
    conn = Connection(
        "proc.1", "p:2", Role.POINT, socket.send, socket.close,
        lambda a, b: _fetch(log, a, b), write_now=socket.write_now,
    )  # fmt: skip
    writer = asyncio.create_task(conn.run_writer())
    conn.start_after(0, ['{"type":"welcome"}'])
    conn.events(_item(log[0]))  # the welcome is still queued: this one waits behind it
    await asyncio.sleep(0.01)
    conn.events(_item(log[1]))  # idle now: written at once
    conn.events(_item(log[3]))  # a gap: the writer fetches 3 and sends 4 after it
    await asyncio.sleep(0.01)
    socket.full = True
    conn.events(_item(log[4]))  # the socket has a backlog: queued for the writer
    await asyncio.sleep(0.01)
    socket.full = False
    conn.events(_item(log[5]))
    conn.events(_item(log[5]))  # a duplicate is dropped
    await asyncio.sleep(0.01)
    assert socket.order == [
        "send:welcome",
        "send:1",
        "direct:2",
        "send:3",
        "send:4",
        "send:5",
        "direct:6",
    ]
    assert conn.written_directly == 2 and conn.last_seq == 6
    conn.stop()
    await writer


async def _fetch(log: list[Event], after: int, upto: int) -> list[Event]:
    return [e for e in log if after < e.seq <= upto]


def test_the_uvicorn_internals_the_direct_write_uses_are_there() -> None:
    from server.raw_socket import check

    check()
