"""Votes on the room page in Chromium: the chair opens a vote, kiosks vote with the large
buttons (by mouse and by touch), the chair watches who has voted, and everyone sees the
result; a secret ballot changed after a reload; a point that arrives late may not vote."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.pages import DESK, TABLET, audit, base_url, fits_width, new_page, wait_until
from tests.conftest import PASSWORD
from tests.province import Province

QUESTION = "Thông qua dự toán ngân sách tỉnh năm 2027?"


async def _meeting(
    p: Province, points: int, agenda: str | None = None, **settings: Any
) -> tuple[int, list[int]]:
    point_ids = sorted(await p.point_ids("xa-tan-phu"))[:points]
    meeting = await p.meeting("Kỳ họp HĐND tỉnh: biểu quyết", **settings)
    mid = meeting["id"]
    await p.invite(mid, point_ids=point_ids)
    if agenda:
        item = await p.client.post(
            f"/api/meetings/{mid}/agenda", headers=p.auth("secretary"), json={"title": agenda}
        )
        assert item.status_code == 201, item.text
    assert (await p.step(mid, "schedule")).status_code == 200
    assert (await p.step(mid, "start", role="chair")).status_code == 200
    return mid, point_ids


async def _point_name(p: Province, point_id: int) -> str:
    response = await p.client.get(f"/api/points/{point_id}", headers=p.auth("admin"))
    name: str = response.json()["name"]
    return name


def _watch_messages(page: Page) -> Page:
    """Collect the catalogue's complaints (a key the page asked for and neither language has)."""
    missing: list[str] = []
    page.on("console", lambda m: missing.append(m.text) if "missing message" in m.text else None)
    page.missing = missing  # type: ignore[attr-defined]
    return page


def _no_problems(page: Page) -> None:
    errors, missing = page.errors, page.missing  # type: ignore[attr-defined]
    assert errors == [] and missing == [], (errors, missing)


async def _kiosk(
    p: Province,
    browser: Any,
    mid: int,
    point_id: int,
    viewport: dict[str, int] = DESK,
    **options: Any,
) -> Page:
    """A conference point's kiosk: the room link with its device token."""
    token = (await p.device(point_id))["Authorization"].split()[1]
    page = _watch_messages(await new_page(browser, viewport, **options))
    await page.goto(f"{base_url(p)}/meetings/{mid}/room#token={token}")
    await expect(page.locator("#connection")).to_have_text("Đã kết nối")
    return page


async def _chair(p: Province, browser: Any, mid: int) -> Page:
    page = _watch_messages(await new_page(browser, DESK))
    await page.goto(f"{base_url(p)}/meetings/{mid}/room")
    await page.get_by_label("Tên đăng nhập").fill("chair")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.locator("#connection")).to_have_text("Đã kết nối")
    return page


async def _fill_vote(chair: Page, question: str, *, secret: bool = False, seconds: int = 0) -> None:
    await chair.get_by_role("button", name="Mở biểu quyết").click()
    await chair.get_by_label("Nội dung biểu quyết").fill(question)
    if secret:
        await chair.get_by_label("Biểu quyết kín").check()
    if seconds:
        await chair.get_by_label("Thời gian (giây, để trống nếu không giới hạn)").fill(str(seconds))
    await chair.get_by_role("button", name="Bắt đầu biểu quyết").click()


def _option(page: Page, name: str) -> Any:
    return page.locator(".vote-options").get_by_role("button", name=name, exact=True)


async def _result_is(page: Page, verdict: str, counts: list[str], eligible: str, cast: str) -> None:
    await expect(page.locator(".vote-verdict")).to_have_text(verdict)
    await expect(page.locator(".vote-table td.num")).to_have_text(counts)
    await expect(page.locator(".vote-totals dd.eligible")).to_have_text(eligible)
    await expect(page.locator(".vote-totals dd.cast")).to_have_text(cast)


async def test_points_vote_with_the_big_buttons_and_everyone_sees_the_result(
    live_province: Province, browser: Any, artifacts: Path
) -> None:
    p = live_province
    mid, (point_a, point_b) = await _meeting(p, 2, agenda="Dự toán ngân sách năm 2027")
    name_a, name_b = await _point_name(p, point_a), await _point_name(p, point_b)
    chair = await _chair(p, browser, mid)
    kiosk_a = await _kiosk(p, browser, mid, point_a)
    kiosk_b = await _kiosk(p, browser, mid, point_b)
    pages = (chair, kiosk_a, kiosk_b)
    try:
        await chair.get_by_label("Nội dung đang thảo luận").select_option(
            label="1. Dự toán ngân sách năm 2027"
        )
        await expect(kiosk_a.locator("#vote-card")).to_be_hidden()  # nothing to vote on yet

        # The chair's form: the usual three options, the current agenda item.
        await chair.get_by_role("button", name="Mở biểu quyết").click()
        for n, option in enumerate(("Tán thành", "Không tán thành", "Không biểu quyết"), 1):
            await expect(chair.get_by_label(f"Phương án {n}", exact=True)).to_have_value(option)
        rule = chair.get_by_label("Điều kiện thông qua")
        await expect(rule).to_have_value("majority_of_eligible")
        await expect(chair.locator("#vote-agenda")).to_have_text(
            "Thuộc nội dung: Dự toán ngân sách năm 2027"
        )
        await chair.get_by_label("Nội dung biểu quyết").fill(QUESTION)
        await chair.locator("#vote-card").screenshot(path=artifacts / "room-vote-form.png")
        await audit(chair, "the form to open a vote")
        await chair.get_by_role("button", name="Bắt đầu biểu quyết").click()

        # Both points get the panel at once, with one large button per option.
        for kiosk in (kiosk_a, kiosk_b):
            await expect(kiosk.locator("#vote-card .vote-question")).to_have_text(QUESTION)
            await expect(kiosk.locator("#vote-card")).to_contain_text("Mỗi điểm cầu một phiếu")
            await expect(kiosk.locator("button.vote-option")).to_have_count(3)
        for button in await kiosk_a.locator("button.vote-option").all():
            box = await button.bounding_box()
            assert box is not None and box["height"] >= 64, box
        await expect(_option(kiosk_a, "Tán thành")).to_have_attribute("aria-pressed", "false")

        progress = chair.locator(".vote-progress-text")
        waiting = chair.locator(".vote-list.waiting")
        voted = chair.locator(".vote-list.voted")
        await expect(progress).to_have_text("Đã biểu quyết 0/2")
        await expect(waiting).to_contain_text(name_a)
        await expect(waiting).to_contain_text(name_b)

        # Point A agrees: its button is marked, the chair's count moves.
        await _option(kiosk_a, "Tán thành").click()
        await expect(_option(kiosk_a, "Tán thành")).to_have_attribute("aria-pressed", "true")
        await expect(kiosk_a.locator(".vote-status")).to_have_text(
            "Bạn đã chọn: Tán thành. Có thể đổi cho đến khi kết thúc biểu quyết."
        )
        await expect(progress).to_have_text("Đã biểu quyết 1/2")
        await expect(voted).to_contain_text(name_a)
        await expect(waiting).not_to_contain_text(name_a)
        await expect(waiting).to_contain_text(name_b)

        # Point B is against, then changes its mind.
        await _option(kiosk_b, "Không tán thành").click()
        await expect(_option(kiosk_b, "Không tán thành")).to_have_attribute("aria-pressed", "true")
        await expect(progress).to_have_text("Đã biểu quyết 2/2")
        await expect(waiting).to_contain_text("Chưa biểu quyết (0)")
        await _option(kiosk_b, "Tán thành").click()
        await expect(_option(kiosk_b, "Tán thành")).to_have_attribute("aria-pressed", "true")
        await expect(_option(kiosk_b, "Không tán thành")).to_have_attribute("aria-pressed", "false")
        await expect(progress).to_have_text("Đã biểu quyết 2/2")  # changed, not counted twice

        await kiosk_b.screenshot(path=artifacts / "room-vote-point.png")
        await chair.screenshot(path=artifacts / "room-vote-chair.png", full_page=True)
        await audit(kiosk_b, "voting panel")
        await audit(chair, "voting panel (chair)")
        for page in pages:
            await fits_width(page)

        # The chair ends it; the chair and both points see the same result.
        await chair.get_by_role("button", name="Kết thúc biểu quyết").click()
        for page in pages:
            await _result_is(page, "THÔNG QUA", ["2", "0", "0"], eligible="2", cast="2")
            await expect(page.locator(".vote-result")).to_contain_text(QUESTION)
            await expect(page.locator(".vote-totals")).to_contain_text(
                "Quá nửa tổng số được biểu quyết"
            )
            await expect(page.locator(".vote-totals dd.not-voted")).to_have_text("0")
            await expect(page.locator(".vote-table tbody tr").first).to_contain_text("100%")
            await expect(page.locator("button.vote-option")).to_have_count(0)
        await expect(kiosk_a.locator(".vote-result")).to_contain_text(
            "Thuộc nội dung: Dự toán ngân sách năm 2027"
        )
        await kiosk_a.screenshot(path=artifacts / "room-vote-result-point.png")
        await audit(kiosk_a, "vote result")
        await fits_width(kiosk_a)

        # In English on request.
        await chair.get_by_role("button", name="English").click()
        await expect(chair.locator(".vote-verdict")).to_have_text("PASSED")
        await expect(chair.locator(".vote-totals")).to_contain_text(
            "More than half of all eligible"
        )
        for page in pages:
            _no_problems(page)
    finally:
        for page in pages:
            await page.context.close()


async def test_a_secret_ballot_is_changed_after_a_reload_and_counted_once(
    live_province: Province, browser: Any, artifacts: Path
) -> None:
    p = live_province
    mid, (point_a, point_b) = await _meeting(p, 2)
    chair = await _chair(p, browser, mid)
    kiosk_a = await _kiosk(p, browser, mid, point_a)
    kiosk_b = await _kiosk(p, browser, mid, point_b)
    pages = (chair, kiosk_a, kiosk_b)
    try:
        await _fill_vote(chair, "Bầu trưởng ban (bỏ phiếu kín)?", secret=True)
        await expect(kiosk_a.locator("#vote-card")).to_contain_text("Biểu quyết kín")
        await _option(kiosk_a, "Tán thành").click()
        await expect(_option(kiosk_a, "Tán thành")).to_have_attribute("aria-pressed", "true")
        stored = await kiosk_a.evaluate(f"sessionStorage.getItem('hoinghi.ballot.{mid}.1')")
        assert re.fullmatch(r'\{"ballot":"[0-9a-f]{32}","option":0\}', stored), stored

        # A reload keeps the ballot's key in this tab: the kiosk still shows its choice and
        # can change it.
        await kiosk_a.reload()
        await expect(kiosk_a.locator("#connection")).to_have_text("Đã kết nối")
        await expect(_option(kiosk_a, "Tán thành")).to_have_attribute("aria-pressed", "true")
        await _option(kiosk_a, "Không tán thành").click()
        await expect(_option(kiosk_a, "Không tán thành")).to_have_attribute("aria-pressed", "true")
        await expect(_option(kiosk_a, "Tán thành")).to_have_attribute("aria-pressed", "false")
        await expect(kiosk_a.locator(".vote-error")).to_have_text("")

        await _option(kiosk_b, "Tán thành").click()
        await expect(chair.locator(".vote-progress-text")).to_have_text("Đã biểu quyết 2/2")
        # The chair sees how many, not who: a secret ballot shows counts only.
        await expect(chair.locator(".vote-watch")).to_contain_text(
            "Biểu quyết kín: chỉ hiện số đã biểu quyết, không hiện tên."
        )
        await expect(chair.locator(".vote-lists")).to_have_count(0)

        # Point B drops off; the chair ends the vote; B comes back and catches up.
        await kiosk_b.evaluate(
            """() => {
              const room = window.hoinghiRoom;
              const connect = room.connect.bind(room);
              room.connect = () => {
                window.reconnectNow = () => { room.connect = connect; connect(); };
              };
              room.ws.close(4000);
            }"""
        )
        await expect(kiosk_b.locator("#connection")).to_have_text("Mất kết nối — đang kết nối lại…")
        await chair.get_by_role("button", name="Kết thúc biểu quyết").click()
        # One agrees, one (after changing) does not: 1 of 2 is not more than half.
        await _result_is(chair, "KHÔNG THÔNG QUA", ["1", "1", "0"], eligible="2", cast="2")
        await wait_until(kiosk_b, "typeof window.reconnectNow === 'function'")
        await kiosk_b.evaluate("window.reconnectNow()")
        await expect(kiosk_b.locator("#connection")).to_have_text("Đã kết nối")
        for page in (kiosk_a, kiosk_b):
            await _result_is(page, "KHÔNG THÔNG QUA", ["1", "1", "0"], eligible="2", cast="2")
            await expect(page.locator(".vote-result")).to_contain_text(
                "Biểu quyết kín: chỉ công bố số phiếu."
            )
        await expect(chair.locator(".vote-result")).not_to_contain_text("Không bỏ phiếu:")
        assert await kiosk_a.evaluate(f"sessionStorage.getItem('hoinghi.ballot.{mid}.1')") is None
        await kiosk_a.screenshot(path=artifacts / "room-vote-secret-result.png")

        # The result stays on a page reloaded after the vote (kept in the tab).
        await kiosk_a.reload()
        await expect(kiosk_a.locator("#connection")).to_have_text("Đã kết nối")
        await expect(kiosk_a.locator(".vote-verdict")).to_have_text("KHÔNG THÔNG QUA")
        # A page opened afresh afterwards (another device) shows it from the room's snapshot.
        newcomer = await _chair(p, browser, mid)
        pages = (*pages, newcomer)
        await _result_is(newcomer, "KHÔNG THÔNG QUA", ["1", "1", "0"], eligible="2", cast="2")
        for page in pages:
            _no_problems(page)
    finally:
        for page in pages:
            await page.context.close()


async def test_a_tablet_votes_by_touch_and_a_late_point_may_not_vote(
    live_province: Province, browser: Any, artifacts: Path
) -> None:
    p = live_province
    # This meeting decides by the ballots cast: the chair's form proposes that rule.
    mid, (point_a, point_b) = await _meeting(p, 2, vote_rule="majority_of_cast")
    chair = await _chair(p, browser, mid)
    pages = [chair]
    try:
        # A question is needed; with no point in the room yet the server refuses, and the
        # form says why in words.
        await chair.get_by_role("button", name="Mở biểu quyết").click()
        await expect(chair.get_by_label("Điều kiện thông qua")).to_have_value("majority_of_cast")
        await chair.get_by_role("button", name="Bắt đầu biểu quyết").click()
        await expect(chair.locator("#vote-form-error")).to_have_text(
            "Hãy nhập nội dung biểu quyết."
        )
        await chair.get_by_label("Nội dung biểu quyết").fill("Thông qua chương trình kỳ họp?")
        await chair.get_by_role("button", name="Bắt đầu biểu quyết").click()
        await expect(chair.locator("#vote-form-error")).to_have_text(
            "Chưa có ai được biểu quyết: không có điểm cầu (hoặc đại biểu) nào trong phòng."
        )
        await chair.get_by_role("button", name="Hủy", exact=True).click()

        tablet = await _kiosk(p, browser, mid, point_a, TABLET, has_touch=True, is_mobile=True)
        pages.append(tablet)
        await _fill_vote(chair, "Thông qua chương trình kỳ họp?", seconds=20)
        countdown = tablet.locator(".vote-countdown")
        await expect(countdown).to_have_text(re.compile(r"Còn 0:(1\d|20)"))
        await expect(countdown).not_to_have_text(await countdown.text_content() or "")  # ticks
        agree = _option(tablet, "Tán thành")
        box = await agree.bounding_box()
        assert box is not None and box["height"] >= 64 and box["width"] >= 600, box  # full width
        await agree.tap()
        await expect(agree).to_have_attribute("aria-pressed", "true")
        await _option(tablet, "Không biểu quyết").tap()
        await expect(_option(tablet, "Không biểu quyết")).to_have_attribute("aria-pressed", "true")
        await agree.tap()
        await expect(agree).to_have_attribute("aria-pressed", "true")
        await fits_width(tablet)
        await tablet.screenshot(path=artifacts / "room-vote-tablet.png", full_page=True)

        # Point B arrives after the vote began: told so, no buttons.
        late = await _kiosk(p, browser, mid, point_b)
        pages.append(late)
        await expect(late.locator(".vote-ineligible")).to_have_text(
            "Bạn vào phòng sau khi bắt đầu biểu quyết nên không biểu quyết lần này"
            " (chỉ những ai có mặt lúc bắt đầu mới được biểu quyết)."
        )
        await expect(late.locator("button.vote-option")).to_have_count(0)
        await expect(chair.locator(".vote-progress-text")).to_have_text("Đã biểu quyết 1/1")
        await late.screenshot(path=artifacts / "room-vote-late.png")

        # Time runs out: the room closes it, everyone sees why and the result.
        for page in pages:
            await expect(page.locator(".vote-verdict")).to_have_text("THÔNG QUA", timeout=25_000)
            await expect(page.locator(".vote-result")).to_contain_text("Kết thúc do hết thời gian.")
            await _result_is(page, "THÔNG QUA", ["1", "0", "0"], eligible="1", cast="1")
        await fits_width(tablet)
        await audit(tablet, "vote result on a tablet")
        await tablet.screenshot(path=artifacts / "room-vote-tablet-result.png", full_page=True)

        # One ballot per official: the points look on, the chair votes from its own page.
        await chair.get_by_role("button", name="Mở biểu quyết").click()
        await chair.get_by_label("Nội dung biểu quyết").fill("Cử thư ký kỳ họp?")
        await chair.get_by_label("Mỗi đại biểu một phiếu").check()
        # Proposed again after the first vote: the meeting's rule.
        await expect(chair.get_by_label("Điều kiện thông qua")).to_have_value("majority_of_cast")
        await chair.get_by_role("button", name="Bắt đầu biểu quyết").click()
        await expect(tablet.locator(".vote-ineligible")).to_have_text(
            "Lần biểu quyết này tính mỗi đại biểu một phiếu: điểm cầu không biểu quyết."
        )
        await _option(chair, "Tán thành").click()
        await expect(_option(chair, "Tán thành")).to_have_attribute("aria-pressed", "true")
        await expect(chair.locator(".vote-progress-text")).to_have_text("Đã biểu quyết 1/1")
        await chair.get_by_role("button", name="Kết thúc biểu quyết").click()
        for page in pages:
            await _result_is(page, "THÔNG QUA", ["1", "0", "0"], eligible="1", cast="1")
            await expect(page.locator(".vote-totals")).to_contain_text("Quá nửa số phiếu đã bỏ")
        for page in pages:
            _no_problems(page)
    finally:
        for page in pages:
            await page.context.close()
