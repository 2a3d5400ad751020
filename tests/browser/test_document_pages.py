"""Agenda documents in Chromium: a secretary uploads with a progress bar and is told why
a file is refused, a point reads the pages with the strip, the receipts matrix shows who
has them, and in the room every point follows the presenter's page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from playwright.async_api import Page, expect

from tests import pdfs
from tests.browser.pages import TABLET, audit, base_url, fits_width, new_page, sign_in
from tests.conftest import PASSWORD
from tests.province import Province

REPORT = [
    "Báo cáo tình hình kinh tế - xã hội tháng 11",
    "Dự toán ngân sách xã năm 2027",
    "Kết luận của chủ tọa",
]


async def _kiosk(browser: Any, p: Province, point: int, path: str, **options: Any) -> Page:
    """A point's kiosk signed in with its device token (the link the admin prints)."""
    token = (await p.device(point))["Authorization"].split()[1]
    page = await new_page(browser, **options)
    await page.goto(f"{base_url(p)}{path}#token={token}")
    return page


async def _upload(p: Province, meeting_id: int, data: bytes, **fields: Any) -> dict[str, Any]:
    response = await p.client.post(
        f"/api/meetings/{meeting_id}/documents",
        headers=p.auth("secretary"),
        files={"file": ("bao-cao.pdf", data, "application/pdf")},
        data={k: str(v) for k, v in fields.items()},
    )
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


async def _image_shown(page: Page, selector: str) -> None:
    image = page.locator(selector)
    await expect(image).to_be_visible()
    await expect(image).to_have_js_property("complete", True)
    assert await image.evaluate("img => img.naturalWidth") > 0, selector


async def test_a_secretary_uploads_a_pdf_with_progress_and_is_told_why_a_file_is_refused(
    live_province: Province, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    p, base = live_province, base_url(live_province)
    mid, _ = await p.live_meeting(points=2, start=False)
    for title in ("Khai mạc", "Báo cáo tình hình tháng 11"):
        made = await p.client.post(
            f"/api/meetings/{mid}/agenda", headers=p.auth("secretary"), json={"title": title}
        )
        assert made.status_code == 201, made.text

    page = await new_page(browser)
    await sign_in(page, base, "secretary")
    await page.goto(f"{base}/meetings/{mid}")
    await page.get_by_role("link", name="Tài liệu họp").click()
    await expect(page.get_by_role("heading", name="Tài liệu cuộc họp")).to_be_visible()
    await expect(page.locator("#document-list")).to_contain_text("Cuộc họp chưa có tài liệu.")
    await audit(page, "documents")

    # Every value the bar takes is kept, to see it grow to 100%.
    await page.evaluate(
        """() => {
        window.progressSeen = [];
        const bar = document.querySelector('#upload-progress');
        new MutationObserver(() => window.progressSeen.push(Number(bar.getAttribute('value'))))
            .observe(bar, { attributes: true, attributeFilter: ['value'] });
    }"""
    )
    big = pdfs.pdf([f"{line}\nTrang {n}" for n in range(1, 41) for line in REPORT[:1]])
    await page.get_by_label("Tệp PDF").set_input_files(
        files=[{"name": "bao-cao-thang-11.pdf", "mimeType": "application/pdf", "buffer": big}]
    )
    await page.get_by_label("Tiêu đề (để trống: lấy từ tệp)").fill("Báo cáo tháng 11")
    await page.get_by_label("Thuộc nội dung chương trình").select_option(
        label="2. Báo cáo tình hình tháng 11"
    )
    await page.get_by_role("button", name="Tải lên", exact=True).click()
    await expect(page.locator("#upload-status")).to_have_text(
        "Đã tải lên “Báo cáo tháng 11” (40 trang).", timeout=30000
    )
    await expect(page.locator("#upload-progress")).to_have_attribute("value", "100")
    await expect(page.locator("#upload-percent")).to_have_text("100%")
    seen = await page.evaluate("window.progressSeen")
    assert seen[-1] == 100 and seen == sorted(seen), seen
    row = page.locator("li.document", has_text="Báo cáo tháng 11")
    await expect(row).to_contain_text("40 trang · bản 1")
    group = page.locator(".doc-group", has=row)
    await expect(group.locator("h3")).to_have_text("2. Báo cáo tình hình tháng 11")
    await page.screenshot(path=artifacts / "documents-secretary.png", full_page=True)

    # A picture renamed .pdf: refused, said in words, nothing listed.
    await page.get_by_label("Tệp PDF").set_input_files(
        files=[{"name": "anh-chup.pdf", "mimeType": "application/pdf", "buffer": b"GIF89a" * 50}]
    )
    await page.get_by_role("button", name="Tải lên", exact=True).click()
    refusal = "Tệp không phải là PDF. Chỉ nhận tài liệu định dạng PDF."
    await expect(page.locator("#notice")).to_have_text(refusal)
    await expect(page.locator("#upload-status")).to_have_text(refusal)
    await expect(page.locator("li.document")).to_have_count(1)
    await page.screenshot(path=tmp_path / "refused.png")

    # A new version, then the document moved to the other agenda item and named readers.
    await row.get_by_role("button", name="Sửa, phiên bản, quyền đọc").click()
    panel = page.locator(".edit-panel")
    await panel.get_by_label("Tệp PDF").set_input_files(
        files=[{"name": "v2.pdf", "mimeType": "application/pdf", "buffer": pdfs.pdf(REPORT)}]
    )
    await panel.get_by_role("button", name="Tải lên phiên bản mới").click()
    await expect(row).to_contain_text("3 trang · bản 2")
    await expect(page.locator("#notice")).to_have_text("Đã tải lên bản 2 của “Báo cáo tháng 11”.")
    await expect(panel.locator("ol.versions li")).to_have_count(2)
    await panel.get_by_label("Thuộc nội dung chương trình").select_option(label="1. Khai mạc")
    await panel.get_by_label("Quyền đọc").select_option(label="Chỉ người được chỉ định")
    await panel.get_by_role("button", name="Lưu", exact=True).click()
    await expect(group.locator("h3")).to_have_text("1. Khai mạc")
    await expect(row).to_contain_text("Chỉ người được chỉ định (0 người/điểm cầu được chọn)")
    readers = panel.locator("fieldset.readers")
    await readers.get_by_label("Lọc theo tên điểm cầu, đại biểu hoặc đơn vị").fill("tan phu")
    await readers.locator("input[type=checkbox]").first.check()
    await readers.get_by_role("button", name="Lưu danh sách người được đọc").click()
    await expect(row).to_contain_text("(1 người/điểm cầu được chọn)")
    # Not shared with the other point: not counted as missing it.
    await expect(page.locator("#receipts td[data-state=not_shared]")).to_have_count(1)
    await page.screenshot(path=tmp_path / "edit-panel.png", full_page=True)
    await page.set_viewport_size(TABLET)
    await fits_width(page)
    assert page.errors == []  # type: ignore[attr-defined]
    await page.context.close()


async def test_a_point_reads_the_pages_and_the_secretary_sees_it_received(
    live_province: Province, browser: Any, artifacts: Path
) -> None:
    p, base = live_province, base_url(live_province)
    mid, points = await p.live_meeting(points=2, start=False)
    document = await _upload(p, mid, pdfs.pdf(REPORT), title="Báo cáo tháng 11")
    await _upload(p, mid, pdfs.pdf(["Phụ lục"]), title="Phụ lục")
    reader, other = points

    secretary = await new_page(browser)
    await sign_in(secretary, base, "secretary")
    await secretary.goto(f"{base}/meetings/{mid}?view=documents")
    matrix = secretary.locator("#receipts-table")
    mine = matrix.locator(f'tr[data-recipient="point:{reader}"]')
    await expect(mine.locator("td.receipt").first).to_have_attribute("data-state", "none")
    await expect(secretary.locator("#receipts-summary")).to_have_text(
        "2/2 điểm cầu và đại biểu chưa nhận đủ bản mới nhất"
    )

    # The point, on a tablet held upright: its meeting, the documents, the reader.
    kiosk = await _kiosk(browser, p, reader, "/kiosk", viewport=TABLET, has_touch=True)
    await expect(kiosk.get_by_role("heading", name="Cuộc họp của tôi")).to_be_visible()
    await kiosk.goto(f"{base}/meetings/{mid}")
    await kiosk.get_by_role("link", name="Tài liệu họp").click()
    await expect(kiosk.locator("li.document")).to_have_count(2)
    await expect(kiosk.get_by_role("button", name="Tải lên", exact=True)).to_have_count(0)
    await expect(kiosk.locator("#receipts")).to_have_count(0)
    await fits_width(kiosk)
    await (
        kiosk.locator("li.document", has_text="Báo cáo tháng 11")
        .get_by_role("link", name="Đọc")
        .click()
    )
    await expect(kiosk.get_by_role("heading", name="Báo cáo tháng 11")).to_be_visible()
    await expect(kiosk.locator("#reader-page")).to_have_text("Trang 1/3")
    await _image_shown(kiosk, "#page-image")
    assert "/pages/1.webp" in (await kiosk.locator("#page-image").get_attribute("src") or "")
    strip = kiosk.get_by_role("navigation", name="Các trang của tài liệu")
    await expect(strip.locator("button.thumb")).to_have_count(3)
    for n in range(3):
        await _image_shown(kiosk, f"nav.strip button.thumb >> nth={n} >> img")
    assert "width=160" in (await strip.locator("img").first.get_attribute("src") or "")
    await expect(strip.locator('[aria-current="page"]')).to_have_attribute("data-page", "1")
    await fits_width(kiosk)
    await audit(kiosk, "reader")

    await kiosk.get_by_role("button", name="Trang sau").click()
    await expect(kiosk.locator("#reader-page")).to_have_text("Trang 2/3")
    await expect(kiosk.locator("#page-image")).to_have_attribute("data-page", "2")
    await _image_shown(kiosk, "#page-image")
    await expect(strip.locator('[aria-current="page"]')).to_have_attribute("data-page", "2")
    assert kiosk.url.endswith("page=2")
    # From the keyboard: the arrow keys turn pages; in the strip, End goes to the last.
    await kiosk.keyboard.press("ArrowRight")
    await expect(kiosk.locator("#reader-page")).to_have_text("Trang 3/3")
    await expect(kiosk.get_by_role("button", name="Trang sau")).to_be_disabled()
    await strip.locator('[aria-current="page"]').focus()
    await kiosk.keyboard.press("Home")
    await expect(kiosk.locator("#reader-page")).to_have_text("Trang 1/3")
    await strip.get_by_role("button", name="Trang 3").click()
    await expect(kiosk.locator("#page-image")).to_have_attribute("data-page", "3")
    await kiosk.screenshot(path=artifacts / "reader-tablet.png")

    # Search, without diacritics: the hit opens its page.
    await kiosk.get_by_label("Tìm trong tài liệu").fill("ngan sach")
    await kiosk.get_by_role("button", name="Tìm", exact=True).click()
    hit = kiosk.get_by_role("link", name="Báo cáo tháng 11 — trang 2")
    await expect(hit).to_be_visible()
    await hit.click()
    await expect(kiosk.locator("#reader-page")).to_have_text("Trang 2/3")
    await _image_shown(kiosk, "#page-image")

    # The point's own copy and the agenda pack download from the reader.
    async with kiosk.expect_download() as copy:
        await kiosk.get_by_role("link", name="Tải bản của tôi").click()
    saved = await (await copy.value).path()
    texts = pdfs.page_texts(await anyio.Path(saved).read_bytes())
    assert len(texts) == 3 and all("Xã Tân Phú" in text for text in texts)
    async with kiosk.expect_download() as pack:
        await kiosk.get_by_role("link", name="Tải toàn bộ tài liệu (PDF)").click()
    assert (await pack.value).suggested_filename == f"tai-lieu-hop-{mid}.pdf"

    # The secretary sees the point has received the current version; the other point,
    # which has nothing yet, comes first.
    await secretary.get_by_role("button", name="Cập nhật").click()
    first_cell = mine.locator("td.receipt").first
    await expect(first_cell).to_have_attribute("data-state", "current")
    await expect(first_cell).to_contain_text("Đã nhận")
    await expect(mine).to_have_class("complete")
    rows = matrix.locator("tbody tr")
    await expect(rows.first).to_have_attribute("data-recipient", f"point:{other}")
    await expect(rows.first).to_have_class("missing")
    await expect(rows.last).to_have_attribute("data-recipient", f"point:{reader}")
    await expect(secretary.locator("#receipts-summary")).to_have_text(
        "1/2 điểm cầu và đại biểu chưa nhận đủ bản mới nhất"
    )
    await secretary.locator("#receipts").screenshot(path=artifacts / "receipts.png")
    assert document["pages"] == 3
    assert secretary.errors == [] and kiosk.errors == []  # type: ignore[attr-defined]
    for page in (secretary, kiosk):
        await page.context.close()


async def test_every_point_in_the_room_follows_the_presenters_page(
    live_province: Province, browser: Any, artifacts: Path
) -> None:
    p, base = live_province, base_url(live_province)
    mid, points = await p.live_meeting(points=2)
    document = await _upload(p, mid, pdfs.pdf(REPORT), title="Báo cáo tháng 11")
    await _upload(p, mid, pdfs.pdf(["Phụ lục"]), title="Phụ lục")

    kiosk = await _kiosk(browser, p, points[0], f"/meetings/{mid}/room")
    await expect(kiosk.locator("#connection")).to_have_text("Đã kết nối")
    await expect(kiosk.locator("#presentation")).to_have_text("Chưa trình chiếu tài liệu")
    await expect(kiosk.locator("#present-figure")).to_be_hidden()
    await expect(kiosk.locator("#present-controls")).to_be_hidden()

    chair = await new_page(browser)
    await chair.goto(f"{base}/meetings/{mid}/room")
    await chair.get_by_label("Tên đăng nhập").fill("chair")
    await chair.get_by_label("Mật khẩu").fill(PASSWORD)
    await chair.get_by_role("button", name="Đăng nhập").click()
    await expect(chair.locator("#connection")).to_have_text("Đã kết nối")
    # The chair picks the document from the meeting's list; no number to type.
    pick = chair.get_by_label("Chọn tài liệu")
    await expect(pick.locator("option")).to_have_count(2)
    await expect(chair.get_by_label("Số tài liệu")).to_be_hidden()
    await pick.select_option(label="1. Báo cáo tháng 11 (3 trang)")
    await chair.get_by_role("button", name="Trình chiếu", exact=True).click()

    image = kiosk.locator("#present-image")
    await expect(kiosk.locator("#presentation")).to_have_text("Báo cáo tháng 11 — trang 1/3")
    await expect(image).to_have_attribute("data-page", "1")
    await _image_shown(kiosk, "#present-image")
    src = await image.get_attribute("src") or ""
    assert f"/api/documents/{document['id']}/versions/1/pages/1.webp" in src
    await _image_shown(chair, "#present-image")

    await chair.get_by_role("button", name="Trang sau").click()
    await expect(kiosk.locator("#presentation")).to_have_text("Báo cáo tháng 11 — trang 2/3")
    await expect(image).to_have_attribute("data-page", "2")
    await _image_shown(kiosk, "#present-image")
    assert "/pages/2.webp" in (await image.get_attribute("src") or "")

    # A point that joins now lands on the page being shown.
    late = await _kiosk(browser, p, points[1], f"/meetings/{mid}/room")
    await expect(late.locator("#present-image")).to_have_attribute("data-page", "2")
    await _image_shown(late, "#present-image")

    await chair.get_by_role("button", name="Trang sau").click()
    await expect(image).to_have_attribute("data-page", "3")
    await expect(late.locator("#present-image")).to_have_attribute("data-page", "3")
    await expect(chair.get_by_role("button", name="Trang sau")).to_be_disabled()
    await _image_shown(kiosk, "#present-image")
    await kiosk.screenshot(path=artifacts / "room-presenting-point.png", full_page=True)
    await chair.get_by_role("button", name="Trang trước").click()
    await expect(image).to_have_attribute("data-page", "2")

    await chair.get_by_role("button", name="Dừng trình chiếu").click()
    await expect(kiosk.locator("#presentation")).to_have_text("Chưa trình chiếu tài liệu")
    await expect(kiosk.locator("#present-figure")).to_be_hidden()
    for page in (kiosk, late, chair):
        assert page.errors == []  # type: ignore[attr-defined]
        await page.context.close()
