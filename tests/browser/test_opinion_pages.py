"""Written opinions in Chromium: the secretary sends a question with a PDF to a commune's
two points through the form; one point answers at its kiosk (by touch), the commune's
official answers for the other from a desk; the reminders show on the dashboard; the
secretary follows the count and the table, exports CSV and PDF, moves the deadline and
closes early, after which the point's page is read-only. Refusals are said in words."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from playwright.async_api import FilePayload, Page, expect
from pypdf import PdfReader

from tests import pdfs
from tests.browser.pages import TABLET, audit, base_url, fits_width, new_page, sign_in
from tests.conftest import PASSWORD
from tests.province import VN, Province

TITLE = "Lấy ý kiến dự thảo Nghị quyết phân cấp ngân sách"
QUESTION = "Xã có đồng ý với dự thảo Nghị quyết không?\nNếu không, xin nêu lý do."
DRAFT = "Dự thảo Nghị quyết phân cấp ngân sách"
CLERK = "Nguyễn Thị Văn Phòng"
POINT = "Hội trường UBND xã Tân Phú"


def _pdf(name: str, data: bytes) -> FilePayload:
    return {"name": name, "mimeType": "application/pdf", "buffer": data}


def _day(days: int) -> str:
    """A date ``days`` from today in the province, as a date input takes it."""
    return (datetime.now(VN) + timedelta(days=days)).strftime("%Y-%m-%d")


async def _kiosk(browser: Any, p: Province, point: int) -> Page:
    """A point's terminal, signed in with the kiosk link the admin prints, on a tablet."""
    token = (await p.device(point))["Authorization"].split()[1]
    page = await new_page(browser, viewport=TABLET, has_touch=True)
    await page.goto(f"{base_url(p)}/kiosk#token={token}")
    await expect(page.get_by_role("heading", name="Cuộc họp của tôi")).to_be_visible()
    return page


async def _commune_official(p: Province) -> str:
    """An official of Xã Tân Phú, who may answer for the commune's points."""
    made = await p.client.post(
        "/api/users",
        headers=p.auth("admin"),
        json={
            "username": "vanphong-tanphu",
            "full_name": CLERK,
            "unit_id": p.units["xa-tan-phu"],
            "roles": ["official"],
            "password": PASSWORD,
        },
    )
    assert made.status_code == 201, made.text
    return "vanphong-tanphu"


async def _request_id(p: Province) -> int:
    items = (await p.client.get("/api/opinions", headers=p.auth("secretary"))).json()["items"]
    assert [i["title"] for i in items] == [TITLE]
    return int(items[0]["id"])


async def _shown_whole(page: Page) -> None:
    """Nothing the page drew came out as a stringified object instead of an element."""
    assert "[object " not in await page.locator("#view").inner_text()


async def _download(page: Page, name: str, filename: str | None = None) -> bytes:
    """The file the link called ``name`` downloads (checked for its name when given)."""
    async with page.expect_download() as info:
        await page.get_by_role("link", name=name).click()
    download = await info.value
    if filename is not None:
        assert download.suggested_filename == filename
    return await anyio.Path(await download.path()).read_bytes()


async def test_a_request_is_sent_answered_by_a_point_and_its_commune_then_followed_and_closed(
    live_province: Province, browser: Any, artifacts: Path
) -> None:
    p, base = live_province, base_url(live_province)
    points = sorted(await p.point_ids("xa-tan-phu"))
    clerk_name = await _commune_official(p)

    # The secretary writes the request: question, options, deadline, a commune, a PDF.
    page = await new_page(browser)
    await sign_in(page, base, "secretary")
    await page.get_by_role("navigation").get_by_role("link", name="Lấy ý kiến").click()
    await expect(page.get_by_role("heading", name="Lấy ý kiến bằng văn bản")).to_be_visible()
    await expect(page.locator("#opinions-open")).to_contain_text("Không có yêu cầu nào.")
    await page.get_by_role("link", name="Gửi xin ý kiến").click()
    await expect(page.get_by_role("heading", name="Gửi xin ý kiến bằng văn bản")).to_be_visible()
    options = page.locator(".option-text")
    await expect(options).to_have_count(3)
    assert await options.evaluate_all("inputs => inputs.map(i => i.value)") == [
        "Đồng ý",
        "Không đồng ý",
        "Ý kiến khác",
    ]
    await audit(page, "new opinion form")
    await _shown_whole(page)
    await fits_width(page)

    await page.get_by_label("Tiêu đề").fill(TITLE)
    await page.get_by_label("Nội dung xin ý kiến").fill(QUESTION)
    await page.get_by_role("button", name="Thêm phương án").click()
    await page.get_by_label("Phương án 4", exact=True).fill("Đề nghị lùi thời hạn")
    await page.get_by_role("button", name="Bỏ phương án 4").click()
    await expect(options).to_have_count(3)
    await page.get_by_label("Ngày", exact=True).fill(_day(2))
    await page.get_by_label("Giờ", exact=True).fill("17:00")
    await page.get_by_label("Gửi tới tất cả điểm cầu của đơn vị").select_option(
        value=str(p.units["xa-tan-phu"])
    )
    await expect(page.locator("#recipients-summary")).to_have_text(
        "Đã chọn: 1 đơn vị, 0 điểm cầu, 0 người."
    )
    await page.get_by_label("Tài liệu kèm theo (PDF, chọn được nhiều tệp)").set_input_files(
        files=[_pdf("du-thao-nghi-quyet.pdf", pdfs.pdf(4, title=DRAFT))]
    )
    await expect(page.locator("#attach-list")).to_contain_text("du-thao-nghi-quyet.pdf")
    # Every value the progress bar takes is kept (the page changes without a reload).
    await page.evaluate(
        """() => {
        window.progressSeen = [];
        const bar = document.querySelector('#attach-progress');
        new MutationObserver(() => window.progressSeen.push(Number(bar.getAttribute('value'))))
            .observe(bar, { attributes: true, attributeFilter: ['value'] });
    }"""
    )
    await page.screenshot(path=artifacts / "opinion-new.png", full_page=True)
    await page.get_by_role("button", name="Gửi xin ý kiến").click()

    await expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    await expect(page.locator("#notice")).to_have_text("Đã gửi xin ý kiến tới 2 nơi.")
    seen = await page.evaluate("window.progressSeen")
    assert seen and seen[-1] == 100 and seen == sorted(seen), seen
    rid = await _request_id(p)
    assert page.url.endswith(f"/?view=opinion&id={rid}")
    await expect(page.locator("#opinion-question")).to_have_text(QUESTION)
    await expect(page.locator("#opinion-documents")).to_contain_text(DRAFT)
    await expect(page.locator("#opinion-documents")).to_contain_text("4 trang")
    await expect(page.locator("#opinion-answered")).to_have_text("Đã trả lời 0/2")
    await expect(page.locator("#opinion-recipients tbody tr")).to_have_count(2)
    await expect(page.locator("#opinion-recipients")).to_contain_text("Chưa xem")
    sent = (await p.client.get(f"/api/opinions/{rid}", headers=p.auth("secretary"))).json()
    assert sorted(r["point_id"] for r in sent["recipients"]) == points
    assert sent["options"] == ["Đồng ý", "Không đồng ý", "Ý kiến khác"]
    assert sent["question"] == QUESTION
    deadline = datetime.fromisoformat(sent["deadline"]).astimezone(VN)
    assert deadline.strftime("%Y-%m-%d %H:%M") == f"{_day(2)} 17:00"

    # The first point's kiosk: the reminder on its home page, then the answer by touch.
    kiosk = await _kiosk(browser, p, points[0])
    reminders = kiosk.locator("#opinion-reminders")
    await expect(reminders).to_contain_text("Cần trả lời ý kiến (1)")
    await expect(reminders).to_contain_text(TITLE)
    await expect(reminders.locator(".when strong")).to_have_text(re.compile(r"^còn \d+ (ngày|giờ)"))
    await audit(kiosk, "dashboard with reminders")
    await _shown_whole(kiosk)
    await fits_width(kiosk)
    await kiosk.screenshot(path=artifacts / "opinion-kiosk-dashboard.png", full_page=True)
    await reminders.get_by_role("link", name=f"Trả lời: {TITLE}").tap()
    await expect(kiosk.get_by_role("heading", name=TITLE)).to_be_visible()
    await expect(kiosk.locator("#overview")).to_have_count(0)  # a point sees no one else's
    document = await _download(kiosk, DRAFT)
    assert document.startswith(b"%PDF") and len(PdfReader(io.BytesIO(document)).pages) == 4
    choice = kiosk.get_by_role("button", name="Không đồng ý")
    await choice.tap()
    await expect(choice).to_have_attribute("aria-pressed", "true")
    await expect(kiosk.get_by_role("button", name="Đồng ý", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    await kiosk.get_by_label("Góp ý (không bắt buộc)").fill("Chưa phù hợp với xã miền núi")
    await kiosk.get_by_role("button", name="Gửi ý kiến").tap()
    await expect(kiosk.locator("#notice")).to_have_text(f"Đã gửi ý kiến của {POINT}: Không đồng ý.")
    # Changed before the deadline.
    other = kiosk.get_by_role("button", name="Ý kiến khác")
    await other.tap()
    await kiosk.get_by_label("Góp ý (không bắt buộc)").fill("Đề nghị bổ sung điều 5")
    await kiosk.get_by_role("button", name="Gửi ý kiến").tap()
    await expect(kiosk.locator("#notice")).to_have_text(f"Đã gửi ý kiến của {POINT}: Ý kiến khác.")
    await expect(kiosk.locator("#answer-status")).to_contain_text("Đã trả lời: Ý kiến khác")
    await expect(kiosk.get_by_role("button", name="Ý kiến khác")).to_have_attribute(
        "aria-pressed", "true"
    )
    await audit(kiosk, "a point answers")
    await _shown_whole(kiosk)
    await fits_width(kiosk)
    await kiosk.screenshot(path=artifacts / "opinion-point-answer.png", full_page=True)
    await kiosk.goto(f"{base}/")
    await expect(kiosk.get_by_role("heading", name="Cuộc họp của tôi")).to_be_visible()
    await expect(kiosk.locator("#opinion-reminders")).to_have_count(0)  # nothing left to answer

    # The secretary sees one answer in, and who is still missing.
    await page.reload()
    await expect(page.locator("#opinion-answered")).to_have_text("Đã trả lời 1/2")
    await page.get_by_label("Chỉ hiện nơi chưa trả lời").check()
    await expect(page.locator("#opinion-recipients tbody tr:visible")).to_have_count(1)
    await expect(page.locator("#recipients-shown")).to_have_text("Đang hiện 1/2 nơi.")
    await page.get_by_label("Chỉ hiện nơi chưa trả lời").uncheck()
    await expect(page.locator("#opinion-recipients tbody tr:visible")).to_have_count(2)

    # The commune's official, at a desk: the list with its reminder, then answers for the
    # point still missing (the page asks which of the two points).
    clerk = await new_page(browser)
    await sign_in(clerk, base, clerk_name)
    await expect(clerk.locator("#opinion-reminders")).to_contain_text(TITLE)
    await clerk.get_by_role("navigation").get_by_role("link", name="Lấy ý kiến").click()
    row = clerk.locator(f'li[data-opinion="{rid}"]')
    await expect(row).to_contain_text("Cần trả lời")
    await expect(row.locator(".opinion-reminder")).to_have_text(
        re.compile(r"^Còn \d+ giờ đến hạn trả lời$")
    )
    await audit(clerk, "opinion list of a recipient")
    await _shown_whole(clerk)
    await clerk.screenshot(path=artifacts / "opinion-list-official.png", full_page=True)
    await row.get_by_role("link", name=TITLE).click()
    chooser = clerk.get_by_role("group", name="Trả lời cho")
    await expect(chooser.get_by_role("radio")).to_have_count(2)
    missing = chooser.get_by_role("radio", name=re.compile("Chưa trả lời"))
    await expect(missing).to_be_checked()
    await expect(chooser).to_contain_text("đã trả lời: Ý kiến khác")
    await clerk.get_by_role("button", name="Đồng ý", exact=True).click()
    await clerk.get_by_label("Góp ý (không bắt buộc)").fill("Nhất trí")
    await clerk.get_by_role("button", name="Gửi ý kiến").click()
    await expect(clerk.locator("#notice")).to_contain_text("Đồng ý.")
    await expect(chooser.get_by_role("radio", name=re.compile("Chưa trả lời"))).to_have_count(0)
    # The point just answered for stays chosen, its answer shown.
    await expect(
        chooser.get_by_role("radio", name=re.compile("đã trả lời: Đồng ý"))
    ).to_be_checked()
    await expect(clerk.locator("#answer-status")).to_contain_text("Đã trả lời: Đồng ý")
    await audit(clerk, "an official answers for a point")
    await _shown_whole(clerk)
    await fits_width(clerk)
    await clerk.screenshot(path=artifacts / "opinion-official.png", full_page=True)
    await clerk.goto(f"{base}/")
    await expect(clerk.get_by_role("heading", name="Cuộc họp của tôi")).to_be_visible()
    await expect(clerk.locator("#opinion-reminders")).to_have_count(0)

    # The overview: counts with bars and percentages, and every answer in the table.
    await page.reload()
    await expect(page.locator("#opinion-answered")).to_have_text("Đã trả lời 2/2")
    count = page.locator("#opinion-count tbody")
    await expect(count.locator('tr[data-option="0"] td.count')).to_have_text("1")
    await expect(count.locator('tr[data-option="1"] td.count')).to_have_text("0")
    await expect(count.locator('tr[data-option="2"] td.count')).to_have_text("1")
    await expect(count.locator('tr[data-option="0"] td.pct')).to_have_text("50%")
    await expect(count.locator('tr[data-option="0"] td.pct-answered')).to_have_text("50%")
    width = await count.locator('tr[data-option="0"] .opinion-bar-fill').evaluate(
        "f => f.getBoundingClientRect().width / f.parentElement.getBoundingClientRect().width"
    )
    assert abs(width - 0.5) < 0.02, width
    table = page.locator("#opinion-recipients")
    by_clerk = table.locator("tr", has_text="Nhất trí")
    await expect(by_clerk).to_contain_text(CLERK)
    await expect(by_clerk).to_contain_text("Đồng ý")
    by_point = table.locator("tr", has_text="Đề nghị bổ sung điều 5")
    await expect(by_point).to_contain_text("Ý kiến khác")
    await expect(by_point).to_contain_text(POINT)
    await expect(table).not_to_contain_text("Chưa xem")
    await audit(page, "opinion overview")
    await _shown_whole(page)
    await fits_width(page)
    await page.screenshot(path=artifacts / "opinion-overview.png", full_page=True)

    # The exports are real files.
    table_file = await _download(page, "Xuất CSV (Excel)", f"y-kien-{rid}.csv")
    assert table_file.startswith("\ufeff".encode())  # Excel reads the Vietnamese right
    rows = list(csv.reader(io.StringIO(table_file.decode("utf-8-sig"))))
    assert rows[0][:5] == ["STT", "Loại", "Nơi được hỏi", "Đơn vị", "Ý kiến"]
    answers = sorted((r[4], r[5], r[6]) for r in rows[1:])
    assert answers == [
        ("Ý kiến khác", "Đề nghị bổ sung điều 5", POINT),
        ("Đồng ý", "Nhất trí", CLERK),
    ]
    report = await _download(page, "Xuất báo cáo PDF", f"y-kien-{rid}.pdf")
    text = "\n".join(pg.extract_text() for pg in PdfReader(io.BytesIO(report)).pages)
    for expected in ("KẾT QUẢ LẤY Ý KIẾN BẰNG VĂN BẢN", TITLE, "Đã trả lời: 2/2", "Nhất trí"):
        assert expected in text, expected
    assert CLERK in " ".join(text.split()), "the official's name (wrapped in its cell)"

    # A later deadline, then closed early (after a confirmation).
    await page.locator("#deadline-form").get_by_label("Ngày").fill(_day(3))
    await page.locator("#deadline-form").get_by_label("Giờ").fill("09:30")
    await page.get_by_role("button", name="Đổi hạn trả lời").click()
    await expect(page.locator("#notice")).to_contain_text("Đã đổi hạn trả lời")
    moved = (await p.client.get(f"/api/opinions/{rid}", headers=p.auth("secretary"))).json()
    new_deadline = datetime.fromisoformat(moved["deadline"]).astimezone(VN)
    assert new_deadline.strftime("%Y-%m-%d %H:%M") == f"{_day(3)} 09:30"
    await expect(page.locator("#opinion-deadline")).to_contain_text("09:30")
    asked: list[str] = []

    async def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.once("dialog", accept)
    await page.get_by_role("button", name="Kết thúc lấy ý kiến ngay").click()
    await expect(page.locator("#opinion-phase")).to_have_text("Đã kết thúc")
    assert asked and "Kết thúc lấy ý kiến" in asked[0]
    await expect(page.get_by_role("button", name="Kết thúc lấy ý kiến ngay")).to_have_count(0)
    await expect(page.get_by_role("link", name="Xuất CSV (Excel)")).to_be_visible()
    await page.get_by_role("link", name="← Danh sách lấy ý kiến").click()
    listed = page.locator(f'#opinions-closed li[data-opinion="{rid}"]')
    await expect(listed).to_contain_text("Đã trả lời 2/2")
    await expect(listed).to_contain_text("Đã kết thúc")
    await expect(listed).to_contain_text("Kết thúc sớm lúc")
    # The secretary was not asked: no "answered" badge on the office's own list.
    await expect(listed.locator(".opinion-done")).to_have_count(0)
    await audit(page, "opinion list of the office")
    await _shown_whole(page)
    await fits_width(page)
    await page.screenshot(path=artifacts / "opinion-list-secretary.png", full_page=True)

    # The point's page is now read-only: its answer, no buttons to change it.
    await kiosk.goto(f"{base}/?view=opinion&id={rid}")
    await expect(kiosk.locator("#answer-closed")).to_contain_text("Đã hết hạn.")
    await expect(kiosk.locator(".given-option")).to_have_text("Ý kiến khác")
    await expect(kiosk.get_by_role("button", name="Gửi ý kiến")).to_have_count(0)
    await expect(kiosk.locator("button.opinion-option")).to_have_count(0)
    await audit(kiosk, "a closed request")
    await _shown_whole(kiosk)
    await fits_width(kiosk)
    await kiosk.screenshot(path=artifacts / "opinion-point-closed.png", full_page=True)
    await kiosk.goto(f"{base}/?view=opinions")
    await expect(kiosk.locator("#opinions-closed")).to_contain_text(TITLE)
    await expect(kiosk.locator(f'li[data-opinion="{rid}"]')).to_contain_text("Đã trả lời")

    for each in (page, kiosk, clerk):
        assert each.errors == [], each.errors  # type: ignore[attr-defined]
        await each.context.close()


async def test_refusals_are_said_in_words(
    live_province: Province, browser: Any, artifacts: Path
) -> None:
    p, base = live_province, base_url(live_province)
    points = sorted(await p.point_ids("xa-tan-phu"))
    page = await new_page(browser, viewport=TABLET)
    await sign_in(page, base, "secretary")
    await page.goto(f"{base}/?view=new_opinion")
    await page.get_by_label("Tiêu đề").fill(TITLE)
    await page.get_by_label("Nội dung xin ý kiến").fill(QUESTION)
    problem = page.locator("#new-opinion-problem")

    # Two options the same: said before anything is sent.
    await page.get_by_label("Phương án 2", exact=True).fill("đồng ý")
    await page.get_by_role("button", name="Gửi xin ý kiến").click()
    await expect(problem).to_have_text(
        "Cần từ 2 đến 10 phương án, không để trống và không trùng nhau."
    )
    await page.get_by_label("Phương án 2", exact=True).fill("Không đồng ý")
    # Nobody asked.
    await page.get_by_role("button", name="Gửi xin ý kiến").click()
    await expect(problem).to_have_text("Hãy chọn ít nhất một đơn vị, điểm cầu hoặc người được hỏi.")

    # A single point found by search, a person by name, and a picture renamed .pdf.
    await page.get_by_label("Thêm từng điểm cầu (tìm theo tên)").fill("Tân Phú")
    await page.get_by_role("button", name=f"Thêm {POINT}").first.click()
    await page.get_by_label("Thêm người được hỏi (tìm theo họ tên hoặc tên đăng nhập)").fill(
        "official"
    )
    await page.get_by_role("button", name="Thêm Người dùng official").click()
    await expect(page.locator("#recipients-summary")).to_have_text(
        "Đã chọn: 0 đơn vị, 1 điểm cầu, 1 người."
    )
    await page.get_by_label("Tài liệu kèm theo (PDF, chọn được nhiều tệp)").set_input_files(
        files=[_pdf("anh-chup.pdf", b"GIF89a" * 50)]
    )
    await page.get_by_role("button", name="Gửi xin ý kiến").click()
    await expect(page.locator("#attach-status")).to_have_text(
        "Không tải lên được “anh-chup.pdf”: Tệp không phải là PDF. Chỉ nhận tài liệu định dạng PDF."
    )
    await expect(problem).to_contain_text("Chưa gửi tới 2 nơi được hỏi: có tài liệu")
    await fits_width(page)
    await page.get_by_role("link", name="Mở bản nháp").click()
    await expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    await expect(page.locator("#opinion-documents")).to_have_count(0)
    await expect(page.locator("#opinion-phase")).to_have_text("Bản nháp (chưa gửi)")
    rid = await _request_id(p)
    # Not sent: the person asked does not see it yet.
    hidden = await p.client.get(f"/api/opinions/{rid}", headers=p.auth("official"))
    assert hidden.status_code == 404
    # The document sent again from the request's page.
    await page.get_by_label("Tài liệu kèm theo (PDF, chọn được nhiều tệp)").set_input_files(
        files=[_pdf("du-thao.pdf", pdfs.pdf(2, title=DRAFT))]
    )
    await page.get_by_role("button", name="Tải lên tài liệu").click()
    await expect(page.locator("#notice")).to_have_text("Đã tải lên 1 tài liệu.")
    await expect(page.locator("#opinion-documents")).to_contain_text(f"{DRAFT}2 trang")
    # With its document in, the draft is sent.
    await page.get_by_role("button", name="Gửi xin ý kiến ngay").click()
    await expect(page.locator("#notice")).to_have_text("Đã gửi xin ý kiến.")
    await expect(page.locator("#opinion-phase")).to_have_text("Đang lấy ý kiến")
    shown = await p.client.get(f"/api/opinions/{rid}", headers=p.auth("official"))
    assert shown.status_code == 200 and shown.json()["documents"]
    await fits_width(page)
    await audit(page, "overview on a tablet")
    await _shown_whole(page)
    await page.screenshot(path=artifacts / "opinion-overview-tablet.png", full_page=True)

    # A person asked by name has the page open; the office closes the request meanwhile:
    # sending is refused in words and the page turns read-only.
    person = await new_page(browser)
    await sign_in(person, base, "official")
    await person.goto(f"{base}/?view=opinion&id={rid}")
    await person.get_by_role("button", name="Đồng ý", exact=True).click()
    closed = await p.client.post(f"/api/opinions/{rid}/close", headers=p.auth("secretary"))
    assert closed.status_code == 200, closed.text
    await person.get_by_role("button", name="Gửi ý kiến").click()
    await expect(person.locator("#notice")).to_have_text(
        "Yêu cầu lấy ý kiến đã kết thúc (hết hạn hoặc đã đóng): không thay đổi được nữa."
    )
    await expect(person.locator("#answer-closed")).to_contain_text("Đã hết hạn.")
    await expect(person.locator(".given-option")).to_have_text("Chưa trả lời")

    # Not asked: the request is hidden, said so.
    device = await p.device(max(await p.point_ids("phuong-hoa-son")))
    outsider_token = device["Authorization"].split()[1]
    outsider = await new_page(browser)
    await outsider.goto(f"{base}/kiosk#token={outsider_token}")
    await expect(outsider.get_by_role("heading", name="Cuộc họp của tôi")).to_be_visible()
    await outsider.goto(f"{base}/?view=opinion&id={rid}")
    await expect(outsider.locator("#notice")).to_have_text(
        "Không tìm thấy yêu cầu lấy ý kiến (hoặc yêu cầu không gửi tới bạn)."
    )
    assert points  # the commune's points were there to be asked
    for each in (page, person, outsider):
        assert each.errors == [], each.errors  # type: ignore[attr-defined]
        await each.context.close()


async def test_the_opinion_pages_speak_english(live_province: Province, browser: Any) -> None:
    p = live_province
    points = sorted(await p.point_ids("xa-tan-phu"))
    made = await p.client.post(
        "/api/opinions",
        headers=p.auth("secretary"),
        json={
            "title": TITLE,
            "question": QUESTION,
            "deadline": (datetime.now(VN) + timedelta(hours=5)).isoformat(),
            "recipients": {"point_ids": points[:1]},
        },
    )
    assert made.status_code == 201, made.text
    kiosk = await _kiosk(browser, p, points[0])
    await kiosk.get_by_role("button", name="English").click()
    await expect(kiosk.get_by_role("heading", name="Opinions to give (1)")).to_be_visible()
    await kiosk.get_by_role("navigation").get_by_role("link", name="Opinions").click()
    row = kiosk.locator("li.opinion")
    await expect(row).to_contain_text("To answer")
    await expect(row.locator(".opinion-reminder")).to_have_text(
        re.compile(r"^\d+ hours left to answer$")
    )
    await row.get_by_role("link", name=TITLE).click()
    await expect(kiosk.get_by_role("button", name="Send answer")).to_be_visible()
    assert kiosk.errors == []  # type: ignore[attr-defined]
    await kiosk.context.close()
