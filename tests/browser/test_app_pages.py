"""The web client in Chromium: sign-in per role, the dashboard, a new meeting, a kiosk,
the live network page, the language switch, errors in words, and an accessibility audit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import expect
from sqlalchemy import update

from server.db import Database, utcnow
from server.sessions import AuthSession
from tests.browser.pages import audit, base_url, fits_width, new_page, sign_in
from tests.conftest import PASSWORD
from tests.province import Province


async def test_each_role_sees_its_pages(live_province: Province, browser: Any) -> None:
    base = base_url(live_province)
    expectations = {
        "admin": {"Tạo cuộc họp": True, "Mạng điểm cầu": True},
        "secretary": {"Tạo cuộc họp": True, "Mạng điểm cầu": True},
        "chair": {"Tạo cuộc họp": False, "Mạng điểm cầu": True},
        "official": {"Tạo cuộc họp": False, "Mạng điểm cầu": False},
    }
    for role, links in expectations.items():
        page = await new_page(browser)
        await sign_in(page, base, role)
        nav = page.get_by_role("navigation")
        for name, visible in links.items():
            link = nav.get_by_role("link", name=name)
            if visible:
                await expect(link).to_be_visible()
            else:
                await expect(link).to_be_hidden()
        await expect(page.locator("#who")).to_have_text(f"Người dùng {role}")
        assert page.errors == []  # type: ignore[attr-defined]
        await page.context.close()


async def test_a_secretary_schedules_a_meeting_for_the_whole_province(
    live_province: Province, browser: Any, tmp_path: Path, artifacts: Path
) -> None:
    p, base = live_province, base_url(live_province)
    page = await new_page(browser)
    await sign_in(page, base, "secretary")
    await page.get_by_role("navigation").get_by_role("link", name="Tạo cuộc họp").click()
    await expect(page.get_by_role("heading", name="Tạo cuộc họp mới")).to_be_visible()
    await audit(page, "new meeting")
    await page.get_by_label("Tên cuộc họp").fill("Giao ban trực tuyến tháng 12")
    await page.get_by_label("Người chủ trì").select_option(label="Người dùng chair")
    await page.get_by_label("Mời tất cả điểm cầu của đơn vị").select_option(
        label="Tỉnh Hòa Sơn (2)"
    )
    await page.get_by_label("Nội dung chương trình").first.fill("Khai mạc")
    for title in ("Báo cáo tình hình tháng 11", "Thảo luận", "Kết luận"):
        await page.get_by_role("button", name="Thêm nội dung").click()
        await page.locator(".agenda-title").last.fill(title)
    await page.screenshot(path=tmp_path / "new-meeting.png", full_page=True)
    await page.get_by_role("button", name="Tạo cuộc họp").click()

    await expect(page.get_by_role("heading", name="Giao ban trực tuyến tháng 12")).to_be_visible()
    await expect(page.locator("#meeting-status")).to_have_text("Đã lên lịch")
    await expect(page.locator("dl.facts")).to_contain_text("204 điểm cầu")
    await expect(page.locator("ol.agenda li")).to_have_count(4)
    await expect(page.locator("#notice")).to_contain_text("204 điểm cầu")
    await audit(page, "meeting detail")
    await page.screenshot(path=tmp_path / "meeting.png", full_page=True)
    await page.screenshot(path=artifacts / "meeting.png", full_page=True)

    # A commune point's kiosk, signed in with the link the admin printed, sees it.
    point = min(await p.point_ids("xa-tan-phu"))
    link = (await p.client.post(f"/api/points/{point}/kiosk-link", headers=p.auth("admin"))).json()
    assert link["url"].endswith(f"/kiosk#token={link['device_token']}")
    assert link["qr_svg"].startswith("<svg")
    kiosk = await new_page(browser)
    await kiosk.goto(link["url"].replace("http://testserver", base))
    await expect(kiosk.get_by_role("heading", name="Cuộc họp của tôi")).to_be_visible()
    await expect(kiosk.locator("#meetings-upcoming")).to_contain_text(
        "Giao ban trực tuyến tháng 12"
    )
    await expect(kiosk.locator("#who")).to_have_text("Hội trường UBND xã Tân Phú")
    assert "token" not in kiosk.url
    await audit(kiosk, "dashboard")
    await kiosk.screenshot(path=tmp_path / "dashboard-point.png", full_page=True)
    await kiosk.screenshot(path=artifacts / "dashboard-point.png", full_page=True)
    assert page.errors == [] and kiosk.errors == []  # type: ignore[attr-defined]
    for each in (page, kiosk):
        await each.context.close()


async def test_the_network_page_shows_a_point_come_online(
    live_province: Province, browser: Any, artifacts: Path
) -> None:
    p, base = live_province, base_url(live_province)
    page = await new_page(browser)
    await sign_in(page, base, "admin")
    await page.get_by_role("navigation").get_by_role("link", name="Mạng điểm cầu").click()
    counts = page.locator("#network-counts")
    await expect(counts).to_contain_text("0/204 điểm cầu trực tuyến")
    await expect(page.locator("#network-live")).to_contain_text("Cập nhật trực tiếp")
    await audit(page, "network")

    point = min(await p.point_ids("xa-tan-phu"))
    device = await p.device(point)
    beat = await p.client.post("/api/points/me/heartbeat", headers=device, json={})
    assert beat.status_code == 204
    await expect(counts).to_contain_text("1/204 điểm cầu trực tuyến", timeout=15000)
    row = page.locator(f'li[data-point="{point}"]')
    await expect(row).to_have_attribute("data-state", "online")
    await expect(row.locator(".badge")).to_have_text("Trực tuyến")

    await page.get_by_label("Tìm theo tên điểm cầu hoặc đơn vị").fill("xa tan phu")
    await expect(page.locator("li[data-point]")).to_have_count(2)
    await page.screenshot(path=artifacts / "network.png", full_page=True)

    # The admin makes a kiosk link for the point: a link and a QR code, shown once.
    await row.get_by_role("button", name="Tạo liên kết kiosk").click()
    await expect(page.locator("#kiosk-dialog svg")).to_be_visible()
    assert "/kiosk#token=hd_" in await page.locator("#kiosk-url").input_value()
    assert page.errors == []  # type: ignore[attr-defined]
    await page.context.close()


async def test_english_is_one_click_away_and_remembered(
    live_province: Province, browser: Any
) -> None:
    page = await new_page(browser)
    await sign_in(page, base_url(live_province), "secretary")
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", name="My meetings")).to_be_visible()
    await expect(
        page.get_by_role("navigation").get_by_role("link", name="New meeting")
    ).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("heading", name="My meetings")).to_be_visible()
    await page.get_by_role("button", name="Tiếng Việt").click()
    await expect(page.get_by_role("heading", name="Cuộc họp của tôi")).to_be_visible()
    await page.context.close()


async def test_errors_are_said_in_words(live_province: Province, browser: Any) -> None:
    page = await new_page(browser)
    base = base_url(live_province)
    await sign_in(page, base, "secretary")
    await page.goto(f"{base}/meetings/999999")
    await expect(page.locator("#notice")).to_have_text("Không tìm thấy cuộc họp.")
    # A meeting that ends before it starts: the API's validation error, in words.
    await page.goto(f"{base}/meetings/new")
    await page.get_by_label("Tên cuộc họp").fill("Họp sai giờ")
    await page.get_by_label("Người chủ trì").select_option(label="Người dùng chair")
    await page.get_by_label("Giờ bắt đầu").fill("10:00")
    await page.get_by_label("Giờ kết thúc").fill("09:00")
    await page.get_by_role("button", name="Tạo cuộc họp").click()
    notice = page.locator("#notice")
    await expect(notice).to_contain_text("Thông tin chưa hợp lệ")
    assert "Traceback" not in await page.content()
    await page.context.close()


async def test_an_expired_session_asks_to_sign_in_again(
    live_province: Province, browser: Any
) -> None:
    page = await new_page(browser)
    base = base_url(live_province)
    await sign_in(page, base, "official")
    database = Database(live_province_database_url(live_province))
    try:
        async with database.writer() as session:
            await session.execute(
                update(AuthSession).values(expires_at=utcnow() - timedelta(minutes=1))
            )
            await session.commit()
    finally:
        await database.dispose()
    await page.reload()
    await expect(page.locator("#signin-error")).to_have_text(
        "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."
    )
    await page.get_by_label("Tên đăng nhập").fill("official")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.get_by_role("heading", name="Cuộc họp của tôi")).to_be_visible()
    await page.context.close()


def live_province_database_url(p: Province) -> str:
    return p.database_url


async def test_the_pages_fit_a_tablet_held_upright(
    live_province: Province, browser: Any, artifacts: Path
) -> None:
    base = base_url(live_province)
    context = await browser.new_context(
        viewport={"width": 768, "height": 1024}, has_touch=True, is_mobile=True
    )
    page = await context.new_page()
    await sign_in(page, base, "secretary")
    await fits_width(page)
    for path, heading in (
        ("/meetings/new", "Tạo cuộc họp mới"),
        ("/network", "Mạng điểm cầu"),
    ):
        await page.goto(f"{base}{path}")
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        await fits_width(page)
    await page.screenshot(path=artifacts / "network-tablet.png", full_page=False)
    await context.close()


async def test_sign_in_works_from_the_keyboard_alone(live_province: Province, browser: Any) -> None:
    page = await new_page(browser)
    await page.goto(f"{base_url(live_province)}/signin")
    await expect(page.get_by_label("Tên đăng nhập")).to_be_visible()
    active = "document.activeElement.name || document.activeElement.textContent.trim()"
    # The page puts the cursor in the first field; Tab walks the form in reading order.
    assert await page.evaluate(active) == "username"
    await page.keyboard.type("secretary")
    await page.keyboard.press("Tab")
    assert await page.evaluate(active) == "password"
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Cuộc họp của tôi")).to_be_visible()
    await page.context.close()
