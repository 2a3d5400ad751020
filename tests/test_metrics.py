"""GET /metrics: prometheus-client's own parser reads it, and its counters move with real
traffic (room sockets, page images, downloads, requests); who may scrape it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from server.settings import Settings
from tests import pdfs
from tests.conftest import test_settings
from tests.province import Province
from tests.roomclient import RoomClient

TOKEN = {"Authorization": "Bearer scrape-secret"}


async def scrape(
    client: httpx.AsyncClient, **headers: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, by name and labels."""
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_counters_move_with_real_traffic(live_province: Province) -> None:
    p = live_province
    mid, (point,) = await p.live_meeting(points=1)
    before = await scrape(p.client, **TOKEN)
    for name in (
        "hoinghi_points_connected",
        "hoinghi_live_meetings",
        "hoinghi_room_members",
        "hoinghi_media_peers",
        "hoinghi_media_tracks_forwarded",
    ):
        assert (name, ()) in before, name
    assert ("hoinghi_ws_messages_received_total", ()) in before
    assert ("hoinghi_points_by_health", (("state", "offline"),)) in before

    device = await p.device(point)  # once: a new token would end the room session
    client = await RoomClient.open(p.ws_url, mid, device)
    await client.wait_for(lambda f: f["type"] == "welcome")
    assert (await client.send("ping"))["type"] == "ack"
    await client.send_raw("{not json")
    await client.wait_for(lambda f: f.get("code") == "malformed_json")

    uploaded = await p.client.post(
        f"/api/meetings/{mid}/documents",
        headers=p.auth("secretary"),
        files={"file": ("bao-cao.pdf", pdfs.pdf(2), "application/pdf")},
    )
    document = uploaded.json()
    for _ in range(2):  # drawn once, then from the cache
        page = await p.client.get(f"{document['pages_url']}1.webp", headers=device)
        assert page.status_code == 200
    copy = await p.client.get(f"/api/documents/{document['id']}/download", headers=device)
    assert copy.status_code == 200

    # The server times a request just after its last byte: wait for the download's count.
    download = (
        "hoinghi_http_request_seconds_count",
        (("method", "GET"), ("route", "/api/documents/{document_id}/download"), ("status", "2xx")),
    )
    async with asyncio.timeout(10):
        while download not in (after := await scrape(p.client, **TOKEN)):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert value(after, "hoinghi_points_connected") == 1
    assert value(after, "hoinghi_live_meetings") == 1
    assert value(after, "hoinghi_room_members") >= 1
    grew = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert grew("hoinghi_ws_messages_received_total") >= 2
    assert grew("hoinghi_ws_messages_sent_total") >= 3  # welcome, ack, error at least
    assert grew("hoinghi_ws_errors_total", code="malformed_json") == 1
    assert grew("hoinghi_room_events_total", type="member.joined") >= 1
    assert grew("hoinghi_page_images_total", cache="miss") == 1
    assert grew("hoinghi_page_images_total", cache="hit") == 1
    assert grew("hoinghi_document_downloads_total", kind="copy") == 1
    # Requests are timed by route template: never a path with ids or tokens in it.
    routes = {
        dict(labels).get("route")
        for name, labels in after
        if name.startswith("hoinghi_http_request_seconds")
    }
    assert "/api/documents/{document_id}/download" in routes
    assert not any(r and any(ch.isdigit() for ch in r) for r in routes), routes
    count = value(
        after,
        "hoinghi_http_request_seconds_count",
        route="/api/documents/{document_id}/download",
        method="GET",
        status="2xx",
    )
    assert count == 1
    await client.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return test_settings(database_url, tmp_path, metrics_token="scrape-secret")


async def test_the_token_guards_metrics(app: FastAPI, client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert await scrape(client, Authorization="Bearer scrape-secret")


async def test_without_a_token_only_this_host_may_scrape(database_url: str, tmp_path: Path) -> None:
    from asgi_lifespan import LifespanManager

    from server.app import create_app

    app = create_app(test_settings(database_url, tmp_path))
    async with LifespanManager(app):
        far = httpx.ASGITransport(app=app, client=("10.1.2.3", 40000))
        async with httpx.AsyncClient(transport=far, base_url="http://testserver") as remote:
            refused = await remote.get("/metrics")
            assert refused.status_code == 403
        near = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=near, base_url="http://testserver") as local:
            assert await scrape(local)
