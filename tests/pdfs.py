"""Real PDF files for tests: good ones with Vietnamese text, and each kind of bad one."""

from __future__ import annotations

import io
import zlib

from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from agenda import fonts


def pdf(pages: list[str] | int = 3, title: str = "Báo cáo tình hình kinh tế - xã hội") -> bytes:
    """A PDF whose pages carry the given texts (or "Trang n" on n pages), with a title."""
    texts = [f"Trang {n}" for n in range(1, pages + 1)] if isinstance(pages, int) else pages
    regular, _ = fonts.register()
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, pagesize=A4)
    sheet.setTitle(title)
    for text in texts:
        sheet.setFont(regular, 14)
        for n, line in enumerate(text.splitlines() or [""]):
            sheet.drawString(72, 760 - 20 * n, line)
        sheet.showPage()
    sheet.save()
    return buffer.getvalue()


def encrypted(password: str = "mat-khau") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(1))))
    writer.encrypt(user_password=password, owner_password="chu-so-huu", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def owner_protected() -> bytes:
    """Protected against printing and changes only: anyone can open it."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(["Văn bản có bảo vệ"]))))
    writer.encrypt(user_password="", owner_password="chu-so-huu", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated() -> bytes:
    whole = pdf(5)
    return whole[: len(whole) // 3]


def bomb(expanded_mb: int = 400) -> bytes:
    """A one-page PDF whose content stream inflates from ~0.4 MB to ``expanded_mb`` MB."""
    compressor = zlib.compressobj(9)
    block = b" " * (1024 * 1024)
    data = b"".join(compressor.compress(block) for _ in range(expanded_mb)) + compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
