"""Signing does not hold the database's writer: while an approval waits for its
timestamp (from a slow timestamp service), other requests write, and a chain withdrawn
meanwhile is not overwritten by the late signature. Both databases."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import tsp
from cryptography.hazmat.primitives.asymmetric import ec

from server.minutes.trust import TrustSource
from server.settings import Settings
from tests.conftest import test_settings
from tests.province import Province
from tests.test_minutes import Chain, ca, chain  # noqa: F401  (fixtures)


class SlowTimestamps(ThreadingHTTPServer):
    """An RFC 3161 service (the built-in CA's stamper behind HTTP) that answers only when
    the test lets it."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.settings: Settings | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/tsa"


class _Handler(BaseHTTPRequestHandler):
    server: SlowTimestamps

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.arrived.set()
        self.server.release.wait(30)
        assert self.server.settings is not None
        stamper = TrustSource(self.server.settings).timestamper()
        answer = stamper.request_tsa_response(tsp.TimeStampReq.load(body))  # type: ignore[union-attr]
        data = answer.dump()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def slow_timestamps() -> Iterator[SlowTimestamps]:
    server = SlowTimestamps()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, slow_timestamps: SlowTimestamps) -> Settings:
    # The stamper behind HTTP is the built-in CA's, from the same data directory.
    slow_timestamps.settings = test_settings(database_url, tmp_path)
    return test_settings(database_url, tmp_path, tsa_url=slow_timestamps.url)


async def _submitted(minutes: Chain, province: Province) -> None:
    secretary, chair = province.accounts["secretary"], province.accounts["chair"]
    assert (await province.client.post(minutes.url, headers=secretary.auth, json={})).is_success
    submitted = await province.client.post(
        f"{minutes.url}/submit",
        headers=secretary.auth,
        json={"version": 1, "approvers": [secretary.id, chair.id]},
    )
    assert submitted.status_code == 200, submitted.text


async def test_other_writes_go_on_while_an_approval_waits_for_its_timestamp(
    chain: tuple[Chain, ec.EllipticCurvePrivateKey],  # noqa: F811
    province: Province,
    slow_timestamps: SlowTimestamps,
) -> None:
    c, _ = chain
    await _submitted(c, province)
    approving = asyncio.create_task(c.approve(province.accounts["secretary"], 1, 0))
    assert await asyncio.to_thread(slow_timestamps.arrived.wait, 30), "no timestamp asked"

    # The approval is signing; a write elsewhere does not wait for it.
    meanwhile = await asyncio.wait_for(province.meeting("Họp trong lúc ký"), timeout=10)
    assert meanwhile["title"] == "Họp trong lúc ký"
    assert not approving.done()

    slow_timestamps.release.set()
    answer = await approving
    assert answer.status_code == 200, answer.text
    state = await c.state()
    assert [s["outcome"] for s in state["steps"]] == ["signed"]
    assert state["next_approver"] == province.accounts["chair"].id


async def test_a_chain_withdrawn_while_signing_is_not_overwritten(
    chain: tuple[Chain, ec.EllipticCurvePrivateKey],  # noqa: F811
    province: Province,
    slow_timestamps: SlowTimestamps,
) -> None:
    c, _ = chain
    await _submitted(c, province)
    approving = asyncio.create_task(c.approve(province.accounts["secretary"], 1, 0))
    assert await asyncio.to_thread(slow_timestamps.arrived.wait, 30), "no timestamp asked"

    withdrawn = await asyncio.wait_for(
        province.client.post(f"{c.url}/withdraw", headers=province.accounts["secretary"].auth),
        timeout=10,
    )
    assert withdrawn.status_code == 200, withdrawn.text

    slow_timestamps.release.set()
    answer = await approving
    assert answer.status_code == 409 and answer.json()["code"] == "minutes_changed"
    state = await c.state()
    assert state["status"] == "draft" and state["steps"] == []
