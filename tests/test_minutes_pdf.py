"""The minutes PDF on its own: Vietnamese text renders (poppler) and extracts back exactly
(pypdf), fonts are embedded, the signature boxes sit on the last page."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from agenda.minutes_pdf import Approver, render_minutes
from tests.conftest import IN_CI

CONTENT = {
    "title": "BIÊN BẢN HỌP GIAO BAN THÁNG 12",
    "meeting": {"title": "Giao ban trực tuyến", "time": "08:00 ngày 01/12/2026",
                "place": "Hội trường UBND tỉnh", "chair": "Trần Văn Hùng",
                "secretary": "Nguyễn Thị Thu Hà"},
    "attendance": {"points_present": ["Xã Tân Phú", "Phường Hòa Sơn"],
                   "points_absent": ["Đặc khu Côn Đảo"], "people": ["Lê Văn Nam"]},
    "agenda": [{"position": 1, "title": "Báo cáo kinh tế - xã hội",
                "presenter": "Sở Tài chính"}],
    "decisions": [{"title": "Thông qua dự toán ngân sách", "result": "Tán thành 180/200"}],
    "sections": [{"heading": "Kết luận",
                  "text": "Giao các sở, ngành rà soát; báo cáo trước ngày 15."}],
}  # fmt: skip
PHRASES = [
    "BIÊN BẢN HỌP GIAO BAN THÁNG 12",
    "Độc lập - Tự do - Hạnh phúc",
    "Điểm cầu vắng (1): Đặc khu Côn Đảo",
    "Giao các sở, ngành rà soát; báo cáo trước ngày 15.",
    "Tán thành 180/200",
]


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} missing: apt-get install poppler-utils"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def test_vietnamese_text_extracts_back_exactly_and_the_boxes_are_on_the_last_page() -> None:
    approvers = [Approver("Nguyễn Thị Thu Hà", "Thư ký"), Approver("Trần Văn Hùng", "Chủ trì")]
    pdf, boxes = render_minutes(CONTENT, approvers)
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for phrase in PHRASES:
        assert phrase in text, phrase
    assert len(boxes) == 2
    last = reader.pages[-1]
    width, height = float(last.mediabox.width), float(last.mediabox.height)
    for x1, y1, x2, y2 in boxes:
        assert 0 < x1 < x2 < width and 0 < y1 < y2 < height
    assert "Trần Văn Hùng" in last.extract_text()  # the name under the box


def test_poppler_renders_it_with_embedded_fonts(tmp_path: Path) -> None:
    pdf, _ = render_minutes(CONTENT, [Approver("Trần Văn Hùng", "Chủ trì")])
    source = tmp_path / "bien-ban.pdf"
    source.write_bytes(pdf)
    fonts = subprocess.run(
        [poppler("pdffonts"), str(source)], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows and all("DejaVuSans" in row[0] for row in rows)
    assert all(row[-5] == "yes" for row in rows)  # the "emb" column
    subprocess.run(
        [poppler("pdftoppm"), "-r", "60", "-f", "1", "-l", "1", "-png", str(source),
         str(tmp_path / "page")],
        check=True,
    )  # fmt: skip
    image = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    dark = sum(image.histogram()[:128])
    assert dark > 2000  # text was drawn, not boxes of missing glyphs only
    extracted = subprocess.run(
        [poppler("pdftotext"), str(source), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Điểm cầu vắng (1): Đặc khu Côn Đảo" in extracted
