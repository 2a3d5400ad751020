"""Points' health through the running server: heartbeats and room sockets from real
clients move a point through its states; alerts are raised and cleared (and posted to a
webhook); the history keeps samples; readiness and self-tests; who may see what. Both
databases."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from server.db import Database
from server.identity import Role
from server.network.health_models import Alert
from server.settings import Settings
from tests.conftest import make_account, test_settings
from tests.province import Province
from tests.roomclient import RoomClient

WITHIN = 15.0
GOOD = {"kbps_in": 850.0, "loss_pct": 0.3, "rtt_ms": 42.0, "jitter_ms": 5.0}


class Webhook(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Hook)
        self.received: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/alerts"


class _Hook(BaseHTTPRequestHandler):
    server: Webhook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    server = Webhook()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, webhook: Webhook) -> Settings:
    return test_settings(
        database_url,
        tmp_path,
        health_check_seconds=0.2,
        point_online_seconds=5,
        media_enabled=True,
        alert_webhook_url=webhook.url,
    )


async def eventually(probe: Callable[[], Awaitable[Any]], within: float = WITHIN) -> Any:
    """Ask until ``probe`` returns something truthy (the monitor checks every 0.2 s)."""
    async with asyncio.timeout(within):
        while True:
            if found := await probe():
                return found
            await asyncio.sleep(0.1)


def health_of(p: Province, point: int) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    async def probe() -> dict[str, Any] | None:
        answer = await p.client.get("/api/network/health", headers=p.auth("operator"))
        assert answer.status_code == 200, answer.text
        rows = answer.json()["points"]
        row: dict[str, Any] | None = next((x for x in rows if x["id"] == point), None)
        return row

    return probe


async def state_becomes(p: Province, point: int, health: str) -> dict[str, Any]:
    probe = health_of(p, point)

    async def reached() -> dict[str, Any] | None:
        row = await probe()
        return row if row is not None and row["health"] == health else None

    try:
        found: dict[str, Any] = await eventually(reached)
    except TimeoutError:
        raise AssertionError(f"point {point} never {health}: {await probe()}") from None
    return found


async def heartbeat(p: Province, device: dict[str, str], stats: dict[str, Any] | None) -> None:
    body = {"link_stats": stats} if stats is not None else {}
    answer = await p.client.post("/api/points/me/heartbeat", headers=device, json=body)
    assert answer.status_code == 204, answer.text


async def active_alerts(p: Province, meeting_id: int) -> list[dict[str, Any]]:
    answer = await p.client.get(
        "/api/alerts", params={"meeting_id": meeting_id}, headers=p.auth("chair")
    )
    assert answer.status_code == 200, answer.text
    alerts: list[dict[str, Any]] = answer.json()
    return alerts


async def test_a_point_moves_through_its_states_and_alerts_follow(
    live_province: Province, webhook: Webhook
) -> None:
    p = live_province
    mid, (point,) = await p.live_meeting(points=1)
    device = await p.device(point)
    # Never heard of: offline. A heartbeat: online and idle.
    await state_becomes(p, point, "offline")
    await heartbeat(p, device, None)
    await state_becomes(p, point, "online_idle")

    # In the room, but no media figures at all: silent (an alert: it attended).
    client = await RoomClient.open(p.ws_url, mid, device)
    await client.wait_for(lambda f: f["type"] == "welcome")
    silent = await state_becomes(p, point, "silent")
    assert silent["meeting_id"] == mid
    raised = await eventually(lambda: active_alerts(p, mid))
    assert [(a["kind"], a["point_id"]) for a in raised] == [("silent", point)]
    assert raised[0]["meeting_title"] == "Giao ban trực tuyến tháng 12"

    # Its own report of a good link: good, the alert cleared.
    await heartbeat(p, device, GOOD)
    await state_becomes(p, point, "in_meeting_good")
    assert await eventually(lambda: _none(active_alerts(p, mid)))

    # Heavy loss: degraded, with the reason.
    await heartbeat(p, device, GOOD | {"loss_pct": 14.0})
    degraded = await state_becomes(p, point, "degraded")
    assert any("loss_pct 14" in r for r in degraded["reasons"])
    (alert,) = await eventually(lambda: active_alerts(p, mid))
    assert alert["kind"] == "degraded" and "loss_pct 14" in alert["detail"]

    # It drops out of the room: left (still online), then offline when silent for long.
    await client.close()
    left = await eventually(lambda: _kinds(active_alerts(p, mid), "left"))
    assert left[0]["point_name"]
    await state_becomes(p, point, "offline")
    await eventually(lambda: _kinds(active_alerts(p, mid), "offline"))

    # Back, with a good link: every alert cleared; the meeting ending clears for good.
    client = await RoomClient.open(p.ws_url, mid, device)
    await client.wait_for(lambda f: f["type"] == "welcome")
    await heartbeat(p, device, GOOD)
    await state_becomes(p, point, "in_meeting_good")
    assert await eventually(lambda: _none(active_alerts(p, mid)))
    history = await p.client.get(
        "/api/alerts", params={"meeting_id": mid, "active": "false"}, headers=p.auth("chair")
    )
    kinds = [a["kind"] for a in reversed(history.json())]
    assert kinds == ["silent", "degraded", "left", "offline"]
    assert all(a["cleared_at"] for a in history.json())
    await client.close()

    # The webhook was told each raise and each clear, in order.
    async def all_posted() -> bool:
        return len(webhook.received) == 8

    await eventually(all_posted)
    events = [(w["event"], w["kind"]) for w in webhook.received]
    assert events[:2] == [("alert.raised", "silent"), ("alert.cleared", "silent")]
    assert sorted(events) == sorted(
        [
            (e, k)
            for k in ("silent", "degraded", "left", "offline")
            for e in ("alert.raised", "alert.cleared")
        ]
    )

    # A day's history, one sample a minute: at least the minutes this test ran.
    own = await p.client.get(f"/api/points/{point}/health", headers=device)
    assert own.status_code == 200
    assert own.json()["samples"] and own.json()["current"]["id"] == point


async def _none(alerts: Awaitable[list[dict[str, Any]]]) -> bool:
    return not await alerts


async def _kinds(alerts: Awaitable[list[dict[str, Any]]], kind: str) -> list[dict[str, Any]]:
    found = await alerts
    return found if [a["kind"] for a in found] == [kind] else []


async def test_readiness_and_self_tests(live_province: Province) -> None:
    p = live_province
    meeting = await p.meeting()
    mid = meeting["id"]
    first, second = sorted(await p.point_ids("xa-tan-phu"))[:2]
    third = min(await p.point_ids("phuong-hoa-son"))
    await p.invite(mid, point_ids=[first, second, third])
    devices = {pt: await p.device(pt) for pt in (first, second, third)}

    passed = await p.client.post(
        "/api/points/me/self-test",
        headers=devices[first],
        json={"camera": True, "microphone": True, "network": True, "figures": {"rtt_ms": 31}},
    )
    assert passed.status_code == 201 and passed.json()["passed"] is True
    failed = await p.client.post(
        "/api/points/me/self-test",
        headers=devices[second],
        json={"camera": True, "microphone": False, "network": True},
    )
    assert failed.json()["passed"] is False
    for pt in (first, second):
        await heartbeat(p, devices[pt], None)
    await state_becomes(p, first, "online_idle")
    await state_becomes(p, second, "online_idle")

    answer = await p.client.get(f"/api/meetings/{mid}/readiness", headers=p.auth("secretary"))
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    rows = {r["point_id"]: r for r in shown["points"]}
    assert rows[first]["ready"] is True and rows[first]["reasons"] == []
    assert rows[second]["reasons"] == ["self_test_failed"]
    assert rows[third]["reasons"] == ["offline", "no_self_test"]
    assert (shown["ready"], shown["not_ready"]) == (1, 2)
    assert shown["opens_at"] < shown["starts_at"]

    # Bad input and wrong callers change nothing.
    for body in ({"camera": True}, {"camera": "yes", "microphone": True, "network": True}):
        bad = await p.client.post("/api/points/me/self-test", headers=devices[third], json=body)
        assert bad.status_code == 422
    person = await p.client.post(
        "/api/points/me/self-test",
        headers=p.auth("official"),
        json={"camera": True, "microphone": True, "network": True},
    )
    assert person.status_code == 403
    tests = await p.client.get(f"/api/points/{third}/self-tests", headers=p.auth("operator"))
    assert tests.json() == []


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("official", "/api/network/health", 403),
        ("official", "/api/alerts", 403),
        ("anonymous", "/api/network/health", 401),
        ("operator", "/api/alerts", 200),
        ("other point", "/api/points/{point}/health", 403),
        ("other point", "/api/points/{point}/self-tests", 403),
        ("point", "/api/points/{point}/health", 200),
        ("official", "/api/meetings/{meeting}/readiness", 404),  # not invited: hidden
    ],
)
async def test_who_may_see_health(
    live_province: Province, who: str, path: str, status: int
) -> None:
    p = live_province
    meeting = await p.meeting()
    first, second = sorted(await p.point_ids("xa-tan-phu"))[:2]
    headers: dict[str, str] = {}
    if who == "point":
        headers = await p.device(first)
    elif who == "other point":
        headers = await p.device(second)
    elif who != "anonymous":
        headers = p.auth(who)
    url = path.format(point=first, meeting=meeting["id"])
    answer = await p.client.get(url, headers=headers)
    assert answer.status_code == status, answer.text


async def test_alerts_of_a_confidential_meeting_stay_with_its_people(
    province: Province, app: FastAPI
) -> None:
    p = province
    secret_meeting = await p.meeting("Họp kín về nhân sự", classification="confidential")
    point = min(await p.point_ids("xa-tan-phu"))
    database: Database = app.state.db
    async with database.writer() as session:
        session.add(Alert(kind="offline", point_id=point, meeting_id=secret_meeting["id"]))
        await session.commit()
    other_secretary = await make_account(app, p.client, "thuky-khac", Role.SECRETARY)

    def listed(answer: httpx.Response) -> list[tuple[int, str]]:
        assert answer.status_code == 200, answer.text
        return [(a["meeting_id"], a["meeting_title"]) for a in answer.json()]

    own = await p.client.get("/api/alerts", headers=p.auth("secretary"))
    assert listed(own) == [(secret_meeting["id"], "Họp kín về nhân sự")]
    assert listed(await p.client.get("/api/alerts", headers=other_secretary.auth)) == []
    named = await p.client.get(
        "/api/alerts", params={"meeting_id": secret_meeting["id"]}, headers=other_secretary.auth
    )
    assert listed(named) == []
    # The IT operator watches the whole network: the alert, without the meeting's title.
    assert listed(await p.client.get("/api/alerts", headers=p.auth("operator"))) == [
        (secret_meeting["id"], "")
    ]
    official = await p.client.get("/api/alerts", headers=p.auth("official"))
    assert official.status_code == 403
