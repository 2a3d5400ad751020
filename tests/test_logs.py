"""Logs: one line per request with its id, route template, status and time, and the
meeting it concerns; never a password or a token; room events logged by type; the JSON
format is one object per line."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from pathlib import Path

import httpx
import pytest

from server.logs import uvicorn_log_config
from tests.conftest import PASSWORD
from tests.province import Province


def request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "hoinghi.request"]


async def test_each_request_is_one_line_by_route_with_ids(
    province: Province, caplog: pytest.LogCaptureFixture
) -> None:
    p = province
    meeting = await p.meeting()
    caplog.set_level(logging.INFO, logger="hoinghi.request")
    caplog.clear()
    answer = await p.client.get(
        f"/api/meetings/{meeting['id']}", headers=p.auth("secretary") | {"X-Request-ID": "abc-123"}
    )
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "abc-123"
    (record,) = request_records(caplog)
    assert record.__dict__["route"] == "/api/meetings/{meeting_id}"
    assert record.__dict__["status"] == 200 and record.__dict__["method"] == "GET"
    assert record.__dict__["request_id"] == "abc-123"
    assert record.__dict__["meeting_id"] == meeting["id"]
    assert record.__dict__["ms"] >= 0

    caplog.clear()
    odd = await p.client.get("/api/nowhere", headers={"X-Request-ID": "x" * 200})
    assert odd.status_code == 404
    generated = odd.headers["x-request-id"]
    assert len(generated) == 16 and generated != "x" * 200
    (record,) = request_records(caplog)
    assert record.__dict__["route"] == "unmatched" and record.__dict__["status"] == 404


async def test_no_password_or_token_reaches_the_log(
    province: Province, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    signed = await client.post(
        "/api/auth/login", json={"username": "secretary", "password": PASSWORD}
    )
    token = signed.json()["token"]
    wrong = await client.post(
        "/api/auth/login", json={"username": "secretary", "password": "sai-mat-khau-123"}
    )
    assert wrong.status_code == 401
    await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    await client.get(f"/api/calendar/{token}.ics")
    text = "\n".join(
        f"{r.getMessage()} {json.dumps({k: str(v) for k, v in r.__dict__.items()})}"
        for r in caplog.records
        if not r.name.startswith(("httpx", "httpcore"))  # the test's own client, not the server
    )
    for secret in (PASSWORD, "sai-mat-khau-123", token):
        assert secret not in text
    assert "/api/calendar/{token}.ics" in text  # the route, not the path


async def test_json_lines(caplog: pytest.LogCaptureFixture) -> None:
    config = uvicorn_log_config("json")
    stream = io.StringIO()
    config["handlers"]["main"] = {
        "class": "logging.StreamHandler",
        "formatter": "main",
        "stream": stream,
    }
    config["root"] = {"handlers": [], "level": "INFO"}
    config["loggers"] = {
        "hoinghi.request": {"handlers": ["main"], "level": "INFO", "propagate": False}
    }
    logging.config.dictConfig(config)
    try:
        logging.getLogger("hoinghi.request").info(
            "GET /api/x 200 1.0 ms", extra={"request_id": "r1", "route": "/api/x", "status": 200}
        )
        line = json.loads(stream.getvalue().strip())
        assert line["message"] == "GET /api/x 200 1.0 ms"
        assert (line["request_id"], line["route"], line["status"]) == ("r1", "/api/x", 200)
        assert line["level"] == "INFO" and line["logger"] == "hoinghi.request" and line["time"]
    finally:
        logger = logging.getLogger("hoinghi.request")
        logger.handlers.clear()
        logger.propagate = True


def test_database_errors_never_carry_the_statements_values(tmp_path: Path) -> None:
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from server.db import Database

    async def fail() -> str:
        database = Database(f"sqlite+aiosqlite:///{tmp_path}/x.db")
        try:
            async with database.writer() as db:
                await db.execute(text("CREATE TABLE t (v TEXT UNIQUE)"))
                await db.execute(text("INSERT INTO t VALUES (:v)"), {"v": "hs_secret-token"})
                try:
                    await db.execute(text("INSERT INTO t VALUES (:v)"), {"v": "hs_secret-token"})
                except IntegrityError as exc:
                    return str(exc)
                return ""
        finally:
            await database.dispose()

    message = asyncio.run(fail())
    assert "UNIQUE" in message and "hs_secret-token" not in message
