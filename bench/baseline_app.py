"""The floor for `bench signaling`: a bare Starlette broadcast loop.

No authentication, no persistence, no room: every text a client sends is wrapped as an
event and sent to every connected client, one ``await send_text`` after another. Served
with the same uvicorn options as hoinghi. Nothing in hoinghi uses this.
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

clients: set[WebSocket] = set()
seq = 0


async def room(websocket: WebSocket) -> None:
    global seq
    await websocket.accept()
    clients.add(websocket)
    await websocket.send_text('{"type": "welcome"}')
    try:
        while True:
            text = await websocket.receive_text()
            message = json.loads(text)
            seq += 1
            frame = json.dumps(
                {
                    "type": "event",
                    "seq": seq,
                    "event": "chat.sent",
                    "data": {"text": message["text"]},
                }
            )
            for client in list(clients):
                try:
                    await client.send_text(frame)
                except Exception:
                    clients.discard(client)
    except WebSocketDisconnect:
        pass
    finally:
        clients.discard(websocket)


app = Starlette(routes=[WebSocketRoute("/ws/meetings/{meeting_id}", room)])
