"""The room page in Chromium: a chair and a conference point, each in its own browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests import pdfs
from tests.conftest import PASSWORD
from tests.province import Province


async def _sign_in(page: Page, username: str) -> None:
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()


async def test_chair_and_point_run_a_meeting(
    live_province: Province, browser: Any, artifacts: Path
) -> None:
    p = live_province
    point = min(await p.point_ids("xa-tan-phu"))
    meeting = await p.meeting("Giao ban trực tuyến tháng 12")
    mid = meeting["id"]
    await p.invite(mid, point_ids=[point])
    await p.step(mid, "schedule")
    uploaded = await p.client.post(
        f"/api/meetings/{mid}/documents",
        headers=p.auth("secretary"),
        files={"file": ("to-trinh.pdf", pdfs.pdf(8), "application/pdf")},
        data={"title": "Tờ trình"},
    )
    assert uploaded.status_code == 201, uploaded.text
    token = (await p.device(point))["Authorization"].split()[1]
    base = p.client.base_url.__str__().rstrip("/")

    kiosk_context = await browser.new_context(viewport={"width": 1366, "height": 768})
    kiosk = await kiosk_context.new_page()
    page_errors: list[str] = []
    kiosk.on("pageerror", lambda error: page_errors.append(str(error)))
    await kiosk.goto(f"{base}/meetings/{mid}/room#token={token}")
    await expect(kiosk.locator("#lobby-text")).to_contain_text("chưa mở")
    assert "token=" not in kiosk.url  # the device token leaves the address bar

    await p.step(mid, "start", role="chair")
    await expect(kiosk.locator("#connection")).to_have_text("Đã kết nối")
    raise_hand = kiosk.get_by_role("button", name="Xin phát biểu")
    await expect(raise_hand).to_be_visible()

    chair_context = await browser.new_context(viewport={"width": 1366, "height": 768})
    chair = await chair_context.new_page()
    await chair.goto(f"{base}/meetings/{mid}/room")
    await _sign_in(chair, "chair")
    await expect(chair.locator("#title")).to_have_text("Giao ban trực tuyến tháng 12")
    await expect(chair.locator("#members")).to_contain_text("Hội trường UBND xã Tân Phú")

    # Floor: the point asks, the chair grants, the point sees it has the floor.
    await raise_hand.click()
    await expect(chair.locator("#queue")).to_contain_text("Hội trường UBND xã Tân Phú")
    await chair.locator("#queue").get_by_role("button", name="Mời phát biểu").click()
    await expect(kiosk.locator("#floor-holder")).to_have_text("Bạn đang được phát biểu")
    await expect(chair.locator("#floor-holder")).to_contain_text("Hội trường UBND xã Tân Phú")

    # The presenter's page: every point follows.
    await chair.get_by_label("Chọn tài liệu").select_option(label="1. Tờ trình (8 trang)")
    await chair.get_by_label("Trang", exact=True).fill("3")
    await chair.get_by_role("button", name="Trình chiếu", exact=True).click()
    await expect(kiosk.locator("#presentation")).to_have_text("Tờ trình — trang 3/8")
    await chair.get_by_role("button", name="Trang sau").click()
    await expect(kiosk.locator("#presentation")).to_have_text("Tờ trình — trang 4/8")
    assert await kiosk.locator("#present-controls").is_hidden()

    # Roll call.
    await chair.get_by_role("button", name="Bắt đầu điểm danh").click()
    await kiosk.get_by_label("Số người có mặt tại điểm cầu").fill("12")
    await kiosk.get_by_role("button", name="Xác nhận có mặt").click()
    await expect(kiosk.locator("#rollcall-answered")).to_contain_text("12")
    await chair.get_by_role("button", name="Kết thúc điểm danh").click()
    await expect(chair.locator("#rollcall-state")).to_contain_text("1 điểm cầu, 12 người")

    # Chat.
    await kiosk.get_by_placeholder("Nhập nội dung…").fill("Xã Tân Phú đã sẵn sàng")
    await kiosk.get_by_role("button", name="Gửi", exact=True).click()
    await expect(chair.locator("#chat")).to_contain_text("Xã Tân Phú đã sẵn sàng")

    await chair.screenshot(path=artifacts / "room-chair.png", full_page=True)
    await kiosk.screenshot(path=artifacts / "room-point.png", full_page=True)

    # A dropped connection comes back by itself and catches up.
    await kiosk.evaluate("window.hoinghiRoom.ws.close(4000)")
    await expect(kiosk.locator("#connection")).to_have_text("Mất kết nối — đang kết nối lại…")
    await chair.get_by_role("button", name="Trang sau").click()
    await expect(kiosk.locator("#connection")).to_have_text("Đã kết nối", timeout=15000)
    await expect(kiosk.locator("#presentation")).to_have_text("Tờ trình — trang 5/8")
    # Leaving the room (even for a moment) gave the floor back: the page shows it.
    await expect(kiosk.locator("#floor-holder")).to_have_text("Chưa có ai được mời phát biểu")

    # Ending the meeting tells everyone.
    await p.step(mid, "end", role="chair")
    await expect(kiosk.locator("#lobby-text")).to_have_text("Cuộc họp đã kết thúc.", timeout=15000)
    assert page_errors == []
    for context in (kiosk_context, chair_context):
        await context.close()


async def test_the_room_page_speaks_english_on_request(
    live_province: Province, browser: Any
) -> None:
    p = live_province
    meeting = await p.meeting("Họp")
    await p.step(meeting["id"], "schedule")
    await p.step(meeting["id"], "start", role="chair")
    base = p.client.base_url.__str__().rstrip("/")
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/meetings/{meeting['id']}/room")
    await _sign_in(page, "chair")
    await expect(page.locator("#connection")).to_have_text("Đã kết nối")
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("#connection")).to_have_text("Connected")
    await expect(page.get_by_role("button", name="Start roll call")).to_be_visible()
    await page.reload()
    await expect(page.locator("#connection")).to_have_text("Connected")  # remembered
    await context.close()


async def test_a_wrong_password_is_said_plainly(live_province: Province, browser: Any) -> None:
    p = live_province
    meeting = await p.meeting("Họp")
    base = p.client.base_url.__str__().rstrip("/")
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/meetings/{meeting['id']}/room")
    await page.get_by_label("Tên đăng nhập").fill("chair")
    await page.get_by_label("Mật khẩu").fill("not the password")
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.locator("#signin-error")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    await context.close()
