"""Folding Vietnamese text for search: case and diacritics removed, đ -> d.

"Đảng ủy" and "dang uy" fold to the same key, so a search typed without diacritics
(common on kiosks and phones) finds the same rows, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def like_pattern(query: str) -> str:
    """A LIKE pattern matching the folded query anywhere, with LIKE's wildcards escaped."""
    escaped = fold(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
