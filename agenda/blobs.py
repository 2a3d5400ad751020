"""A content-addressed blob store on disk: a blob's name is the sha256 of its bytes.

Layout under the root: ``sha256/ab/abcdef...`` for blobs, ``derived/...`` for files computed
from blobs (page images), ``tmp/`` for writes in progress. Every write goes to ``tmp/`` and is
renamed into place, so a reader never sees half a file and a crash leaves only ``tmp/``
litter (cleared on open). The same bytes stored twice are kept once.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

DIGEST = re.compile(r"[0-9a-f]{64}")
CHUNK = 1024 * 1024


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class Stored:
    digest: str
    size: int
    path: Path


class Staged:
    """A file being written into the store: hashed as it is written, kept only on commit."""

    def __init__(self, store: BlobStore, path: Path, limit: int | None) -> None:
        self._store = store
        self.path = path
        self._file: BinaryIO = path.open("wb")
        self._hash = hashlib.sha256()
        self._limit = limit
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self._limit is not None and self.size > self._limit:
            raise TooLarge(self._limit)
        self._hash.update(data)
        self._file.write(data)

    def copy_from(self, source: BinaryIO) -> None:
        while chunk := source.read(CHUNK):
            self.write(chunk)

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def commit(self) -> Stored:
        self.close()
        return self._store.adopt(self.path, self._hash.hexdigest(), self.size)

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        (root / "sha256").mkdir(exist_ok=True)
        (root / "derived").mkdir(exist_ok=True)

    def clear_litter(self, older_than_s: float = 3600) -> int:
        """Remove writes a crash left behind (old enough not to be another process's
        write in progress: several servers may share the store)."""
        removed = 0
        cutoff = time.time() - older_than_s
        for leftover in self.tmp.iterdir():
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def path(self, digest: str) -> Path:
        if not DIGEST.fullmatch(digest):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return self.root / "sha256" / digest[:2] / digest

    def temp_path(self, suffix: str = "") -> Path:
        return self.tmp / f"{secrets.token_hex(12)}{suffix}"

    @contextmanager
    def staging(self, limit: int | None = None) -> Iterator[Staged]:
        """Write a new blob; it is discarded unless ``commit()`` is called inside."""
        staged = Staged(self, self.temp_path(), limit)
        try:
            yield staged
        finally:
            staged.discard()

    def put_bytes(self, data: bytes) -> Stored:
        with self.staging() as staged:
            staged.write(data)
            return staged.commit()

    def take_file(self, source: Path) -> Stored:
        """Move a finished file (a recording) into the store: hashed where it lies, then
        renamed into place, or copied when it lies on another file system."""
        digest = hashlib.sha256()
        size = 0
        with source.open("rb") as file:
            while chunk := file.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        temp = self.temp_path()
        try:
            os.replace(source, temp)
        except OSError:  # another file system: copy, then drop the original
            shutil.copyfile(source, temp)
            source.unlink()
        return self.adopt(temp, digest.hexdigest(), size)

    def adopt(self, temp: Path, digest: str, size: int) -> Stored:
        """Move a finished temp file under its digest (or drop it: already stored)."""
        final = self.path(digest)
        if final.is_file():
            temp.unlink(missing_ok=True)
        else:
            final.parent.mkdir(exist_ok=True)
            os.replace(temp, final)
        return Stored(digest, size, final)

    # Derived files: named by what they were computed from, so a name never changes meaning.

    def derived_path(self, *parts: str) -> Path:
        for part in parts:
            if not re.fullmatch(r"[0-9A-Za-z_.-]+", part) or part in (".", ".."):
                raise ValueError(f"bad derived file name part {part!r}")
        return self.root.joinpath("derived", *parts)

    def put_derived(self, data: bytes, *parts: str) -> Path:
        final = self.derived_path(*parts)
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = self.temp_path()
        with temp.open("wb") as file:
            file.write(data)
        os.replace(temp, final)
        return final

    def put_derived_file(self, source: Path, *parts: str) -> Path:
        """Move a finished temp file (from ``temp_path``) into the derived area."""
        final = self.derived_path(*parts)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, final)
        return final
