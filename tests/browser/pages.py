"""What the browser tests share: a page that records script errors, signing in, the
accessibility audit and the no-sideways-scrolling check."""

from __future__ import annotations

import asyncio
from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, expect

from tests.conftest import PASSWORD
from tests.province import Province

DESK = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}


def base_url(p: Province) -> str:
    return str(p.client.base_url).rstrip("/")


async def new_page(browser: Any, viewport: dict[str, int] = DESK, **options: Any) -> Page:
    """A page in its own context; ``page.errors`` collects uncaught script errors and
    Content-Security-Policy refusals."""
    context = await browser.new_context(viewport=viewport, **options)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A Content-Security-Policy refusal is no script error, only a console message.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    page.errors = errors  # type: ignore[attr-defined]
    return page


async def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/signin")
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.get_by_label("Mật khẩu").fill(password)
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.get_by_role("heading", name="Cuộc họp của tôi")).to_be_visible()


async def audit(page: Page, name: str) -> None:
    """axe-core finds nothing serious or critical on the page."""
    results = await Axe().run(page)
    serious = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{name}: {serious}"


async def fits_width(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


async def wait_until(page: Page, expression: str, within: float = 15.0) -> None:
    """Poll a script expression until it is truthy. (Playwright's ``wait_for_function``
    evaluates its string inside the page, which the pages' Content-Security-Policy refuses
    as eval; ``evaluate`` goes through the debugging protocol instead.)"""
    async with asyncio.timeout(within):
        while not await page.evaluate(expression):  # noqa: ASYNC110 - polls the browser
            await asyncio.sleep(0.05)
