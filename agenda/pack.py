"""The agenda pack: every document of a meeting in agenda order, in one PDF, after a cover
page that lists the agenda with the page each document starts on, with a bookmark for each
item and each document."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PdfWriter

from agenda import fonts
from agenda.watermark import open_reader

OTHER_DOCUMENTS = "Tài liệu khác"


@dataclass(frozen=True)
class PackDocument:
    title: str
    path: Path
    pages: int


@dataclass
class PackSection:
    """An agenda item (``number`` from 1) or, with ``number`` None, the other documents."""

    number: int | None
    title: str
    documents: list[PackDocument] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"{self.number}. {self.title}" if self.number is not None else self.title


def cover(meeting_title: str, when: str, sections: list[PackSection], first_page: int) -> bytes:
    """The cover pages; documents are numbered from ``first_page`` on."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    regular, bold = fonts.register()
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, pagesize=A4, pageCompression=1, initialFontName=regular)
    sheet.setTitle(meeting_title)
    width, height = A4
    margin = 56.0
    y = height - margin

    def line(text: str, font: str, size: float, indent: float = 0, right: str = "") -> None:
        nonlocal y
        if y < margin + size:
            sheet.showPage()
            y = height - margin
        sheet.setFont(font, size)
        sheet.drawString(
            margin + indent, y, _fit(text, font, size, width - 2 * margin - indent - 60)
        )
        if right:
            sheet.drawRightString(width - margin, y, right)
        y -= size * 1.6

    line("TÀI LIỆU HỌP", bold, 11)
    for part in _wrap(meeting_title, bold, 16, width - 2 * margin):
        line(part, bold, 16)
    line(when, regular, 11)
    y -= 12
    line("Chương trình", bold, 13, right="Trang")
    page = first_page
    for section in sections:
        line(section.heading, bold, 11)
        for document in section.documents:
            line(document.title, regular, 10, indent=18, right=str(page))
            page += document.pages
        if not section.documents:
            line("(không có tài liệu)", regular, 10, indent=18)
    sheet.save()
    return buffer.getvalue()


def build_pack(meeting_title: str, when: str, sections: list[PackSection], target: Path) -> int:
    """Write the pack to ``target``; returns its page count."""
    cover_pages = 1
    while True:
        front = cover(meeting_title, when, sections, cover_pages + 1)
        reader = open_reader(io.BytesIO(front))
        if len(reader.pages) == cover_pages:
            break
        cover_pages = len(reader.pages)
    writer = PdfWriter()
    writer.append(reader, import_outline=False)
    writer.add_outline_item(title="Chương trình", page_number=0)
    for section in sections:
        if not section.documents:
            continue
        parent = None
        for document in section.documents:
            start = len(writer.pages)
            writer.append(open_reader(document.path), import_outline=False)
            if parent is None:
                parent = writer.add_outline_item(title=section.heading, page_number=start)
            writer.add_outline_item(title=document.title, page_number=start, parent=parent)
    writer.add_metadata({"/Title": meeting_title, "/Producer": "hoinghi"})
    with target.open("wb") as file:
        writer.write(file)
    return len(writer.pages)


def _fit(text: str, font: str, size: float, room: float) -> str:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if stringWidth(text, font, size) <= room:
        return text
    while text and stringWidth(text + "…", font, size) > room:
        text = text[:-1]
    return text + "…"


def _wrap(text: str, font: str, size: float, room: float) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and stringWidth(candidate, font, size) > room:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else lines
