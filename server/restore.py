"""``hoinghi restore``: a backup archive into an empty database and its data directory
(docs/backup.md).

All or nothing for the database: every row goes in one transaction, committed only after
the last part of the archive has been read and checked; any fault rolls it back. Blobs
are stored as they pass (atomically, through the blob store, each checked against its
name before it is kept); should the restore fail, those already stored are unreferenced
content the store would accept anyway. The secret key and the CA's files are staged and
put in place only after the commit.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import (
    Integer,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    inspect,
    select,
    table,
    text,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from agenda.blobs import BlobStore
from server import migrate
from server.backup_format import ArchiveError, Manifest, columns_of, parse_row
from server.backup_reader import Archive, Member, open_archive
from server.db import Database
from server.models import Base
from server.settings import SECRET_KEY_FILE, Settings

ROWS_PER_INSERT = 1000


class RestoreRefused(Exception):
    """The restore would not be safe or cannot work; nothing was changed."""


class RestoreFailed(Exception):
    """The restore stopped part way; the database transaction was rolled back."""


@dataclass
class RestoreReport:
    manifest: Manifest
    migrated: bool
    kept_aside: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def restore(settings: Settings, path: Path, *, force: bool = False) -> RestoreReport:
    """Restore the archive at ``path``; with ``force``, a database that is not empty is
    emptied first (in the same transaction as the restore). Runs its own event loops for
    the database (call it from a thread inside one)."""
    url = settings.database_url
    with open_archive(path) as archive:
        manifest = archive.manifest
        _refuse_unless_compatible(manifest)
        revision, had_rows = asyncio.run(_refuse_unless_empty(url, force))
        migrated = revision != manifest.alembic_revision
        if migrated:
            migrate.upgrade(url, manifest.alembic_revision)
        staging = settings.data_dir / f".restore-{secrets.token_hex(6)}"
        staging.mkdir(mode=0o700)
        try:
            try:
                asyncio.run(_load(settings, archive, staging, wipe=bool(had_rows)))
            except (ArchiveError, SQLAlchemyError, OSError) as exc:
                state = "as it was" if had_rows else "empty"
                if migrated:
                    state = f"migrated to {manifest.alembic_revision}, {state}"
                reason = getattr(exc, "orig", None) or exc
                raise RestoreFailed(
                    f"restore failed, the database was rolled back ({state}): {reason}"
                ) from exc
            report = RestoreReport(manifest, migrated)
            _put_files_in_place(settings, staging, manifest, bool(had_rows), report)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if manifest.missing_blobs:
        report.notes.append(
            f"the archive was made without {len(manifest.missing_blobs)} files its rows name "
            f"(missing from the source already): {', '.join(manifest.missing_blobs[:3])}"
        )
    return report


def _refuse_unless_compatible(manifest: Manifest) -> None:
    head = migrate.head_revision()
    if manifest.alembic_revision != head:
        raise RestoreRefused(
            f"the archive's database is at revision {manifest.alembic_revision} (hoinghi "
            f"{manifest.hoinghi_version}), this version of hoinghi at {head}: restore with "
            f"hoinghi {manifest.hoinghi_version}, then upgrade and run `hoinghi migrate`"
        )
    ours = {name: columns_of(t) for name, t in Base.metadata.tables.items()}
    theirs = {entry.name: entry.columns for entry in manifest.tables}
    if ours != theirs:
        different = sorted(n for n in ours.keys() | theirs.keys() if ours.get(n) != theirs.get(n))
        raise RestoreRefused(
            f"the archive's tables are not this version's (at revision {head}): "
            f"{', '.join(different[:5])} differ"
        )


async def _refuse_unless_empty(url: str, force: bool) -> tuple[str | None, dict[str, int]]:
    """The database's revision and the rows in its tables (before any migration); refuses
    unless empty or ``force``, and a revision this version does not know."""
    revision = await migrate.current_revision(url)
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    if revision is not None and revision not in {s.revision for s in script.walk_revisions()}:
        raise RestoreRefused(
            f"the database is at revision {revision}, which this version of hoinghi does "
            "not know: restore into an empty database"
        )
    database = Database(url, poolclass=NullPool)
    try:
        async with database.engine.connect() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            counts = {}
            for name in sorted(set(names) & Base.metadata.tables.keys()):
                found = await conn.scalar(select(func.count()).select_from(table(name)))
                if found:
                    counts[name] = int(found)
    finally:
        await database.dispose()
    if counts and not force:
        largest = sorted(counts.items(), key=lambda item: -item[1])
        listed = ", ".join(f"{name} {rows}" for name, rows in largest[:3])
        raise RestoreRefused(
            f"the database is not empty: {sum(counts.values())} rows in {len(counts)} tables "
            f"({listed}{', …' if len(counts) > 3 else ''}). Restore into an empty database, "
            "or add --force to replace its contents"
        )
    return revision, counts


async def _load(settings: Settings, archive: Archive, staging: Path, wipe: bool) -> None:
    database = Database(settings.database_url, poolclass=NullPool)
    store = BlobStore(settings.data_dir / "blobs")
    try:
        async with database.engine.connect() as conn:
            conn = await conn.execution_options(sqlite_immediate=True)
            async with conn.begin():
                if wipe:
                    for doomed in reversed(Base.metadata.sorted_tables):
                        await conn.execute(delete(doomed))
                for member in archive.members():
                    if member.kind == "table":
                        await _insert_rows(conn, Base.metadata.tables[member.name], member)
                    elif member.kind == "blob":
                        _store_blob(store, member)
                    else:
                        _stage_file(staging, member, archive.manifest)
                if not database.is_sqlite:
                    await _reset_sequences(conn)
    finally:
        await database.dispose()


async def _insert_rows(conn: AsyncConnection, target: Table, member: Member) -> None:
    """Insert a table's rows in batches. A column naming a row of its own table
    (units.parent_id) is filled in after all the rows are in, whatever their order."""
    kinds = columns_of(target)
    own = [
        c.name
        for c in target.columns
        if c.nullable and any(fk.column.table is target for fk in c.foreign_keys)
    ]
    keys = [c.name for c in target.primary_key.columns]
    # Given with the later UPDATE, so that its onupdate (updated_at = now) does not fire.
    kept = own + [c.name for c in target.columns if c.onupdate is not None and c.name not in own]
    later: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(member.lines(), start=1):
        try:
            row = parse_row(line, kinds)
        except ValueError as exc:
            raise ArchiveError(f"{member.label}, row {number}: {exc}") from None
        if any(row[name] is not None for name in own):
            later.append({**{f"k_{k}": row[k] for k in keys}, **{f"v_{c}": row[c] for c in kept}})
            row.update({name: None for name in own})
        batch.append(row)
        if len(batch) == ROWS_PER_INSERT:
            await conn.execute(insert(target), batch)
            batch = []
    if batch:
        await conn.execute(insert(target), batch)
    if later:
        statement = (
            update(target)
            .where(and_(*(target.c[k] == bindparam(f"k_{k}") for k in keys)))
            .values({c: bindparam(f"v_{c}") for c in kept})
        )
        await conn.execute(statement, later)


async def _reset_sequences(conn: AsyncConnection) -> None:
    """PostgreSQL: each serial id's sequence continues after the largest restored id."""
    quote = conn.dialect.identifier_preparer.quote
    for restored in Base.metadata.sorted_tables:
        keys = list(restored.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        column = quote(keys[0].name)
        await conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                f"COALESCE(MAX({column}), 1), MAX({column}) IS NOT NULL) "
                f"FROM {quote(restored.name)}"
            ),
            {"table": restored.name, "column": keys[0].name},
        )


def _store_blob(store: BlobStore, member: Member) -> None:
    if store.path(member.name).is_file():
        member.drain()  # the same name is the same bytes
        return
    with store.staging() as staged:
        for chunk in member.chunks():  # raises before the commit if it is not its name
            staged.write(chunk)
        staged.commit()


def _stage_file(staging: Path, member: Member, manifest: Manifest) -> None:
    mode = next(f.mode for f in manifest.files if f.path == member.name)
    target = staging / member.name
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        for chunk in member.chunks():
            file.write(chunk)
        file.flush()
        os.fsync(file.fileno())
    target.chmod(mode)


def _put_files_in_place(
    settings: Settings, staging: Path, manifest: Manifest, had_rows: bool, report: RestoreReport
) -> None:
    """The archive's secret key and CA become the data directory's. What they replace is
    kept beside them, renamed, unless it is the unused key of a fresh data directory."""
    data_dir = settings.data_dir
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    had_ca = (data_dir / "ca").exists()
    current_key = data_dir / SECRET_KEY_FILE
    old_key = current_key.read_text().strip() if current_key.is_file() else None
    restored_key = staging / SECRET_KEY_FILE
    new_key = restored_key.read_text().strip() if restored_key.is_file() else None

    def aside(path: Path) -> None:
        kept = path.with_name(f"{path.name}.before-restore-{stamp}")
        os.replace(path, kept)
        report.kept_aside.append(kept)

    if new_key is not None:
        if old_key is not None and old_key != new_key and (had_rows or had_ca):
            aside(current_key)
        os.replace(restored_key, current_key)
    if had_ca and _tree(data_dir / "ca") != _tree(staging / "ca"):
        aside(data_dir / "ca")
    if (staging / "ca").is_dir():
        shutil.rmtree(data_dir / "ca", ignore_errors=True)  # the same files, if still there
        os.replace(staging / "ca", data_dir / "ca")
    if (staging / "recordings").is_dir():
        for recording in sorted((staging / "recordings").rglob("*")):
            if recording.is_file():
                target = data_dir / recording.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(recording, target)

    from_environment = settings.secret_key != old_key
    if new_key is None:
        report.notes.append(
            "the archive holds no secret key (the source had HOINGHI_SECRET_KEY set): set "
            "the same HOINGHI_SECRET_KEY here; the built-in CA's keys and sign-ins need it"
        )
    elif from_environment and settings.secret_key != new_key:
        report.notes.append(
            "HOINGHI_SECRET_KEY is set here to another key than the archive's: the "
            "built-in CA's keys are encrypted under the archive's (unless "
            f"HOINGHI_CA_PASSPHRASE is set); it is in {current_key}"
        )


def _tree(directory: Path) -> dict[str, bytes]:
    """A small directory's files and their contents (the CA's: a few keys)."""
    if not directory.is_dir():
        return {}
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in directory.rglob("*")
        if path.is_file()
    }
