"""Video in Chromium: a Chromium chair publishes its (fake) camera and microphone through
the server; Chromium points decode it; the floor passes to a second Chromium point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.pages import wait_until
from tests.conftest import PASSWORD
from tests.province import Province

VIEWPORT = {"width": 1366, "height": 768}


async def _received(page: Page) -> dict[str, dict[str, int]]:
    stats: dict[str, dict[str, int]] = await page.evaluate("window.hoinghiMedia.received()")
    return stats


async def _grows(page: Page, slot: str, field: str, by: int = 20, within: float = 15.0) -> None:
    """``field`` of the inbound stream on ``slot`` grows by ``by`` within the time."""
    start = (await _received(page)).get(slot, {}).get(field, 0)
    for _ in range(int(within / 0.25)):
        now = (await _received(page)).get(slot, {}).get(field, 0)
        if now - start >= by:
            return
        await page.wait_for_timeout(250)
    raise AssertionError(f"{slot}.{field} stayed at {now} (from {start}): {await _received(page)}")


async def _kiosk(browser: Any, base: str, mid: int, token: str) -> Page:
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{base}/meetings/{mid}/room#token={token}")
    await expect(page.locator("#connection")).to_have_text("Đã kết nối")
    return page


async def _chair(browser: Any, base: str, mid: int) -> Page:
    """The chair's room page, signed in, its camera and microphone connected."""
    context = await browser.new_context(viewport=VIEWPORT)
    chair = await context.new_page()
    await chair.goto(f"{base}/meetings/{mid}/room")
    await chair.get_by_label("Tên đăng nhập").fill("chair")
    await chair.get_by_label("Mật khẩu").fill(PASSWORD)
    await chair.get_by_role("button", name="Đăng nhập").click()
    await expect(chair.locator("#connection")).to_have_text("Đã kết nối")
    await expect(chair.locator("#media-status")).to_have_text("Đã kết nối hình ảnh và âm thanh")
    return chair


async def test_a_chromium_chair_is_seen_and_heard_at_chromium_points(
    live_province: Province, browser: Any, artifacts: Path
) -> None:
    p = live_province
    point_a, point_b = sorted(await p.point_ids("xa-tan-phu"))[:2]
    meeting = await p.meeting("Giao ban trực tuyến có hình")
    mid = meeting["id"]
    await p.invite(mid, point_ids=[point_a, point_b])
    item = await p.client.post(
        f"/api/meetings/{mid}/agenda",
        headers=p.auth("secretary"),
        json={"title": "Báo cáo tình hình tháng 11"},
    )
    assert item.status_code == 201, item.text
    await p.step(mid, "schedule")
    await p.step(mid, "start", role="chair")
    base = str(p.client.base_url).rstrip("/")

    chair = await _chair(browser, base, mid)

    token_a = (await p.device(point_a))["Authorization"].split()[1]
    token_b = (await p.device(point_b))["Authorization"].split()[1]
    kiosk_a = await _kiosk(browser, base, mid, token_a)
    kiosk_b = await _kiosk(browser, base, mid, token_b)
    try:
        # Point A decodes the chair's video and plays its sound.
        await expect(kiosk_a.locator("#main-label")).to_have_text("Người dùng chair")
        await _grows(kiosk_a, "main.video", "framesDecoded", by=30)
        await _grows(kiosk_a, "main.audio", "totalSamplesReceived", by=48_000)
        # The chair sees both points on its thumbnail page.
        thumbs = chair.locator("#thumbs figure:not([hidden]) figcaption")
        await expect(thumbs).to_have_count(2)
        await _grows(chair, "thumb0.video", "framesDecoded", by=20)
        await chair.screenshot(path=artifacts / "room-video-chair.png")

        # The chair gives point B the floor: A decodes B on its floor slot.
        point = await p.client.get(f"/api/points/{point_b}", headers=p.auth("admin"))
        name_b = point.json()["name"]
        member_b = chair.locator("#members li", has_text=name_b)
        await member_b.get_by_role("button", name="Mời phát biểu").click()
        await expect(kiosk_a.locator("#floor-figure")).to_be_visible()
        await expect(kiosk_a.locator("#floor-label")).to_contain_text(name_b)
        await _grows(kiosk_a, "floor.video", "framesDecoded", by=30)
        await _grows(kiosk_a, "floor.audio", "totalSamplesReceived", by=48_000)
        await kiosk_a.screenshot(path=artifacts / "room-video-point.png")

        # The chair moves to the first agenda item; every point sees it.
        await chair.get_by_label("Nội dung đang thảo luận").select_option(
            label="1. Báo cáo tình hình tháng 11"
        )
        await expect(kiosk_a.locator("#agenda-current")).to_have_text(
            "Đang thảo luận: Báo cáo tình hình tháng 11"
        )
        await expect(kiosk_a.locator("#agenda-control")).to_be_hidden()

        # The chair records a few seconds; every point sees that it is recording.
        await chair.get_by_role("button", name="Bắt đầu ghi hình").click()
        await expect(kiosk_a.locator("#recording-state")).to_have_text("● Đang ghi hình")
        await chair.wait_for_timeout(3000)
        await chair.get_by_role("button", name="Dừng ghi hình").click()
        await expect(kiosk_a.locator("#recording-state")).to_be_hidden()
        # The meeting page lists it, and Chromium plays it.
        await chair.goto(f"{base}/meetings/{mid}")
        recordings = chair.get_by_role("heading", name="Bản ghi hình")
        await expect(recordings).to_be_visible(timeout=10_000)
        await expect(chair.locator(".recordings")).to_contain_text("Báo cáo tình hình tháng 11")
        video = chair.get_by_label("Xem bản ghi 1")
        await video.evaluate("v => { v.muted = true; return v.play(); }")
        await wait_until(
            chair, "document.querySelector('.recordings video').currentTime > 0.5", within=10
        )
        duration = await video.evaluate("v => v.duration")
        assert 2 < duration < 6, duration
        assert kiosk_a.errors == [] and kiosk_b.errors == []  # type: ignore[attr-defined]
    finally:
        for page in (chair, kiosk_a, kiosk_b):
            await page.context.close()


async def test_a_point_without_a_camera_is_told_so_and_still_sees_the_chair(
    live_province: Province, browser: Any
) -> None:
    p = live_province
    (point,) = sorted(await p.point_ids("xa-tan-phu"))[:1]
    meeting = await p.meeting("Giao ban, điểm cầu hỏng camera")
    mid = meeting["id"]
    await p.invite(mid, point_ids=[point])
    await p.step(mid, "schedule")
    await p.step(mid, "start", role="chair")
    base = str(p.client.base_url).rstrip("/")
    chair = await _chair(browser, base, mid)

    # This kiosk's camera is unplugged (or refused): getUserMedia fails.
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_init_script(
        "navigator.mediaDevices.getUserMedia = () =>"
        " Promise.reject(new DOMException('no camera', 'NotFoundError'));"
    )
    kiosk = await context.new_page()
    token = (await p.device(point))["Authorization"].split()[1]
    await kiosk.goto(f"{base}/meetings/{mid}/room#token={token}")
    try:
        problem = kiosk.locator("#device-status")
        await expect(problem).to_contain_text("Không mở được camera hoặc micro (NotFoundError)")
        await _grows(kiosk, "main.video", "framesDecoded", by=30)
        await expect(kiosk.locator("#media-status")).to_have_text("Đã kết nối hình ảnh và âm thanh")
        await expect(problem).to_be_visible()  # said until it is fixed, not overwritten
    finally:
        await context.close()
        await chair.context.close()
