"""``hoinghi backup``: one archive of the database, the blob store, the secret key and the
built-in CA, consistent while the server keeps running (docs/backup.md).

Consistency: every table is read in one read transaction (PostgreSQL REPEATABLE READ,
SQLite a read transaction in WAL mode), so the rows are one moment of the database. The
blob store is listed after that transaction: a blob is written before the row that names
it commits and is never changed or removed, so every blob a row of the snapshot names is
already there; blobs stored since are taken too and do no harm.

Nothing is held in memory but the list of blobs: rows are streamed into one data file per
table in a spool directory beside the archive (tar needs each part's size before its
bytes), and every file is copied in chunks.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import secrets
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from server import __version__, migrate
from server.backup_format import (
    BLOB_COLUMNS,
    DIGEST,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    ArchiveError,
    BlobEntry,
    FileEntry,
    Manifest,
    TableEntry,
    blob_member,
    columns_of,
    file_member,
    kept_path,
    row_line,
    selected,
    table_member,
)
from server.db import Database
from server.models import Base
from server.settings import SECRET_KEY_FILE, Settings

ROWS_PER_BATCH = 1000
CHUNK = 1024 * 1024
GZIP_LEVEL = 6


class BackupFailed(Exception):
    """The backup cannot be made (or would not be complete); nothing was written."""


@dataclass
class _Snapshot:
    revision: str
    dialect: str
    tables: list[tuple[TableEntry, Path]] = field(default_factory=list)
    # Every digest a row names, with where (for the message if it is missing).
    named: dict[str, str] = field(default_factory=dict)
    # Recordings from before the blob store: files named by room_recordings.file.
    old_recordings: list[str] = field(default_factory=list)


def default_name(now: datetime) -> str:
    return f"hoinghi-backup-{now:%Y%m%d-%H%M%S}.tar.gz"


def is_gzip(path: Path) -> bool:
    return path.name.endswith((".gz", ".tgz"))


def make_backup(settings: Settings, out: Path, *, allow_missing_blobs: bool = False) -> Manifest:
    """Write the archive to ``out`` (gzip if its name ends in .gz or .tgz), readable only
    by its owner; it appears under that name only once complete. Runs its own event loop
    for the database (call it from a thread inside one)."""
    if out.exists():
        raise BackupFailed(f"{out} exists: choose another name")
    partial = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
    created_at = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".hoinghi-backup-") as spool_dir:
        spool = Path(spool_dir)
        snapshot = asyncio.run(_take_snapshot(settings.database_url, spool))
        store = settings.data_dir / "blobs"
        blobs = _list_blobs(store)
        files, missing_files = _copy_kept_files(settings.data_dir, snapshot.old_recordings, spool)
        present = {blob.sha256 for blob in blobs}
        missing = sorted(d for d in snapshot.named if d not in present) + missing_files
        if missing and not allow_missing_blobs:
            raise BackupFailed(_missing_message(missing, snapshot.named))
        manifest = Manifest(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            hoinghi_version=__version__,
            alembic_revision=snapshot.revision,
            created_at=created_at,
            database=snapshot.dialect,
            tables=[entry for entry, _ in snapshot.tables],
            blobs=blobs,
            files=files,
            missing_blobs=missing,
        )
        try:
            _write_archive(partial, out, manifest, snapshot, store, spool)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    return manifest


def _missing_message(missing: list[str], named: dict[str, str]) -> str:
    shown = [f"{item} ({named.get(item, 'room_recordings.file')})" for item in missing[:5]]
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    return (
        f"rows name files missing from the data directory ({len(missing)}): "
        f"{', '.join(shown)}{more}. Put them back from an earlier backup (tar -xf OLD "
        "blobs/DIGEST, then move it to DATA_DIR/blobs/sha256/XX/DIGEST), or back up "
        "anyway with --allow-missing-blobs (the manifest lists them)"
    )


# The snapshot: every table in one read transaction.


async def _take_snapshot(database_url: str, spool: Path) -> _Snapshot:
    database = Database(database_url, poolclass=NullPool)
    try:
        async with database.engine.connect() as conn:
            if not database.is_sqlite:
                conn = await conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            async with conn.begin():
                revision = await conn.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_revision()
                )
                if revision is None or revision != migrate.head_revision():
                    raise BackupFailed(
                        f"the database is at revision {revision}, this version of hoinghi "
                        f"at {migrate.head_revision()}: run `hoinghi migrate` first, or back "
                        "up with the version that matches the database"
                    )
                snapshot = _Snapshot(revision, database.engine.dialect.name)
                for table in Base.metadata.sorted_tables:
                    snapshot.tables.append(await _dump_table(conn, table, spool, snapshot))
                return snapshot
    finally:
        await database.dispose()


async def _dump_table(
    conn: AsyncConnection, table: Table, spool: Path, snapshot: _Snapshot
) -> tuple[TableEntry, Path]:
    kinds = columns_of(table)
    query = (
        select(*(selected(column) for column in table.columns))
        .order_by(*table.primary_key.columns)
        .execution_options(yield_per=ROWS_PER_BATCH)
    )
    blob_columns = BLOB_COLUMNS.get(table.name, ())
    path = spool / f"{table.name}.jsonl"
    digest = hashlib.sha256()
    rows = size = 0
    with path.open("wb") as file:
        result = await conn.stream(query)
        async for row in result.mappings():
            for column in blob_columns:
                if (value := row[column]) is not None:
                    snapshot.named.setdefault(value, f"{table.name}.{column}")
            if table.name == "room_recordings" and row["sha256"] is None:
                snapshot.old_recordings.append(row["file"])
            line = row_line(dict(row), kinds)
            digest.update(line)
            file.write(line)
            rows += 1
            size += len(line)
    entry = TableEntry(
        name=table.name, rows=rows, bytes=size, sha256=digest.hexdigest(), columns=kinds
    )
    return entry, path


# After the snapshot: the blob store, the secret key and the CA.


def _list_blobs(store: Path) -> list[BlobEntry]:
    found: list[BlobEntry] = []
    root = store / "sha256"
    if not root.is_dir():
        return found
    for folder in sorted(os.scandir(root), key=lambda e: e.name):
        if not (folder.is_dir() and re.fullmatch(r"[0-9a-f]{2}", folder.name)):
            continue
        for blob in sorted(os.scandir(folder.path), key=lambda e: e.name):
            if DIGEST.fullmatch(blob.name) and blob.name[:2] == folder.name and blob.is_file():
                found.append(BlobEntry(sha256=blob.name, size=blob.stat().st_size))
    return found


def _copy_kept_files(
    data_dir: Path, old_recordings: list[str], spool: Path
) -> tuple[list[FileEntry], list[str]]:
    """Copy the secret key, the CA's files and old recordings into the spool (so that a
    CA file replaced meanwhile cannot make the archive disagree with its manifest)."""
    wanted: list[str] = []
    if (data_dir / SECRET_KEY_FILE).is_file():
        wanted.append(SECRET_KEY_FILE)
    ca = data_dir / "ca"
    if ca.is_dir():
        for path in sorted(ca.rglob("*")):
            relative = path.relative_to(data_dir).as_posix()
            # Writes in progress (agenda/ca.py writes beside, then renames) are not kept.
            hidden = any(part.startswith(".") for part in path.relative_to(ca).parts)
            if path.is_file() and not hidden and not path.name.endswith(".tmp"):
                wanted.append(relative)
    missing = []
    for relative in dict.fromkeys(old_recordings):
        try:
            kept_path(relative)
        except ArchiveError:
            message = f"a recording names a file not under recordings/: {relative}"
            raise BackupFailed(message) from None
        if (data_dir / relative).is_file():
            wanted.append(relative)
        else:
            missing.append(relative)
    entries = []
    for relative in wanted:
        source, copy = data_dir / relative, spool / "files" / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with source.open("rb") as reader, copy.open("wb") as writer:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                writer.write(chunk)
        mode = source.stat().st_mode & 0o777
        entries.append(
            FileEntry(path=relative, size=copy.stat().st_size, sha256=digest.hexdigest(), mode=mode)
        )
    return entries, missing


# Writing the tar.


def _write_archive(
    partial: Path,
    out: Path,
    manifest: Manifest,
    snapshot: _Snapshot,
    store: Path,
    spool: Path,
) -> None:
    mtime = int(manifest.created_at.timestamp())
    # Created readable by its owner only: the archive holds the secret key and CA keys.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as raw:
        with _open_tar(out, raw) as tar:
            data = manifest.to_bytes()
            tar.addfile(_info(MANIFEST, len(data), mtime), io.BytesIO(data))
            for entry, path in snapshot.tables:
                with path.open("rb") as file:
                    tar.addfile(_info(table_member(entry.name), entry.bytes, mtime), file)
            for blob in manifest.blobs:
                _add_blob(tar, store, blob, mtime)
            for kept in manifest.files:
                with (spool / "files" / kept.path).open("rb") as file:
                    tar.addfile(_info(file_member(kept.path), kept.size, mtime), file)
        raw.flush()
        os.fsync(raw.fileno())


def _open_tar(out: Path, raw: IO[bytes]) -> tarfile.TarFile:
    pax = tarfile.PAX_FORMAT
    if is_gzip(out):
        return tarfile.open(out.name, "w:gz", raw, compresslevel=GZIP_LEVEL, format=pax)
    return tarfile.open(out.name, "w", raw, format=pax)


def _add_blob(tar: tarfile.TarFile, store: Path, blob: BlobEntry, mtime: int) -> None:
    path = store / "sha256" / blob.sha256[:2] / blob.sha256
    with path.open("rb") as file:
        hashing = _Hashing(file)
        try:
            tar.addfile(_info(blob_member(blob.sha256), blob.size, mtime), hashing)
        except OSError as exc:  # shorter than when listed: not a blob that stays as written
            raise BackupFailed(f"blob {blob.sha256} changed while it was copied: {exc}") from None
    if hashing.digest.hexdigest() != blob.sha256:
        raise BackupFailed(
            f"blob {blob.sha256} in the store is damaged (its content has another sha256): "
            f"put it back from an earlier backup (tar -xf OLD {blob_member(blob.sha256)})"
        )


class _Hashing:
    """A file read through, hashed on the way (tarfile reads the blob once)."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self.digest.update(data)
        return data


def _info(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o600
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
