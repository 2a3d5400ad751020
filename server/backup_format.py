"""The backup archive's format (docs/backup.md): its manifest, where each part lives in
the tar, and how table rows are written so that they read back the same on SQLite and
PostgreSQL.

A row is one JSON object per line, keyed by column name. Values are typed by the column's
kind, not guessed from the value: datetimes are ISO 8601 with their UTC offset, bytes are
base64, enums their stored string, and a JSON column's document is wrapped in a
one-element list, so that a stored JSON ``null`` (``[null]``) stays apart from SQL NULL
(``null``): the ORM writes both, and queries tell them apart.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    Enum,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    cast,
    null,
    type_coerce,
)

from server.db import UTCDateTime

FORMAT = "hoinghi-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# The manifest lists every blob; past this it is not one of ours.
MANIFEST_MAX_BYTES = 512 * 1024 * 1024

SHA256 = r"^[0-9a-f]{64}$"
DIGEST = re.compile(SHA256[1:-1])

# Columns that name a blob in the store (sha256). Watermarked copies
# (issued_copies.sha256) and page images are derived: made again on demand, not kept.
BLOB_COLUMNS: dict[str, tuple[str, ...]] = {
    "document_versions": ("sha256",),
    "opinion_documents": ("sha256",),
    "minutes": ("current_pdf", "final_pdf"),
    "minutes_versions": ("frozen_pdf",),
    "minutes_approvals": ("pdf_sha256",),
    "signing_sessions": ("prepared_pdf",),
    "room_recordings": ("sha256",),
}


class ArchiveError(Exception):
    """The archive is damaged, incomplete, or not a hoinghi backup."""


def table_member(name: str) -> str:
    return f"tables/{name}.jsonl"


def blob_member(digest: str) -> str:
    return f"blobs/{digest}"


def file_member(path: str) -> str:
    return f"files/{path}"


def kept_path(path: str) -> str:
    """A data-directory file the archive may hold: the secret key, the built-in CA's
    files, recordings from before the blob store. Anything else (an absolute path, ``..``,
    the database itself) is refused, so an archive cannot write outside them."""
    parts = PurePosixPath(path).parts
    if (
        not parts
        or path != str(PurePosixPath(*parts))
        or PurePosixPath(path).is_absolute()
        or any(part in ("", ".", "..") or part.startswith(".") for part in parts)
        or not (path == "secret_key" or (parts[0] in ("ca", "recordings") and len(parts) > 1))
    ):
        raise ArchiveError(f"the archive names a file it may not restore: {path!r}")
    return path


class TableEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    rows: int = Field(ge=0)
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=SHA256)
    columns: dict[str, str]  # name -> kind, in the table's order


class BlobEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=SHA256)
    size: int = Field(ge=0)


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=SHA256)
    mode: int = Field(ge=0, le=0o777)


class Manifest(BaseModel):
    """What the archive holds and the checksum of every part of it."""

    model_config = ConfigDict(extra="forbid")

    format: str
    format_version: int
    hoinghi_version: str
    alembic_revision: str
    created_at: datetime
    database: str  # the dialect it was taken from: sqlite or postgresql
    tables: list[TableEntry]
    blobs: list[BlobEntry]
    files: list[FileEntry]
    # Named by rows but absent from the store when the backup was taken (only with
    # `hoinghi backup --allow-missing-blobs`).
    missing_blobs: list[str] = Field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)

    @property
    def blob_bytes(self) -> int:
        return sum(blob.size for blob in self.blobs)

    def to_bytes(self) -> bytes:
        return (self.model_dump_json(indent=1) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ArchiveError(f"{MANIFEST} is not JSON: {exc}") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ArchiveError("not a hoinghi backup (its manifest names no hoinghi format)")
        if raw.get("format_version") != FORMAT_VERSION:
            raise ArchiveError(
                f"backup format version {raw.get('format_version')!r}; this version of "
                f"hoinghi reads version {FORMAT_VERSION}: use the version that wrote it"
            )
        try:
            manifest = cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ArchiveError(f"{MANIFEST} is malformed at {where}: {first['msg']}") from None
        for entry in manifest.files:
            kept_path(entry.path)
        return manifest


# Rows: column kinds, and values to and from the data files.


def column_kind(column: Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return "datetime"
    if isinstance(kind, Enum):  # before String: an Enum is one
        return "enum"
    if isinstance(kind, JSON):
        return "json"
    if isinstance(kind, LargeBinary):
        return "bytes"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, Integer):
        return "int"
    if isinstance(kind, Float):
        return "float"
    if isinstance(kind, String):
        return "str"
    # A new column type must be taught here, or a backup would not read back the same.
    raise TypeError(f"backup: no encoding for {column.table.name}.{column.name} ({kind!r})")


def columns_of(table: Table) -> dict[str, str]:
    return {column.name: column_kind(column) for column in table.columns}


def selected(column: Column[Any]) -> ColumnElement[Any]:
    """The column as the backup reads it: JSON as its stored text (so JSON null and SQL
    NULL differ), enums as their stored string (read as stored, not as today's enum)."""
    kind = column_kind(column)
    if kind == "json":
        return cast(column, Text).label(column.name)
    if kind == "enum":
        return type_coerce(column, String()).label(column.name)
    return column


def encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "json":
        return [json.loads(value)]
    if kind == "datetime":
        return value.isoformat()
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    return value


_PLAIN: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "enum": (str,),
    "bool": (bool,),
}


def decode(kind: str, value: Any) -> Any:
    """A value from a data file, ready to bind to its column; ValueError if it is not of
    the column's kind."""
    if value is None:
        return null() if kind == "json" else None
    if kind == "json":
        if not isinstance(value, list) or len(value) != 1:
            raise ValueError("a JSON column's value is a one-element list")
        return value[0]  # None here binds as JSON null
    if kind == "datetime":
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        if moment is None or moment.tzinfo is None:
            raise ValueError(f"not a datetime with its UTC offset: {value!r}")
        return moment
    if kind == "bytes":
        if not isinstance(value, str):
            raise ValueError("bytes are base64 text")
        return base64.b64decode(value, validate=True)
    if not isinstance(value, _PLAIN[kind]) or (kind != "bool" and isinstance(value, bool)):
        raise ValueError(f"not a {kind}: {value!r}")
    return float(value) if isinstance(value, int | float) and kind == "float" else value


def row_line(row: dict[str, Any], kinds: dict[str, str]) -> bytes:
    encoded = {name: encode(kind, row[name]) for name, kind in kinds.items()}
    return json.dumps(encoded, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def parse_row(line: bytes, kinds: dict[str, str]) -> dict[str, Any]:
    raw = json.loads(line)
    if not isinstance(raw, dict) or raw.keys() != kinds.keys():
        raise ValueError("the row's columns are not the table's")
    return {name: decode(kind, raw[name]) for name, kind in kinds.items()}
