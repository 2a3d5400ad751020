"""Fonts shipped with hoinghi (DejaVu Sans: full Vietnamese coverage, free licence),
so generated PDFs read the same on a machine with no system fonts."""

from __future__ import annotations

from functools import cache
from pathlib import Path

HERE = Path(__file__).parent
REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"


@cache
def register() -> tuple[str, str]:
    """Register the fonts with reportlab once; the names to use for regular and bold."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for name in (REGULAR, BOLD):
        pdfmetrics.registerFont(TTFont(name, str(HERE / f"{name}.ttf")))
    return REGULAR, BOLD
