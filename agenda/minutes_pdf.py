"""Minutes (biên bản) rendered to PDF: Vietnamese text in an embedded font, and at the end
a block with one signature box per approver, whose positions are returned so that the
signature fields are laid exactly over them."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from agenda import fonts

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 on the last page, in points
BOX_WIDTH, BOX_HEIGHT, LABEL_HEIGHT = 150.0, 56.0, 30.0
PER_ROW = 3


@dataclass(frozen=True)
class Approver:
    name: str
    role: str  # as printed: "Thư ký", "Chủ trì"...


def render_minutes(content: dict[str, Any], approvers: list[Approver]) -> tuple[bytes, list[Box]]:
    """The PDF, and the signature boxes (empty when there are no approvers yet)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import (
        Flowable,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    regular, bold = fonts.register()
    body = ParagraphStyle("body", fontName=regular, fontSize=11, leading=15)
    heading = ParagraphStyle("heading", parent=body, fontName=bold, fontSize=12, spaceBefore=8)
    title = ParagraphStyle("title", parent=body, fontName=bold, fontSize=15, alignment=TA_CENTER)
    centred = ParagraphStyle("centred", parent=body, alignment=TA_CENTER)
    small = ParagraphStyle("small", parent=body, fontSize=9, leading=11, alignment=TA_CENTER)

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    boxes: list[Box] = []

    class SignatureBlock(Flowable):
        """The approvers' boxes; records where they land on the page."""

        def __init__(self) -> None:
            super().__init__()
            rows = -(-len(approvers) // PER_ROW)
            self.height = rows * (BOX_HEIGHT + LABEL_HEIGHT + 10)
            self.width = PER_ROW * (BOX_WIDTH + 16)

        def wrap(self, *_: Any) -> tuple[float, float]:
            return self.width, self.height

        def draw(self) -> None:
            boxes.clear()
            canvas = self.canv
            for index, approver in enumerate(approvers):
                row, column = divmod(index, PER_ROW)
                x = column * (BOX_WIDTH + 16)
                top = self.height - row * (BOX_HEIGHT + LABEL_HEIGHT + 10)
                canvas.setFont(bold, 9)
                canvas.drawCentredString(x + BOX_WIDTH / 2, top - 11, approver.role)
                canvas.setFont(regular, 9)
                canvas.drawCentredString(x + BOX_WIDTH / 2, top - 23, approver.name)
                y = top - LABEL_HEIGHT - BOX_HEIGHT
                canvas.setStrokeColor(colors.lightgrey)
                canvas.rect(x, y, BOX_WIDTH, BOX_HEIGHT)
                ax, ay = canvas.absolutePosition(x, y)
                boxes.append((ax, ay, ax + BOX_WIDTH, ay + BOX_HEIGHT))

    story: list[Any] = [
        para("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", centred),
        para("Độc lập - Tự do - Hạnh phúc", centred),
        Spacer(1, 12),
        para(content.get("title") or "BIÊN BẢN CUỘC HỌP", title),
        Spacer(1, 8),
    ]
    meeting = content.get("meeting", {})
    for label, key in (
        ("Cuộc họp", "title"),
        ("Thời gian", "time"),
        ("Địa điểm", "place"),
        ("Chủ trì", "chair"),
        ("Thư ký", "secretary"),
    ):
        if meeting.get(key):
            story.append(para(f"{label}: {meeting[key]}"))
    attendance = content.get("attendance", {})
    if attendance:
        story.append(para("Thành phần tham dự", heading))
        present = attendance.get("points_present", [])
        absent = attendance.get("points_absent", [])
        people = attendance.get("people", [])
        story.append(para(f"Điểm cầu có mặt ({len(present)}): " + (", ".join(present) or "không")))
        if absent:
            story.append(para(f"Điểm cầu vắng ({len(absent)}): " + ", ".join(absent)))
        if people:
            story.append(para("Đại biểu: " + ", ".join(people)))
    agenda = content.get("agenda", [])
    if agenda:
        story.append(para("Chương trình", heading))
        for item in agenda:
            presenter = f" ({item['presenter']})" if item.get("presenter") else ""
            story.append(para(f"{item.get('position', '')}. {item.get('title', '')}{presenter}"))
    decisions = content.get("decisions", [])
    if decisions:
        story.append(para("Kết quả biểu quyết và quyết định", heading))
        rows = [[para("Nội dung"), para("Kết quả")]]
        rows += [[para(d.get("title", "")), para(d.get("result", ""))] for d in decisions]
        table = Table(rows, colWidths=[11 * cm, 5.5 * cm])
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("FONTNAME", (0, 0), (-1, -1), regular),
                ]
            )
        )
        story.append(table)
    for section in content.get("sections", []):
        story.append(para(section.get("heading", ""), heading))
        story.append(para(section.get("text", "")))
    if approvers:
        story.append(Spacer(1, 18))
        story.append(
            KeepTogether([para("Xác nhận của người ký", heading), Spacer(1, 4), SignatureBlock()])
        )
    else:
        story.append(Spacer(1, 18))
        story.append(para("(Dự thảo — chưa trình ký)", small))

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
        title=content.get("title") or "Biên bản",
        author="hoinghi",
        # Without it reportlab declares Helvetica on every page: a font not embedded.
        initialFontName=regular,
    )

    def footer(canvas: Any, doc: Any) -> None:
        canvas.setFont(regular, 8)
        canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, f"Trang {doc.page}")

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue(), list(boxes)
