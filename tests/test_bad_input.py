"""Input no database can store is refused with a 4xx problem, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import httpx
import pytest

from server.db import Database
from server.demo import seed_demo
from tests.conftest import Account

HUGE_IDS = [2**31, 2**63, 2**70]


def _refused(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"


async def test_nul_characters_are_refused_everywhere(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    client.cookies.clear()
    admin = accounts["admin"].auth
    _refused(await client.post("/api/auth/login", json={"username": "ad\x00min", "password": "x"}))
    _refused(await client.get("/api/points", params={"q": "a\x00"}, headers=admin))
    _refused(await client.get("/api/users", params={"q": "a\x00"}, headers=admin))
    _refused(
        await client.post(
            "/api/users",
            headers=admin,
            json={"username": "abc", "full_name": "A\x00B", "roles": ["official"],
                  "password": "mật khẩu đủ dài"},
        )
    )  # fmt: skip
    _refused(
        await client.post(
            "/api/units", headers=admin, json={"code": "x", "name": "X\x00", "kind": "commune"}
        )
    )


@pytest.mark.parametrize("huge", HUGE_IDS)
async def test_ids_beyond_the_integer_column_are_refused(
    client: httpx.AsyncClient, accounts: dict[str, Account], huge: int
) -> None:
    client.cookies.clear()
    admin = accounts["admin"].auth
    for method, path in [
        ("GET", f"/api/points/{huge}"),
        ("GET", f"/api/users/{huge}"),
        ("DELETE", f"/api/points/{huge}"),
        ("POST", f"/api/points/{huge}/rotate-token"),
        ("PATCH", f"/api/units/{huge}"),
    ]:
        _refused(await client.request(method, path, headers=admin, json={}))
    _refused(await client.get("/api/points", params={"unit_id": huge}, headers=admin))
    _refused(await client.get("/api/points", params={"offset": huge}, headers=admin))
    _refused(await client.post("/api/points", headers=admin, json={"name": "P", "unit_id": huge}))


async def test_non_finite_numbers_in_link_stats_are_refused(
    client: httpx.AsyncClient, db: Database, accounts: dict[str, Account]
) -> None:
    async with db.writer() as session:
        await seed_demo(session)
        await session.commit()
    client.cookies.clear()
    admin = accounts["admin"].auth
    unit_id = (await client.get("/api/points", headers=admin)).json()["items"][0]["unit"]["id"]
    token = (
        await client.post("/api/points", headers=admin, json={"name": "P", "unit_id": unit_id})
    ).json()["device_token"]
    device = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    for raw in (b'{"link_stats": {"rtt_ms": NaN}}', b'{"link_stats": {"rtt_ms": 1e400}}'):
        _refused(await client.post("/api/points/me/heartbeat", headers=device, content=raw))


async def test_text_that_grows_when_folded_is_stored(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    # "ﬃ" folds to "ffi": the search key is longer than the name it comes from.
    client.cookies.clear()
    response = await client.post(
        "/api/users",
        headers=accounts["admin"].auth,
        json={"username": "ligature", "full_name": "ﬃ" * 200, "roles": ["official"],
              "password": "mật khẩu đủ dài"},
    )  # fmt: skip
    assert response.status_code == 201
    found = await client.get("/api/users", params={"q": "ffiffi"}, headers=accounts["admin"].auth)
    assert [u["username"] for u in found.json()["items"]] == ["ligature"]


async def test_oversized_bodies_are_refused_before_parsing(client: httpx.AsyncClient) -> None:
    body = b'{"username": "' + b"a" * (2 * 1024 * 1024) + b'", "password": "x"}'
    response = await client.post(
        "/api/auth/login", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"

    async def chunks():  # type: ignore[no-untyped-def]
        # No Content-Length: the limit has to catch the body as it streams in.
        for _ in range(40):
            yield b" " * 65536

    streamed = await client.post(
        "/api/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["code"] == "too_large"


async def test_undecodable_bodies_are_malformed_json(client: httpx.AsyncClient) -> None:
    for raw in (b"\xff\xfe{", b"[" * 100_000):
        response = await client.post(
            "/api/auth/login", content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code in (400, 422), response.text
        assert response.json()["code"] in ("malformed_json", "validation_failed")
