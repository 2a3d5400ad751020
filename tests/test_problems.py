"""Every error is a problem-details document with a stable code."""

from __future__ import annotations

import httpx

from tests.conftest import Account

PROBLEM_KEYS = {"type", "title", "status", "code"}


def _is_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:hoinghi:problem:{code}"
    return body


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    _is_problem(await client.get("/api/no-such-thing"), 404, "not_found")
    _is_problem(await client.post("/api/no-such-thing", json={}), 404, "not_found")
    _is_problem(await client.get("/no-such-page"), 404, "not_found")
    _is_problem(await client.get("/static/no-such-file.js"), 404, "not_found")


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    _is_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]
    on_api = await client.put("/api/users")
    _is_problem(on_api, 405, "method_not_allowed")


async def test_validation_errors_name_the_field(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    client.cookies.clear()
    response = await client.post(
        "/api/users",
        headers=accounts["admin"].auth,
        json={"username": "ab", "full_name": "X", "roles": ["mayor"], "password": "short"},
    )
    body = _is_problem(response, 422, "validation_failed")
    fields = {e["field"] for e in body["errors"]}  # type: ignore[attr-defined]
    assert {"username", "roles[0]", "password"} <= fields


async def test_unknown_fields_are_refused(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    client.cookies.clear()
    response = await client.patch(
        "/api/users/1", headers=accounts["admin"].auth, json={"is_superuser": True}
    )
    body = _is_problem(response, 422, "validation_failed")
    assert body["errors"] == [
        {"field": "is_superuser", "message": "Extra inputs are not permitted"}
    ]


async def test_malformed_json_is_a_400_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/login", content=b'{"username": ', headers={"content-type": "application/json"}
    )
    _is_problem(response, 400, "malformed_json")


async def test_missing_row_is_a_404_problem(
    client: httpx.AsyncClient, accounts: dict[str, Account]
) -> None:
    client.cookies.clear()
    response = await client.get("/api/points/999999", headers=accounts["admin"].auth)
    body = _is_problem(response, 404, "not_found")
    assert "999999" in str(body["detail"])


async def test_health_endpoints(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


async def test_openapi_describes_the_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "hoinghi"
    for path in ("/api/auth/login", "/api/points", "/api/users", "/api/units", "/api/me"):
        assert path in spec["paths"], path
    schemes = spec["components"]["securitySchemes"]
    assert {"HTTPBearer", "APIKeyCookie"} <= schemes.keys()


async def test_the_web_client_is_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "hoinghi" in page.text
