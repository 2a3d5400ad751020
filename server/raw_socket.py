"""Writing a room event's ready-made frame straight to a client's socket.

A room event goes to hundreds of sockets as the same bytes (server frames are not
masked), so the room builds the frame once (rooms/connection.py ``EventFrame.wire``) and,
where it can, writes it to each socket's transport itself instead of passing the text
down the ASGI ``send`` chain, which frames it again for every socket: measured about
twice the cost per delivery (docs/benchmarks.md, ``signaling``).

It can only where the server is uvicorn with its sans-I/O websockets protocol and no
per-message compression (how ``hoinghi serve`` runs): ``KeepRawSend`` notes the server's
own ``send`` in the scope, and ``direct_writer`` finds the protocol's transport behind
it. Anywhere else it returns None and every frame goes through ``send`` as usual.
``check()`` fails loudly (in the tests) if an upgrade of uvicorn moves what it uses.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

RAW_SEND = "hoinghi.raw_send"
# A socket with this much unsent is slow: its frames wait in its queue instead, where
# the room's own slow-client rules apply.
MAX_BUFFERED = 256 * 1024


class KeepRawSend:
    """The outermost middleware: keeps the server's ``send`` of each WebSocket."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


def direct_writer(scope: Scope) -> Callable[[bytes], bool] | None:
    """A function that writes a whole frame to this socket now (True), or refuses (False)
    when the socket is closing or already has a backlog; None if this server cannot."""
    protocol = getattr(scope.get(RAW_SEND), "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol):
        return None
    if getattr(protocol.conn, "extensions", None):
        return None  # a compressed socket: frames differ per socket
    transport = protocol.transport

    def write(frame: bytes) -> bool:
        if protocol.close_sent or transport.is_closing() or not protocol.handshake_complete:
            return False
        if transport.get_write_buffer_size() > MAX_BUFFERED:
            return False
        transport.write(frame)
        return True

    return write


def check() -> None:
    """Fail unless uvicorn's protocol still has what ``direct_writer`` reads."""
    code = WebSocketsSansIOProtocol
    names = code.__init__.__code__.co_names + code.connection_made.__code__.co_names
    for name in ("transport", "conn", "close_sent", "handshake_complete"):
        if name not in names:
            raise RuntimeError(f"uvicorn's WebSocketsSansIOProtocol no longer sets {name!r}")
