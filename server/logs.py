"""Logs: plain text by default, one JSON object per line with HOINGHI_LOG_FORMAT=json.

One line per HTTP request (``hoinghi.request``: request id, method, route template,
status, milliseconds, meeting id when the route names one) and per room event
(``hoinghi.room``: meeting, seq, type). Never a query string, a header, a body, a
password, a token or a document's content: routes are logged by their template.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rooms.state import Event

request_log = logging.getLogger("hoinghi.request")
room_log = logging.getLogger("hoinghi.room")

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
QUERY = re.compile(r"\?[^\s\"']*")


class HideQueryStrings(logging.Filter):
    """uvicorn logs each WebSocket handshake with its path and query string, where a room
    socket may carry its token (``?token=``): the query is cut off."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                QUERY.sub("?…", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = QUERY.sub("?…", record.msg) if "?" in record.msg else record.msg
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def uvicorn_log_config(log_format: str) -> dict[str, Any]:
    """The logging set-up for ``hoinghi serve`` (uvicorn's access log is off: requests are
    logged here, by route template)."""
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "filters": {"no_query": {"()": "server.logs.HideQueryStrings"}},
        "handlers": {
            "main": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["main"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.error": {
                "handlers": [],
                "level": "INFO",
                "propagate": True,
                "filters": ["no_query"],
            },
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def log_room_events(meeting_id: int, events: list[Event]) -> None:
    if not room_log.isEnabledFor(logging.INFO):
        return
    for event in events:
        room_log.info(
            "room event %s",
            event.kind,
            extra={"meeting_id": meeting_id, "seq": event.seq, "event": event.kind},
        )


class RequestLog:
    """Times every HTTP request, logs it, and counts it in the latency histogram (by route
    template, method and status class). Answers carry the request id (``X-Request-ID``,
    the caller's if well-formed, else a new one)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.latency = Histogram(
            "hoinghi_http_request_seconds",
            "HTTP request time by route, method and status class",
            ["route", "method", "status"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.fullmatch(given) else secrets.token_hex(8)
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            # A method is any token a client sends: unknown ones share one label.
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.latency.labels(route, method, f"{status // 100}xx").observe(seconds)
            meeting = scope.get("path_params", {}).get("meeting_id")
            if isinstance(meeting, str):
                meeting = int(meeting) if meeting.isdigit() else None
            request_log.info(
                "%s %s %s %.1f ms",
                scope["method"],
                route,
                status,
                seconds * 1000,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "ms": round(seconds * 1000, 1),
                    "meeting_id": meeting,
                },
            )
