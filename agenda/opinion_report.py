"""The report of a written-opinion request (lấy ý kiến bằng văn bản) as a PDF: the
question, the count per option, every recipient's answer and comment, and who has not
answered. Vietnamese text in the embedded font, like the minutes."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from agenda import fonts


@dataclass(frozen=True)
class AnswerRow:
    name: str  # the point or the person asked
    unit: str
    option: str  # "" when not answered
    comment: str
    answered_by: str
    answered_at: str  # local time, as printed; "" when not answered


@dataclass(frozen=True)
class OpinionReport:
    title: str
    question: str
    sender: str
    sent_at: str
    deadline: str
    status: str
    options: list[str]
    counts: list[int]
    pct_of_recipients: list[float]
    recipients: int
    answered: int
    rows: list[AnswerRow]
    printed_at: str


def render_opinion_report(report: OpinionReport) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    regular, bold = fonts.register()
    body = ParagraphStyle("body", fontName=regular, fontSize=10, leading=13)
    cell = ParagraphStyle("cell", parent=body, fontSize=9, leading=11)
    head = ParagraphStyle("head", parent=cell, fontName=bold)
    heading = ParagraphStyle("heading", parent=body, fontName=bold, fontSize=12, spaceBefore=8)
    title = ParagraphStyle("title", parent=body, fontName=bold, fontSize=15, alignment=TA_CENTER)

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            # Else reportlab declares Helvetica for the cells: a font not embedded.
            ("FONTNAME", (0, 0), (-1, -1), regular),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("REPEATROWS", (0, 0), (-1, 0)),
        ]
    )
    story: list[Any] = [
        para("KẾT QUẢ LẤY Ý KIẾN BẰNG VĂN BẢN", title),
        Spacer(1, 6),
        para(report.title, ParagraphStyle("sub", parent=title, fontSize=12)),
        Spacer(1, 10),
        para(f"Nội dung xin ý kiến: {report.question}"),
        para(f"Người gửi: {report.sender} — gửi lúc {report.sent_at}"),
        para(f"Hạn trả lời: {report.deadline} — {report.status}"),
        para(
            f"Đã trả lời: {report.answered}/{report.recipients}; "
            f"chưa trả lời: {report.recipients - report.answered}"
        ),
        para("Tổng hợp", heading),
    ]
    summary = [[para("Phương án", head), para("Số ý kiến", head), para("Tỷ lệ", head)]]
    for option, n, pct in zip(report.options, report.counts, report.pct_of_recipients, strict=True):
        summary.append([para(option, cell), para(str(n), cell), para(f"{pct:g}%", cell)])
    table = Table(summary, colWidths=[12 * cm, 3 * cm, 3 * cm])
    table.setStyle(grid)
    story.append(table)

    story.append(para("Ý kiến của từng nơi", heading))
    rows = [
        [
            para(label, head)
            for label in (
                "STT",
                "Nơi được hỏi",
                "Đơn vị",
                "Ý kiến",
                "Góp ý",
                "Người trả lời",
                "Lúc",
            )
        ]
    ]
    for number, row in enumerate(report.rows, start=1):
        rows.append(
            [
                para(str(number), cell),
                para(row.name, cell),
                para(row.unit, cell),
                para(row.option or "Chưa trả lời", cell),
                para(row.comment, cell),
                para(row.answered_by, cell),
                para(row.answered_at, cell),
            ]
        )
    widths = [1.1, 5.0, 4.2, 3.2, 7.5, 3.5, 2.8]
    answers = Table(rows, colWidths=[w * cm for w in widths], repeatRows=1)
    answers.setStyle(grid)
    story.append(answers)

    buffer = io.BytesIO()
    page = landscape(A4)
    document = SimpleDocTemplate(
        buffer,
        pagesize=page,
        leftMargin=1.5 * cm,
        rightMargin=1.5 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.5 * cm,
        title=f"Kết quả lấy ý kiến: {report.title}",
        author="hoinghi",
        initialFontName=regular,
    )

    def footer(canvas: Any, doc: Any) -> None:
        canvas.setFont(regular, 8)
        canvas.drawRightString(
            page[0] - 1.5 * cm, 0.8 * cm, f"In lúc {report.printed_at} — Trang {doc.page}"
        )

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
