"""Every answer carries the security headers; the policy allows no inline script, no
eval, no framing; HSTS only behind TLS."""

from __future__ import annotations

from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager

from server.app import create_app
from tests.conftest import test_settings


async def test_pages_api_and_errors_carry_the_headers(client: httpx.AsyncClient) -> None:
    for path in ("/", "/static/js/app.js", "/api/me", "/api/nowhere", "/healthz"):
        answer = await client.get(path)
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in answer.headers  # plain HTTP here


async def test_behind_tls_browsers_are_told_to_keep_to_https(
    database_url: str, tmp_path: Path
) -> None:
    settings = test_settings(database_url, tmp_path, public_url="https://hoinghi.tinh.gov.vn")
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            answer = await c.get("/healthz")
    assert answer.headers["strict-transport-security"].startswith("max-age=")
