"""Reading a backup archive once, front to back, checking every part against the manifest
as it is read: ``hoinghi restore --check`` only reads, restore acts on each part as it
passes. Nothing is held in memory but the manifest; tar is read as a stream, so a gzip
archive is never decompressed to disk."""

from __future__ import annotations

import gzip
import hashlib
import lzma
import tarfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO, Literal, TypeVar

from server.backup_format import (
    MANIFEST,
    MANIFEST_MAX_BYTES,
    ArchiveError,
    Manifest,
    blob_member,
    file_member,
    table_member,
)

CHUNK = 1024 * 1024
_DAMAGE = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError)
T = TypeVar("T")

Kind = Literal["table", "blob", "file"]


def _damaged(read: Callable[[], T]) -> T:
    try:
        return read()
    except _DAMAGE as exc:
        raise ArchiveError(f"the archive is damaged or cut short ({exc})") from None


class Member:
    """One part of the archive: a table's data file, a blob, or a kept file. Reading it
    checks it: when its last byte has been read, a size, checksum or row count that is not
    the manifest's raises ArchiveError (before the reader can act on a bad blob)."""

    def __init__(
        self, kind: Kind, name: str, stream: IO[bytes], sha256: str, rows: int | None
    ) -> None:
        self.kind = kind
        self.name = name  # the table's name, the blob's digest, or the file's path
        self._stream = stream
        self._sha256 = sha256
        self._rows = rows
        self._hash = hashlib.sha256()
        self._newlines = 0
        self._last = b"\n"
        self._finished = False

    @property
    def label(self) -> str:
        if self.kind == "table":
            return table_member(self.name)
        return blob_member(self.name) if self.kind == "blob" else file_member(self.name)

    def chunks(self) -> Iterator[bytes]:
        while chunk := _damaged(lambda: self._stream.read(CHUNK)):
            self._take(chunk)
            yield chunk
        self._finish()

    def lines(self) -> Iterator[bytes]:
        """The data file's rows, one line each (tables only)."""
        while line := _damaged(self._stream.readline):
            self._take(line)
            if not line.endswith(b"\n"):
                self._finish()  # the checksum says whether it was cut or changed
                raise ArchiveError(f"{self.label}: its last row is cut short")
            yield line
        self._finish()

    def _take(self, data: bytes) -> None:
        self._hash.update(data)
        self._newlines += data.count(b"\n")
        self._last = data[-1:]

    def drain(self) -> None:
        for _ in self.chunks():
            pass

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self._hash.hexdigest() != self._sha256:
            what = "its content does not match its name" if self.kind == "blob" else (
                "its checksum is not the manifest's"
            )  # fmt: skip
            raise ArchiveError(f"{self.label}: {what} (changed or damaged)")
        if self._rows is not None and (self._newlines != self._rows or self._last != b"\n"):
            raise ArchiveError(f"{self.label}: not the {self._rows} rows the manifest lists")


class Archive:
    """An archive open for one pass: ``manifest`` first, then ``members()``."""

    def __init__(self, tar: tarfile.TarFile, manifest: Manifest) -> None:
        self._tar = tar
        self.manifest = manifest

    def members(self) -> Iterator[Member]:
        """Every part in archive order, each checked; then whether any part the manifest
        lists was missing."""
        expected: dict[str, tuple[Kind, str, int, str, int | None]] = {}
        for table in self.manifest.tables:
            entry = ("table", table.name, table.bytes, table.sha256, table.rows)
            expected[table_member(table.name)] = entry  # type: ignore[assignment]
        for blob in self.manifest.blobs:
            expected[blob_member(blob.sha256)] = ("blob", blob.sha256, blob.size, blob.sha256, None)
        for kept in self.manifest.files:
            expected[file_member(kept.path)] = ("file", kept.path, kept.size, kept.sha256, None)
        seen: set[str] = set()
        while (info := _damaged(self._tar.next)) is not None:
            if info.name in seen:
                raise ArchiveError(f"{info.name} is in the archive twice")
            if info.name not in expected:
                raise ArchiveError(f"{info.name} is in the archive but not in its manifest")
            kind, name, size, sha256, rows = expected.pop(info.name)
            seen.add(info.name)
            if not info.isfile():
                raise ArchiveError(f"{info.name} is not a regular file")
            if info.size != size:
                raise ArchiveError(
                    f"{info.name}: {info.size} bytes, the manifest says {size} (changed or cut)"
                )
            stream = _damaged(partial(self._tar.extractfile, info))
            assert stream is not None  # a regular file
            member = Member(kind, name, stream, sha256, rows)
            yield member
            member.drain()
        if expected:
            names = sorted(expected)
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            raise ArchiveError(
                f"missing from the archive: {', '.join(names[:3])}{more} (cut short or edited)"
            )


@contextmanager
def open_archive(path: Path) -> Iterator[Archive]:
    """Open a backup (plain tar or compressed) and read its manifest."""
    try:
        tar = tarfile.open(path, mode="r|*")  # noqa: SIM115 (closed below; open errors named)
    except _DAMAGE as exc:
        raise ArchiveError(f"{path} is not a tar archive ({exc})") from None
    with tar:
        first = _damaged(tar.next)
        if first is None or first.name != MANIFEST or not first.isfile():
            raise ArchiveError(f"not a hoinghi backup: it does not start with {MANIFEST}")
        if first.size > MANIFEST_MAX_BYTES:
            raise ArchiveError(f"{MANIFEST} is too large to be one of ours")
        stream = _damaged(lambda: tar.extractfile(first))
        assert stream is not None
        manifest = Manifest.from_bytes(_damaged(stream.read))
        yield Archive(tar, manifest)


def check_archive(path: Path) -> Manifest:
    """Read the whole archive and check every part; ArchiveError on the first fault."""
    with open_archive(path) as archive:
        for _ in archive.members():
            pass
        return archive.manifest
