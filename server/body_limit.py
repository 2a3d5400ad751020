"""A request body size limit that fails as a problem document (413 ``too_large``).

The limit is enforced while the body is read: a declared Content-Length over the limit is
refused before anything is read, a streamed body as soon as it passes the limit. Raising an
HTTPException from ``receive`` lets FastAPI's exception handlers answer, so the 413 looks
like every other error (Starlette's own limiter answers in plain text).
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    def __init__(
        self, app: ASGIApp, default_bytes: int, paths: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_bytes = default_bytes
        # Upload routes (regular expressions matching the whole path) get their own limit.
        self.paths = [(re.compile(pattern), limit) for pattern, limit in (paths or {}).items()]

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.paths:
            if pattern.fullmatch(path):
                return limit
        return self.default_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared is not None and declared > limit:
                raise _too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, limited_receive, send)


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the request body is larger than {limit} bytes")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
