"""Page images: a PDF page drawn by pdfium as WebP, for terminals without a PDF viewer.

Drawing runs in the paper-work processes (agenda/workers.py); pdfium is not thread-safe,
so within a process drawing is serialised by one lock.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

# Widths are rounded up to a step so the cache holds a few sizes per page, not one per
# window width a browser happens to ask for.
WIDTH_STEP = 160
MIN_WIDTH = 160
MAX_WIDTH = 2400
DEFAULT_WIDTH = 1280
THUMBNAIL_WIDTH = 160
QUALITY = 80
# Part of every cached image's name: raise it when drawing changes, old images go stale.
RENDERER = "r1"

_pdfium = threading.Lock()


def snap_width(width: int | None) -> int:
    if width is None:
        return DEFAULT_WIDTH
    width = max(MIN_WIDTH, min(MAX_WIDTH, width))
    return -(-width // WIDTH_STEP) * WIDTH_STEP


def render_page(source: Path, number: int, width: int) -> bytes:
    """Page ``number`` (from 1) of the PDF at ``source``, ``width`` pixels wide, as WebP."""
    import pypdfium2 as pdfium

    with _pdfium:
        document = pdfium.PdfDocument(source)
        # Forms on: signature appearances (the signed stamps of minutes) are drawn too.
        document.init_forms()
        try:
            page = document[number - 1]
            try:
                page_width = page.get_width()
                bitmap = page.render(scale=width / page_width, may_draw_forms=True)
                try:
                    image = bitmap.to_pil()
                finally:
                    bitmap.close()
            finally:
                page.close()
        finally:
            document.close()
    out = io.BytesIO()
    image.convert("RGB").save(out, "WEBP", quality=QUALITY, method=2)
    return out.getvalue()
