"""Real Chromium (Debian's, driven by Playwright; never `playwright install`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.conftest import IN_CI

# What a page shows after a click may take a few seconds on a busy 2-core machine (two
# browsers, a server drawing page images): 5 s was seen to be too short once.
expect.set_options(timeout=10_000)

CHROMIUM = os.environ.get("HOINGHI_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]


def _have_chromium() -> bool:
    return shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists()


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    if not _have_chromium():
        message = f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
