"""How the web client is served: one shell page for the client's own routes, every
file revalidated by ETag, catalogues complete in both languages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

STATIC = Path(__file__).resolve().parent.parent / "static"


@pytest.mark.parametrize(
    "path", ["/", "/signin", "/kiosk", "/network", "/meetings/new", "/meetings/7"]
)
async def test_client_pages_are_the_shell_and_always_revalidated(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/static/js/app.js">' in response.text


async def test_static_files_are_kept_and_asked_about_by_etag(client: httpx.AsyncClient) -> None:
    first = await client.get("/static/js/app.js")
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-cache"
    assert "javascript" in first.headers["content-type"]
    etag = first.headers["etag"]
    again = await client.get("/static/js/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    changed = await client.get("/static/js/app.js", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200 and changed.content == first.content


def _keys_used_in_client() -> set[str]:
    used: set[str] = set()
    pattern = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")
    attribute = re.compile(r"""data-i18n(?:-[a-z]+)?=["']([a-z0-9_.]+)["']""")
    for path in list(STATIC.rglob("*.js")) + list(STATIC.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        if path.name == "i18n.js":  # its comment shows the call with a made-up key
            text = re.sub(r"^//.*$", "", text, flags=re.M)
        used |= set(pattern.findall(text)) | set(attribute.findall(text))
    return used


def test_both_catalogues_hold_the_same_keys_and_every_key_the_client_uses() -> None:
    vi = json.loads((STATIC / "i18n" / "vi.json").read_text(encoding="utf-8"))
    en = json.loads((STATIC / "i18n" / "en.json").read_text(encoding="utf-8"))
    assert vi.keys() == en.keys()
    assert all(isinstance(v, str) and v.strip() for v in [*vi.values(), *en.values()])
    missing = _keys_used_in_client() - vi.keys()
    assert missing == set()
