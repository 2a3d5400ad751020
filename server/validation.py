"""Constrained types for everything that comes from outside (bodies, queries, paths, CLI).

They keep what both databases can store: no NUL or control characters in text (PostgreSQL
refuses NUL), ids within a 32-bit INTEGER, finite numbers (JSON columns refuse NaN).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

MAX_ID = 2**31 - 1

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"[\r\n\t]")


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def no_nul(value: str) -> str:
    # Passwords are only hashed, never stored, so anything but NUL goes.
    if "\x00" in value:
        raise ValueError("must not contain NUL")
    return value


def _single_line(value: str) -> str:
    if _LINE_BREAKS.search(value):
        raise ValueError("must be a single line")
    return value


# A one-line text field: trimmed, no control characters, no line breaks.
OneLine = AfterValidator(lambda value: _single_line(_no_control_characters(value)))


def _line(min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


# Lengths match the columns they are stored in.
Name = Annotated[str, _line(1, 200), OneLine]
Title = Annotated[str, _line(1, 300), OneLine]
Place = Annotated[str, _line(0, 300), OneLine]
PersonName = Annotated[str, _line(0, 200), OneLine]
Note = Annotated[str, _line(0, 500), OneLine]
Handle = Annotated[str, _line(1, 64), OneLine]
# Multi-line text (descriptions): line breaks and tabs allowed, other control characters not.
LongText = Annotated[
    str,
    StringConstraints(max_length=20_000),
    AfterValidator(_no_control_characters),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024), AfterValidator(no_nul)]

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible_utc(moment: datetime) -> datetime:
    # Bounded first: converting year 1 or 9999 with an offset overflows, and calendars
    # cannot write such dates either.
    if not (EARLIEST <= moment <= LATEST):
        raise ValueError("must lie between 2000 and 2100")
    return moment.astimezone(UTC)


# A moment in time from outside: must carry its UTC offset; kept as UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_plausible_utc)]

DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
SearchQuery = Annotated[
    str | None,
    Query(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$", description="words to look for"),
]
FiniteNumber = Annotated[float, Field(allow_inf_nan=False)]
