"""Minutes in Chromium: the secretary drafts them from a meeting that was held, edits,
saves versions, compares them and submits them to an ordered chain; the secretary signs
with a signing PIN set up on the page, the chair with a key WebCrypto made in the page
(the real external flow); the final record verifies as valid, also on the verify page. A
rejection returns the minutes to the secretary with its comment; a wrong PIN is said with
the tries left; a leaked copy is traced to its recipient."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from agenda.ca import CertificateAuthority
from server.minutes.trust import create_ca
from tests import pdfs
from tests.browser.pages import TABLET, audit, base_url, fits_width, new_page, sign_in
from tests.conftest import PASSWORD, LiveServer
from tests.province import Province

PIN = "246810"
SIGNING = 60_000  # ms: a signature, its timestamp and (at the end) the archive step
DISCUSSION = "Xã Tân Phú đề nghị bổ sung kinh phí sửa đường liên xã."
CONCLUSION = "Thống nhất thông qua dự toán ngân sách năm 2027."


@pytest.fixture
def ca(live_server: LiveServer) -> CertificateAuthority:
    """The built-in CA in the live server's data directory (its trust source loads it on
    first use)."""
    return create_ca(live_server.settings, "UBND tỉnh Thử nghiệm")


async def _held_meeting(p: Province) -> int:
    mid, _ = await p.live_meeting(points=2)
    assert (await p.step(mid, "end", role="chair")).status_code == 200
    return mid


async def _minutes(p: Province, mid: int) -> dict[str, Any]:
    response = await p.client.get(f"/api/meetings/{mid}/minutes", headers=p.auth("secretary"))
    assert response.status_code == 200, response.text
    minutes: dict[str, Any] = response.json()
    return minutes


async def _verify(p: Province, pdf: bytes) -> dict[str, Any]:
    response = await p.client.post(
        "/api/verify",
        headers=p.auth("official"),
        files={"file": ("bien-ban.pdf", pdf, "application/pdf")},
    )
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


async def test_minutes_drafted_then_signed_with_a_pin_and_a_browser_key_verify_as_valid(
    live_province: Province,
    ca: CertificateAuthority,
    browser: Any,
    artifacts: Path,
    tmp_path: Path,
) -> None:
    p, base = live_province, base_url(live_province)
    secretary, chair = p.accounts["secretary"], p.accounts["chair"]
    mid = await _held_meeting(p)

    # The secretary drafts the minutes from the meeting's records.
    page = await new_page(browser)
    await sign_in(page, base, "secretary")
    await page.goto(f"{base}/meetings/{mid}")
    await page.locator("#minutes-link").click()
    await expect(page.get_by_role("heading", name="Biên bản cuộc họp")).to_be_visible()
    await expect(page.locator("#no-minutes")).to_contain_text("Cuộc họp chưa có biên bản.")
    await page.get_by_role("button", name="Lập biên bản từ dữ liệu cuộc họp").click()
    await expect(page.locator("#notice")).to_have_text("Đã lập biên bản (bản 1).")
    await expect(page.locator("#minutes-editor-title")).to_have_text(
        "Soạn biên bản — đang sửa từ bản 1"
    )
    await expect(page.locator("#minutes-status")).to_have_text("Dự thảo")
    await expect(page.get_by_label("Tiêu đề biên bản")).to_have_value(
        "BIÊN BẢN GIAO BAN TRỰC TUYẾN THÁNG 12"
    )
    facts = page.locator("#minutes-facts")
    await facts.locator("summary").click()
    await expect(facts).to_contain_text("Người dùng chair")
    await expect(facts.locator("#points-absent")).to_contain_text("Tân Phú")

    # Edit the section, add a second, move it up and back with the keyboard, add a decision.
    await page.get_by_label("Tiêu đề mục 1", exact=True).fill("Ý kiến thảo luận")
    await page.get_by_label("Nội dung mục 1", exact=True).fill(DISCUSSION)
    await page.get_by_role("button", name="Thêm mục").click()
    await expect(page.get_by_label("Tiêu đề mục 2", exact=True)).to_be_focused()
    await page.keyboard.type("Kết luận")
    await page.get_by_label("Nội dung mục 2", exact=True).fill(CONCLUSION)
    await page.get_by_role("button", name="Chuyển “Kết luận” lên").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Tiêu đề mục 1", exact=True)).to_have_value("Kết luận")
    await expect(page.get_by_role("button", name="Chuyển “Kết luận” xuống")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Tiêu đề mục 2", exact=True)).to_have_value("Kết luận")
    await page.get_by_role("button", name="Thêm kết luận").click()
    await page.get_by_label("Kết luận 1", exact=True).fill("Dự toán ngân sách năm 2027")
    await page.get_by_label("Kết quả 1", exact=True).fill("Tán thành 15/17")
    await expect(page.locator("#save-status")).to_have_text("Có thay đổi chưa lưu.")
    await page.get_by_role("button", name="Lưu thành bản mới").click()
    await expect(page.locator("#notice")).to_have_text("Đã lưu bản 2.")
    await expect(page.locator("#minutes-editor-title")).to_have_text(
        "Soạn biên bản — đang sửa từ bản 2"
    )
    await expect(page.locator("#version-list li")).to_have_count(2)
    await expect(page.get_by_label("Nội dung mục 2", exact=True)).to_have_value(CONCLUSION)

    # The difference between the two versions, and the PDF preview.
    await page.get_by_role("button", name="So sánh", exact=True).click()
    diff = page.locator("#diff")
    await expect(diff.locator(".diff-line.added", has_text=CONCLUSION)).to_have_count(1)
    await expect(diff.locator(".diff-line.removed", has_text="## Nội dung")).to_have_count(1)
    await expect(diff.locator(".diff-line.added", has_text="Tán thành 15/17")).to_have_count(1)
    preview = page.get_by_role("link", name="Xem trước PDF (bản 2)")
    href = await preview.get_attribute("href")
    assert href == f"/api/meetings/{mid}/minutes/versions/2.pdf"
    pdf = await page.request.get(f"{base}{href}")
    assert pdf.status == 200 and (await pdf.body()).startswith(b"%PDF-")
    await audit(page, "minutes editor")
    await page.screenshot(path=artifacts / "minutes-editor.png", full_page=True)

    # Submit to [secretary, chair]: the list starts with both; the chair is taken off and
    # put back with the picker, to show the order is the one chosen.
    approvers = page.locator("#approvers li")
    await expect(approvers).to_have_text(
        [re.compile("1. Người dùng secretary"), re.compile("2. Người dùng chair")]
    )
    await page.get_by_role("button", name="Xóa “Người dùng chair”").click()
    await expect(approvers).to_have_count(1)
    await page.get_by_label("Thêm người ký").select_option(str(chair.id))
    await page.get_by_role("button", name="Thêm vào danh sách").click()
    await expect(approvers.nth(1)).to_contain_text("2. Người dùng chair")
    await page.get_by_role("button", name="Trình ký bản 2").click()
    await expect(page.locator("#notice")).to_have_text("Đã trình ký bản 2 cho 2 người.")
    await expect(page.locator("#minutes-status")).to_have_text("Đang trình ký")
    await expect(page.locator("#chain-summary")).to_have_text("Đến lượt bạn ký (0/2 đã ký).")
    await expect(page.locator(".chain-step")).to_have_count(2)
    await expect(page.locator(".chain-step").nth(0)).to_have_attribute("data-state", "next")
    assert (await _minutes(p, mid))["approvers"] == [
        {"id": secretary.id, "name": "Người dùng secretary", "signed": False},
        {"id": chair.id, "name": "Người dùng chair", "signed": False},
    ]

    # The secretary signs first: sets a signing PIN on the page, mistypes it once.
    await page.get_by_role("link", name="Xem và ký biên bản").click()
    await expect(page.get_by_role("heading", name="Ký duyệt: bước 1/2, bản 2")).to_be_visible()
    await expect(page.locator('#minutes-pages img[data-page="1"]')).to_be_visible()
    await expect(page.locator("#pages-status")).to_have_text(re.compile(r"Biên bản có \d+ trang\."))
    pin_box = page.locator("#sign-pin")
    await expect(pin_box).to_contain_text("Bạn chưa có chứng thư ký số giữ trên máy chủ.")
    await pin_box.get_by_label("Mã PIN ký số mới").fill(PIN)
    await pin_box.get_by_label("Nhập lại mã PIN").fill("135790")
    await pin_box.get_by_role("button", name="Đặt mã PIN và nhận chứng thư").click()
    await expect(pin_box.locator(".form-status")).to_have_text("Hai lần nhập mã PIN không khớp.")
    await pin_box.get_by_label("Nhập lại mã PIN").fill(PIN)
    await pin_box.get_by_label("Mật khẩu đăng nhập (để xác nhận)").fill(PASSWORD)
    await pin_box.get_by_role("button", name="Đặt mã PIN và nhận chứng thư").click()
    await expect(page.locator("#notice")).to_have_text("Đã đặt mã PIN và cấp chứng thư số.")
    await expect(pin_box.get_by_label("Mã PIN ký số")).to_be_focused()
    await page.keyboard.type("000000")
    await page.keyboard.press("Enter")
    wrong = "Sai mã PIN ký số. Còn 4 lần thử trước khi khóa ký bị khóa."
    await expect(page.locator("#sign-status")).to_have_text(wrong, timeout=SIGNING)
    await expect(page.locator("#notice")).to_have_text(wrong)
    await expect(pin_box.get_by_label("Mã PIN ký số")).to_be_focused()
    await page.screenshot(path=artifacts / "approval-wrong-pin.png", full_page=True)
    await page.keyboard.type(PIN)
    await page.keyboard.press("Enter")
    await expect(page.locator("#notice")).to_have_text("Đã ký biên bản (1/2).", timeout=SIGNING)
    await expect(page.locator("#why-not")).to_have_text("Bạn đã ký biên bản này rồi.")
    await expect(page.locator("#chain-summary")).to_have_text(
        "1/2 đã ký; đang chờ Người dùng chair."
    )
    assert page.errors == []  # type: ignore[attr-defined]

    # The chair, on a tablet held upright, signs with a key WebCrypto makes in the page.
    tablet = await new_page(browser, TABLET)
    await sign_in(tablet, base, "chair")
    await tablet.goto(f"{base}/meetings/{mid}?view=approval")
    await expect(tablet.get_by_role("heading", name="Ký duyệt: bước 2/2, bản 2")).to_be_visible()
    await expect(tablet.locator(".chain-step").nth(0)).to_have_attribute("data-state", "signed")
    await expect(tablet.locator(".chain-step").nth(0)).to_contain_text("bằng mã PIN")
    await expect(tablet.locator("#pages-status")).to_have_text(
        re.compile(r"Biên bản có \d+ trang\.")
    )
    image = tablet.locator('#minutes-pages img[data-page="1"]')
    assert await image.evaluate("img => img.naturalWidth") > 0
    await expect(tablet.locator("#browser-key-hint")).to_contain_text("Lần đầu")
    await fits_width(tablet)
    await audit(tablet, "approval")
    await tablet.screenshot(path=artifacts / "approval-tablet.png", full_page=True)
    await (
        tablet.locator("#sign-key").get_by_label("Mật khẩu đăng nhập (để xác nhận)").fill(PASSWORD)
    )
    await tablet.get_by_role("button", name="Ký duyệt bằng khóa của trình duyệt").click()
    await expect(tablet.locator("#notice")).to_have_text(
        "Đã ký. Biên bản đã đủ chữ ký và hoàn tất.", timeout=SIGNING
    )
    await expect(tablet.locator("#minutes-status")).to_have_text("Đã ký xong")
    await expect(tablet.locator("#why-not")).to_have_text("Biên bản đã đủ chữ ký và hoàn tất.")
    await expect(tablet.get_by_role("link", name="Tải biên bản đã ký (PDF)")).to_be_visible()
    # The key stayed in the browser: non-extractable, P-256, kept with its certificate.
    kept = await tablet.evaluate(
        """async (userId) => {
        const db = await new Promise((ok, ko) => {
            const r = indexedDB.open("hoinghi-signing");
            r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error);
        });
        const record = await new Promise((ok) => {
            const r = db.transaction("keys").objectStore("keys").get(String(userId));
            r.onsuccess = () => ok(r.result);
        });
        return { extractable: record.privateKey.extractable,
                 curve: record.privateKey.algorithm.namedCurve,
                 certificate: record.certificateId };
    }""",
        chair.id,
    )
    assert kept["extractable"] is False and kept["curve"] == "P-256"
    certificates = await p.client.get(f"/api/users/{chair.id}/certificates", headers=chair.auth)
    assert [(c["id"], c["server_held"]) for c in certificates.json()] == [
        (kept["certificate"], False)
    ]
    await fits_width(tablet)
    assert tablet.errors == []  # type: ignore[attr-defined]
    await tablet.context.close()

    # The record: two approvals, one with the PIN, one external; valid everywhere.
    state = await _minutes(p, mid)
    assert state["status"] == "final"
    assert [s["method"] for s in state["steps"]] == ["server_key", "external"]
    record = await p.client.get(state["document_url"], headers=chair.auth)
    assert record.status_code == 200
    (artifacts / "minutes-signed.pdf").write_bytes(record.content)
    report = await _verify(p, record.content)
    assert report["overall"] == "valid"
    signers = [s["signer"] for s in report["signatures"] if s["kind"] == "signature"]
    assert signers == ["Người dùng secretary", "Người dùng chair"]

    # The verify page says the same, signature by signature, in the reader's language.
    await page.get_by_role("navigation").get_by_role("link", name="Kiểm tra chữ ký").click()
    await expect(page.get_by_role("heading", name="Kiểm tra chữ ký số")).to_be_visible()
    await page.get_by_label("Tệp PDF cần kiểm tra").set_input_files(
        files=[{"name": "bien-ban.pdf", "mimeType": "application/pdf", "buffer": record.content}]
    )
    await page.get_by_role("button", name="Kiểm tra", exact=True).click()
    count = len(report["signatures"])
    stamps = count - len(signers)
    assert stamps >= 1  # the archive's document timestamp (B-LTA)
    await expect(page.locator("#verify-overall")).to_have_text(
        f"Tất cả 2 chữ ký và {stamps} dấu thời gian lưu trữ đều hợp lệ."
    )
    cards = page.locator("#signatures li.signature")
    await expect(cards).to_have_count(count)
    await expect(page.locator('#signatures li[data-verdict="valid"]')).to_have_count(count)
    first = cards.nth(0)
    await expect(first.locator("h3")).to_have_text("Chữ ký 1: Người dùng secretary")
    await expect(first.locator(".verdict")).to_contain_text(report["signatures"][0]["verdict_vi"])
    await expect(first).to_contain_text("Chứng thư đáng tin cậy")
    await expect(cards.nth(1).locator("h3")).to_have_text("Chữ ký 2: Người dùng chair")
    await audit(page, "verify")
    await page.screenshot(path=artifacts / "verify-valid.png", full_page=True)
    await page.locator("#lang").click()
    await expect(page.locator("#verify-overall")).to_have_text(
        f"All 2 signatures and {stamps} archive timestamps are valid."
    )
    await expect(first.locator(".verdict")).to_contain_text(report["signatures"][0]["verdict_en"])
    assert page.errors == []  # type: ignore[attr-defined]
    await page.context.close()


async def test_a_rejection_returns_the_minutes_with_its_comment_to_the_editor(
    live_province: Province, ca: CertificateAuthority, browser: Any, artifacts: Path
) -> None:
    p, base = live_province, base_url(live_province)
    chair = p.accounts["chair"]
    mid = await _held_meeting(p)
    url = f"/api/meetings/{mid}/minutes"
    assert (await p.client.post(url, headers=p.auth("secretary"), json={})).status_code == 201
    submitted = await p.client.post(
        f"{url}/submit", headers=p.auth("secretary"), json={"version": 1, "approvers": [chair.id]}
    )
    assert submitted.status_code == 200, submitted.text

    leader = await new_page(browser)
    await sign_in(leader, base, "chair")
    await leader.goto(f"{base}/meetings/{mid}?view=minutes")
    await expect(leader.locator("#chain-summary")).to_have_text("Đến lượt bạn ký (0/1 đã ký).")
    await leader.get_by_role("link", name="Xem và ký biên bản").click()
    await leader.get_by_role("button", name="Đến phần ký duyệt").click()
    await expect(leader.get_by_role("heading", name="Ký duyệt: bước 1/1, bản 1")).to_be_focused()
    await leader.get_by_role("button", name="Trả lại để sửa").click()
    await expect(leader.locator("#sign-status")).to_have_text("Hãy ghi lý do trả lại biên bản.")
    comment = "Đề nghị bổ sung ý kiến của xã Tân Phú về kinh phí sửa đường."
    await expect(leader.get_by_label("Ý kiến (lý do trả lại)")).to_be_focused()
    await leader.keyboard.type(comment)
    await leader.get_by_role("button", name="Trả lại để sửa").click()
    await expect(leader.locator("#notice")).to_have_text("Đã trả lại biên bản cho thư ký.")
    await expect(leader.locator("#minutes-status")).to_have_text("Dự thảo")
    await expect(leader.locator("#rejections")).to_contain_text(comment)
    assert leader.errors == []  # type: ignore[attr-defined]
    await leader.context.close()

    page = await new_page(browser)
    await sign_in(page, base, "secretary")
    await page.goto(f"{base}/meetings/{mid}?view=minutes")
    notice = page.locator("#rejection-notice")
    await expect(notice).to_contain_text("Bản 1 đã bị trả lại")
    await expect(notice).to_contain_text("Người dùng chair trả lại lúc")
    await expect(page.locator("#rejection-comment")).to_have_text(comment)
    await expect(notice).to_contain_text("Hãy sửa theo ý kiến, lưu thành bản mới rồi trình ký lại.")
    await expect(page.get_by_role("button", name="Trình ký bản 1")).to_be_disabled()
    await page.screenshot(path=artifacts / "minutes-rejected.png", full_page=True)
    await page.get_by_role("button", name="Thêm mục").click()
    await page.keyboard.type("Ý kiến của xã Tân Phú")
    await page.get_by_label("Nội dung mục 2", exact=True).fill(DISCUSSION)
    await page.get_by_role("button", name="Lưu thành bản mới").click()
    await expect(page.locator("#notice")).to_have_text("Đã lưu bản 2.")
    await expect(notice).to_contain_text("Đã lưu bản 2 sau khi bị trả lại: có thể trình ký lại.")
    await expect(page.get_by_role("button", name="Trình ký bản 2")).to_be_enabled()
    await page.set_viewport_size(TABLET)
    await fits_width(page)
    assert page.errors == []  # type: ignore[attr-defined]
    await page.context.close()


async def test_the_verify_page_says_unsigned_and_a_secretary_traces_a_leaked_copy(
    live_province: Province, browser: Any, artifacts: Path
) -> None:
    p, base = live_province, base_url(live_province)
    mid, points = await p.live_meeting(points=1)
    uploaded = await p.client.post(
        f"/api/meetings/{mid}/documents",
        headers=p.auth("secretary"),
        files={"file": ("bao-cao.pdf", pdfs.pdf(["Báo cáo tháng 11"]), "application/pdf")},
        data={"title": "Báo cáo tháng 11"},
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()
    copy = await p.client.get(
        f"/api/documents/{document['id']}/download", headers=await p.device(points[0])
    )
    assert copy.status_code == 200, copy.text
    point = (await p.client.get(f"/api/points/{points[0]}", headers=p.auth("admin"))).json()

    # An official checks a PDF: unsigned, and a file that is not a PDF, said in words.
    official = await new_page(browser)
    await sign_in(official, base, "official")
    await official.get_by_role("navigation").get_by_role("link", name="Kiểm tra chữ ký").click()
    await expect(official.locator("#trace-form")).to_have_count(0)
    field = official.get_by_label("Tệp PDF cần kiểm tra")
    await field.set_input_files(
        files=[{"name": "ban-sao.pdf", "mimeType": "application/pdf", "buffer": copy.content}]
    )
    await official.get_by_role("button", name="Kiểm tra", exact=True).click()
    await expect(official.locator("#verify-overall")).to_have_text("Tệp này không có chữ ký số.")
    await field.set_input_files(
        files=[{"name": "anh.pdf", "mimeType": "application/pdf", "buffer": b"GIF89a" * 40}]
    )
    await official.get_by_role("button", name="Kiểm tra", exact=True).click()
    refusal = "Tệp không phải là PDF. Chỉ nhận tài liệu định dạng PDF."
    await expect(official.locator("#verify-result")).to_have_text(refusal)
    await expect(official.locator("#notice")).to_have_text(refusal)
    assert official.errors == []  # type: ignore[attr-defined]
    await official.context.close()

    # The secretary finds whom the copy was issued to.
    page = await new_page(browser, TABLET)
    await sign_in(page, base, "secretary")
    await page.goto(f"{base}/?view=verify")
    await page.get_by_label("Tệp PDF tìm thấy").set_input_files(
        files=[{"name": "tim-thay.pdf", "mimeType": "application/pdf", "buffer": copy.content}]
    )
    await page.get_by_role("button", name="Tra cứu").click()
    await expect(page.locator("#trace-recipient")).to_contain_text(point["name"])
    await expect(page.locator("#trace-found")).to_contain_text(
        f"Tài liệu số {document['id']}, bản 1"
    )
    await fits_width(page)
    await audit(page, "verify and trace")
    await page.screenshot(path=artifacts / "trace-copy.png", full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
    await page.context.close()


async def test_a_leader_sets_a_signing_pin_and_makes_a_browser_key_on_the_signing_page(
    live_province: Province, ca: CertificateAuthority, browser: Any, artifacts: Path
) -> None:
    base = base_url(live_province)
    page = await new_page(browser, TABLET)
    await sign_in(page, base, "chair")
    await page.get_by_role("navigation").get_by_role("link", name="Chữ ký số của tôi").click()
    await expect(page.get_by_role("heading", name="Chữ ký số của tôi")).to_be_visible()
    await expect(page.locator("#certificate-list")).to_have_text("Bạn chưa có chứng thư số nào.")
    await page.get_by_label("Mã PIN ký số mới").fill("12345")
    await page.get_by_label("Nhập lại mã PIN").fill("12345")
    await page.get_by_role("button", name="Đặt mã PIN và nhận chứng thư").click()
    await expect(page.locator("#pin-setup-status")).to_have_text(
        "Mã PIN ký số cần ít nhất 6 ký tự."
    )
    await page.get_by_label("Mã PIN ký số mới").fill(PIN)
    await page.get_by_label("Nhập lại mã PIN").fill(PIN)
    await page.locator("#pin-setup").get_by_label("Mật khẩu đăng nhập (để xác nhận)").fill(PASSWORD)
    await page.get_by_label("Nhập lại mã PIN").press("Enter")
    await expect(page.locator("#notice")).to_have_text("Đã đặt mã PIN và cấp chứng thư số.")
    held = page.locator('#certificate-list li[data-kind="server"]')
    await expect(held).to_contain_text("Khóa giữ trên máy chủ, mở bằng mã PIN")
    await expect(held).to_contain_text("Người dùng chair")
    await expect(held.locator(".badge")).to_have_text("Đang dùng được")
    again = page.get_by_role("heading", name="Đặt mã PIN mới (cấp chứng thư mới)")
    await expect(again).to_be_visible()

    await page.locator("#key-password").fill(PASSWORD)
    await page.get_by_role("button", name="Tạo khóa và xin chứng thư").click()
    await expect(page.locator("#notice")).to_have_text(
        "Đã tạo khóa ký trên trình duyệt này và nhận chứng thư số."
    )
    await expect(page.locator("#certificate-list li")).to_have_count(2)
    await expect(page.locator('#certificate-list li[data-kind="external"]')).to_contain_text(
        "Khóa nằm trên trình duyệt này"
    )
    have = page.get_by_text("Trình duyệt này đã có khóa ký và chứng thư số của bạn.")
    await expect(have).to_be_visible()
    await fits_width(page)
    await audit(page, "signing")
    await page.screenshot(path=artifacts / "signing-certificates.png", full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
    await page.context.close()

    official = await new_page(browser)
    await sign_in(official, base, "official")
    nav = official.get_by_role("navigation")
    await expect(nav.get_by_role("link", name="Chữ ký số của tôi")).to_be_hidden()
    await expect(nav.get_by_role("link", name="Kiểm tra chữ ký")).to_be_visible()
    await official.context.close()
