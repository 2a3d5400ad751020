"""``hoinghi backup`` and ``hoinghi restore`` for real, on both databases: a province with
meetings, documents, room events, a secret ballot, minutes in approval and written
opinions is backed up while its server runs, restored into a fresh database and data
directory, and compared row for row and blob for blob; the check finds damaged archives;
restore refuses what it must and leaves nothing half done; a SQLite archive restores into
PostgreSQL and back; a backup taken while clients upload restores with every blob its
rows name."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import shutil
import stat
import tarfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import JSON, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from agenda.blobs import BlobStore
from rooms.models import RoomRecording
from server import backup, migrate
from server.app import create_app
from server.audit import verify_chain
from server.backup import BackupFailed, make_backup
from server.backup_format import BLOB_COLUMNS, ArchiveError, columns_of
from server.backup_reader import check_archive, open_archive
from server.cli import main
from server.db import Database
from server.identity import Role
from server.minutes.trust import create_ca
from server.models import Base
from server.network.models import ConferencePoint, Unit, UnitKind
from server.restore import RestoreFailed, RestoreRefused, restore
from server.settings import Settings, load_settings
from tests import pdfs
from tests.conftest import PASSWORD, LiveServer, make_account, serving
from tests.province import Province, make_province
from tests.roomclient import RoomClient
from tests.test_documents import upload
from tests.test_minutes import PIN, issue

# The health monitor samples every point once a minute: checked once a day here, so that
# a source compared with its restored copy writes nothing of its own after the backup.
QUIET = {"seed_demo": False, "login_slowdown_after": 100, "health_check_seconds": 86400}


def source_settings(database_url: str, data_dir: Path) -> Settings:
    # No secret key given: it is generated into DATA_DIR/secret_key, as `hoinghi serve`
    # does, so the archive carries it.
    return load_settings(data_dir=data_dir, database_url=database_url, **QUIET)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return source_settings(database_url, tmp_path / "data")


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    create_ca(settings, "UBND tỉnh Thử nghiệm")  # before the server loads its trust
    with serving(settings) as server:
        yield server


@contextmanager
def fresh_postgres(url: str) -> Iterator[str]:
    """An empty database ``<name>_restore`` beside the test database, dropped after."""
    parsed = make_url(url)
    name = f"{parsed.database}_restore"

    async def run(statement: str) -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                await conn.execute(text(statement))
        finally:
            await engine.dispose()

    def admin(statement: str) -> None:  # in a thread of its own: callers may be in a loop
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, run(statement)).result()

    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}"')
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Target:
    """Where a backup is restored: a fresh database and data directory."""

    url: str
    data_dir: Path

    def settings(self) -> Settings:
        return load_settings(data_dir=self.data_dir, database_url=self.url, **QUIET)


@pytest.fixture
def target(database_url: str, tmp_path: Path) -> Iterator[Target]:
    """A fresh database of the same kind as the source (never migrated)."""
    if database_url.startswith("sqlite"):
        (tmp_path / "restored").mkdir()
        yield Target(f"sqlite+aiosqlite:///{tmp_path / 'restored.sqlite3'}", tmp_path / "restored")
    else:
        with fresh_postgres(database_url) as url:
            yield Target(url, tmp_path / "restored")


# What is compared: every row of every table, every blob, the secret key and the CA.


async def rows_of(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table as the models read it, plus, for JSON columns, whether
    the value is SQL NULL (a JSON null reads as None too)."""
    database = Database(url, poolclass=NullPool)
    try:
        async with database.engine.connect() as conn:
            found = {}
            for table in Base.metadata.sorted_tables:
                nulls = [
                    column.is_(None).label(f"{column.name} is SQL NULL")
                    for column in table.columns
                    if isinstance(column.type, JSON)
                ]
                query = select(table, *nulls).order_by(*table.primary_key.columns)
                found[table.name] = [dict(row) for row in (await conn.execute(query)).mappings()]
            return found
    finally:
        await database.dispose()


def blobs_of(data_dir: Path) -> dict[str, str]:
    root = data_dir / "blobs" / "sha256"
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file()
    }


def secrets_of(data_dir: Path) -> dict[str, bytes]:
    files = [data_dir / "secret_key", *sorted((data_dir / "ca").glob("*"))]
    return {str(path.relative_to(data_dir)): path.read_bytes() for path in files}


async def audit_intact(url: str) -> bool:
    database = Database(url, poolclass=NullPool)
    try:
        async with database.reader() as db:
            return await verify_chain(db) is None
    finally:
        await database.dispose()


def named_blobs(rows: dict[str, list[dict[str, Any]]]) -> set[str]:
    return {
        row[column]
        for table, columns in BLOB_COLUMNS.items()
        for row in rows[table]
        for column in columns
        if row[column]
    }


# The province: everything a backup must carry.


SEEDED = [
    "units", "conference_points", "users", "user_roles", "login_throttles", "auth_sessions",
    "calendar_feeds", "meetings", "invitations", "agenda_items", "documents",
    "document_versions", "document_pages", "document_access", "document_receipts",
    "issued_copies", "room_events", "secret_ballots", "room_recordings", "minutes",
    "minutes_versions", "minutes_approvals", "signing_sessions", "signing_certificates",
    "trust_anchors", "audit_entries", "opinion_requests", "opinion_recipients",
    "opinion_documents", "opinion_reminders",
]  # fmt: skip


async def seed_province(p: Province, data_dir: Path) -> int:
    """Fill every table listed in SEEDED through the API and the room (and, for what has no
    API, the database); returns the meeting's id."""
    c, sec = p.client, p.accounts["secretary"]
    mid, points = await p.live_meeting(points=2, start=False, usernames=["official"])
    item = await c.post(f"/api/meetings/{mid}/agenda", headers=sec.auth, json={"title": "KT-XH"})
    pages = ["Báo cáo tình hình tháng 11", "Kết luận của Chủ tịch"]
    document = await upload(p, mid, pdfs.pdf(pages), agenda_item_id=item.json()["id"])
    assert document.status_code == 201, document.text
    named = (await upload(p, mid, pdfs.pdf(1, title="Tài liệu mật"), scope="named")).json()
    readers = await c.put(
        f"/api/documents/{named['id']}/readers", headers=sec.auth, json={"point_ids": points[:1]}
    )
    assert readers.status_code == 200, readers.text
    device = await p.device(points[0])
    assert (await c.get(document.json()["download_url"], headers=device)).status_code == 200
    page = await c.get(f"{document.json()['pages_url']}1.webp", headers=device)
    assert page.status_code == 200

    # The meeting in the room: presence, a secret ballot.
    assert (await p.step(mid, "start", role="chair")).status_code == 200
    chair = await RoomClient.open(p.ws_url, mid, p.auth("chair"))
    point = await RoomClient.open(p.ws_url, mid, device)
    for client in (chair, point):
        await client.wait_for(lambda f: f["type"] == "welcome")
    assert (await chair.send("open_poll", question="Bầu trưởng ban?", secret=True))["type"] == "ack"
    await point.event("poll.opened")
    assert (await point.send("cast_ballot", poll=1, option=1))["type"] == "ack"
    assert (await chair.send("close_poll", poll=1))["type"] == "ack"
    await chair.event("poll.closed")
    for client in (chair, point):
        await client.close()
    assert (await p.step(mid, "end", role="chair")).status_code == 200

    # Minutes: submitted, signed by the secretary with a PIN, an external signature by the
    # deputy prepared (a signing session with its bytes) and not yet finished.
    database = Database(p.database_url)
    try:
        deputy = await make_account(database, c, "pho-chu-tich", Role.CHAIR)
    finally:
        await database.dispose()
    await issue(p, sec)
    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    requested = await c.post(
        f"/api/users/{deputy.id}/certificates/request",
        headers=deputy.auth,
        json={"public_key": base64.b64encode(spki).decode(), "password": deputy.password},
    )
    assert requested.status_code == 201, requested.text
    minutes = f"/api/meetings/{mid}/minutes"
    assert (await c.post(minutes, headers=sec.auth, json={})).status_code == 201
    submitted = await c.post(
        f"{minutes}/submit", headers=sec.auth, json={"version": 1, "approvers": [sec.id, deputy.id]}
    )
    assert submitted.status_code == 200, submitted.text
    signed = await c.post(
        f"{minutes}/approve", headers=sec.auth, json={"version": 1, "step": 0, "pin": PIN}
    )
    assert signed.status_code == 200, signed.text
    prepared = await c.post(
        f"{minutes}/external/prepare", headers=deputy.auth, json={"version": 1, "step": 1}
    )
    assert prepared.status_code == 200, prepared.text

    # The admin trusts a CA; an official keeps a calendar feed; someone mistypes.
    root = (await c.get("/api/ca/root.pem")).text
    anchor = await c.post(
        "/api/trust-anchors", headers=p.auth("admin"), json={"certificate_pem": root}
    )
    assert anchor.status_code == 201, anchor.text
    assert (await c.post("/api/calendar/feed", headers=p.auth("official"))).status_code == 201
    wrong = await c.post("/api/auth/login", json={"username": "thuky", "password": "sai-mat-khau"})
    assert wrong.status_code == 401

    # A written opinion with a document, one answer, one reminder sent.
    deadline = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = {"title": "Lấy ý kiến", "question": "Đồng ý?", "deadline": deadline}
    opinion = await c.post(
        "/api/opinions", headers=sec.auth, json={**body, "recipients": {"point_ids": points}}
    )
    assert opinion.status_code == 201, opinion.text
    rid = opinion.json()["id"]
    attached = await c.post(
        f"/api/opinions/{rid}/documents",
        headers=sec.auth,
        files={"file": ("du-thao.pdf", pdfs.pdf(2), "application/pdf")},
    )
    assert attached.status_code == 201, attached.text
    answer = {"option": 0, "comment": "Nhất trí"}
    assert (await c.put(f"/api/opinions/{rid}/answer", headers=device, json=answer)).is_success
    due = (await c.get("/api/opinions/reminders", headers=sec.auth)).json()["items"]
    sent = [{"recipient_id": d["recipient_id"], "lead_hours": d["lead_hours"]} for d in due]
    marked = await c.post(
        "/api/opinions/reminders/sent", headers=sec.auth, json={"items": sent, "via": "sms"}
    )
    assert marked.json()["recorded"] == 1, marked.text

    # No API makes these: recordings (one in the blob store, one from before it), link
    # figures (and a JSON null, which is not SQL NULL), a unit whose parent came after it.
    stored = BlobStore(data_dir / "blobs").put_bytes(b"\x1aE\xdf\xa3 webm " * 1000)
    old = data_dir / "recordings" / f"{mid}-1.webm"
    old.parent.mkdir(exist_ok=True)
    old.write_bytes(b"\x1aE\xdf\xa3 old webm")
    now = datetime.now(UTC)
    common = {"meeting_id": mid, "started_at": now, "ended_at": now, "seconds": 12.5}
    database = Database(p.database_url)
    try:
        async with database.writer() as db:
            db.add(RoomRecording(number=1, file="recordings/" + old.name, bytes=15, **common))
            db.add(
                RoomRecording(
                    number=2,
                    file=str(stored.path.relative_to(data_dir)),
                    sha256=stored.digest,
                    bytes=stored.size,
                    **common,
                )
            )
            region = Unit(code="vung-moi", name="Vùng kinh tế mới", kind=UnitKind.DEPARTMENT)
            db.add(region)
            await db.flush()
            await db.execute(
                update(Unit).where(Unit.code == "so-noi-vu").values(parent_id=region.id)
            )
            first = await db.get(ConferencePoint, points[0])
            second = await db.get(ConferencePoint, points[1])
            assert first is not None and second is not None
            first.last_link_stats = {"rtt_ms": 41.5, "loss": 0.012, "codec": "VP8"}
            second.last_link_stats = None  # JSON null, not SQL NULL
            await db.commit()
    finally:
        await database.dispose()
    return mid


def restore_in_thread(settings: Settings, archive: Path, **options: Any) -> Any:
    return asyncio.to_thread(restore, settings, archive, **options)


def backup_in_thread(settings: Settings, archive: Path, **options: Any) -> Any:
    return asyncio.to_thread(make_backup, settings, archive, **options)


async def test_a_province_restores_row_for_row_and_blob_for_blob(
    live_province: Province, settings: Settings, target: Target, tmp_path: Path
) -> None:
    mid = await seed_province(live_province, settings.data_dir)
    source = await rows_of(settings.database_url)
    assert [name for name in SEEDED if not source[name]] == []
    assert named_blobs(source) <= set(blobs_of(settings.data_dir))

    archive = tmp_path / "province.tar.gz"
    manifest = await backup_in_thread(settings, archive)  # the server keeps running
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert {t.name: t.rows for t in manifest.tables} == {n: len(r) for n, r in source.items()}
    assert {f.path for f in manifest.files} >= {
        "secret_key",
        "ca/root.key",
        f"recordings/{mid}-1.webm",
    }
    assert hidden(tmp_path) == []  # no spool left

    report = await restore_in_thread(target.settings(), archive)
    assert report.migrated and report.kept_aside == [] and report.notes == []
    assert await rows_of(target.url) == source
    assert await audit_intact(target.url)
    assert blobs_of(target.data_dir) == blobs_of(settings.data_dir)
    assert secrets_of(target.data_dir) == secrets_of(settings.data_dir)
    old = f"recordings/{mid}-1.webm"
    assert (target.data_dir / old).read_bytes() == (settings.data_dir / old).read_bytes()
    assert not (target.data_dir / "blobs" / "derived" / "copies").exists()  # made again

    # The restored server works: sign-in, the CA under the restored key, copies and pages
    # made again from the blobs, new rows numbered after the restored ones.
    restored = target.settings()
    app = create_app(restored)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            signed_in = await client.post(
                "/api/auth/login", json={"username": "secretary", "password": PASSWORD}
            )
            assert signed_in.status_code == 200, signed_in.text
            auth = {"Authorization": f"Bearer {signed_in.json()['token']}"}
            kept = live_province.auth("secretary")  # a sign-in from before the backup
            assert (await client.get(f"/api/meetings/{mid}", headers=kept)).status_code == 200
            root = await client.get("/api/ca/root.pem")
            assert root.content == (settings.data_dir / "ca" / "root.pem").read_bytes()
            documents = (await client.get(f"/api/meetings/{mid}/documents", headers=auth)).json()
            for document in documents:
                copy = await client.get(document["download_url"], headers=auth)
                assert copy.status_code == 200 and copy.content.startswith(b"%PDF-")
            state = (await client.get(f"/api/meetings/{mid}/minutes", headers=auth)).json()
            assert state["status"] == "in_approval"
            assert (await client.get(state["document_url"], headers=auth)).status_code == 200
            created = await client.post(
                "/api/meetings",
                headers=auth,
                json={
                    "title": "Họp sau khi khôi phục",
                    "host_unit_id": live_province.units["hoa-son"],
                    "chair_id": live_province.accounts["chair"].id,
                    "starts_at": "2030-01-02T08:00:00+07:00",
                    "ends_at": "2030-01-02T10:00:00+07:00",
                },
            )
            assert created.status_code == 201, created.text
            assert created.json()["id"] == max(m["id"] for m in source["meetings"]) + 1


# Damaged archives.


def rewrite(source: Path, out: Path, change: Callable[[str, bytes], bytes | None]) -> Path:
    """A copy of an archive with members changed (or dropped, where ``change`` gives None)."""
    with tarfile.open(source, "r:*") as old, tarfile.open(out, "w") as new:
        for info in old.getmembers():
            reader = old.extractfile(info)
            assert reader is not None
            data = change(info.name, reader.read())
            if data is not None:
                info.size = len(data)
                new.addfile(info, io.BytesIO(data))
    return out


def cut_short(source: Path, out: Path) -> None:
    whole = source.read_bytes()
    out.write_bytes(whole[: len(whole) // 2])


def hidden(directory: Path) -> list[str]:
    """Dot files: a spool, a partial archive or a restore's staging left behind."""
    return [path.name for path in directory.iterdir() if path.name.startswith(".")]


def flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


@pytest.fixture
async def small_archive(province: Province, settings: Settings, tmp_path: Path) -> Path:
    """A province with one uploaded document, backed up."""
    mid, _ = await province.live_meeting(points=1, start=False)
    assert (await upload(province, mid, pdfs.pdf(2))).status_code == 201
    archive = tmp_path / "small.tar"
    await backup_in_thread(settings, archive)
    return archive


async def test_check_finds_a_changed_table_a_changed_blob_and_a_missing_blob(
    small_archive: Path, tmp_path: Path
) -> None:
    manifest = check_archive(small_archive)
    (blob,) = manifest.blobs
    damaged = {
        "tables/units.jsonl": rewrite(
            small_archive, tmp_path / "table.tar",
            lambda name, data: flip(data) if name == "tables/units.jsonl" else data,
        ),
        f"blobs/{blob.sha256}: its content does not match its name": rewrite(
            small_archive, tmp_path / "blob.tar",
            lambda name, data: flip(data) if name.startswith("blobs/") else data,
        ),
        f"missing from the archive: blobs/{blob.sha256}": rewrite(
            small_archive, tmp_path / "missing.tar",
            lambda name, data: None if name.startswith("blobs/") else data,
        ),
        "cut short": tmp_path / "cut.tar",
    }  # fmt: skip
    cut_short(small_archive, tmp_path / "cut.tar")
    for expected, path in damaged.items():
        with pytest.raises(ArchiveError, match=expected.replace("(", r"\(")):
            check_archive(path)
        result = CliRunner().invoke(main, ["restore", "--check", str(path)])
        assert result.exit_code == 1, result.output
        assert "is not usable" in result.output
    intact = CliRunner().invoke(main, ["restore", "--check", str(small_archive)])
    assert intact.exit_code == 0 and "is intact" in intact.output


async def test_a_restore_that_fails_part_way_leaves_the_database_empty(
    small_archive: Path, target: Target, tmp_path: Path
) -> None:
    # Blobs come after the tables: every row is in when the bad blob is found.
    bad = rewrite(
        small_archive, tmp_path / "bad.tar",
        lambda name, data: flip(data) if name.startswith("blobs/") else data,
    )  # fmt: skip
    restored = target.settings()
    key_before = (target.data_dir / "secret_key").read_bytes()
    with pytest.raises(
        RestoreFailed, match=r"rolled back \(migrated to \w+, empty\).*content does not"
    ):
        await restore_in_thread(restored, bad)
    assert not any((await rows_of(target.url)).values())
    assert (target.data_dir / "secret_key").read_bytes() == key_before
    assert not (target.data_dir / "ca").exists()
    assert blobs_of(target.data_dir) == {}
    assert hidden(target.data_dir) == []

    report = await restore_in_thread(restored, small_archive)  # the good one still goes in
    assert report.manifest.rows == sum(len(r) for r in (await rows_of(target.url)).values())


async def test_restore_refuses_a_database_that_is_not_empty_unless_forced(
    small_archive: Path, settings: Settings, target: Target
) -> None:
    restored = target.settings()
    await restore_in_thread(restored, small_archive)
    database = Database(target.url)
    try:
        async with database.writer() as db:
            db.add(Unit(code="them-sau", name="Thêm sau", kind=UnitKind.COMMUNE))
            await db.commit()
    finally:
        await database.dispose()
    with pytest.raises(RestoreRefused, match=r"not empty: \d+ rows in \d+ tables .*--force"):
        await restore_in_thread(restored, small_archive)

    create_ca(restored, "Một CA khác")  # what the restore replaces is kept aside
    report = await restore_in_thread(restored, small_archive, force=True)
    assert [p.name.split("-")[0] for p in report.kept_aside] == ["ca.before"]
    after = await rows_of(target.url)
    assert "them-sau" not in {unit["code"] for unit in after["units"]}
    assert after == await rows_of(settings.database_url)


async def test_restore_refuses_an_archive_of_another_revision(
    small_archive: Path, target: Target, tmp_path: Path
) -> None:
    def older(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        return json.dumps({**json.loads(data), "alembic_revision": "0001"}).encode()

    archive = rewrite(small_archive, tmp_path / "older.tar", older)
    with pytest.raises(
        RestoreRefused, match=r"revision 0001 .* then upgrade and run `hoinghi migrate`"
    ):
        await restore_in_thread(target.settings(), archive)
    assert await migrate.current_revision(target.url) is None  # not even migrated


async def test_a_backup_names_missing_or_damaged_blobs_instead_of_leaving_them_out(
    small_archive: Path, settings: Settings, target: Target, tmp_path: Path
) -> None:
    (blob,) = check_archive(small_archive).blobs
    path = settings.data_dir / "blobs" / "sha256" / blob.sha256[:2] / blob.sha256
    good = path.read_bytes()
    path.write_bytes(flip(good))
    with pytest.raises(BackupFailed, match=f"blob {blob.sha256} in the store is damaged"):
        await backup_in_thread(settings, tmp_path / "damaged.tar")
    assert not (tmp_path / "damaged.tar").exists()
    assert hidden(tmp_path) == []

    path.unlink()
    named_by = f"missing from the data directory .1.: {blob.sha256} .document_versions.sha256"
    with pytest.raises(BackupFailed, match=named_by):
        await backup_in_thread(settings, tmp_path / "missing.tar")
    manifest = await backup_in_thread(settings, tmp_path / "missing.tar", allow_missing_blobs=True)
    assert manifest.missing_blobs == [blob.sha256] and manifest.blobs == []
    report = await restore_in_thread(target.settings(), tmp_path / "missing.tar")
    assert blob.sha256 in report.notes[0]


# Moving between databases.


@asynccontextmanager
async def live_province_on(settings: Settings) -> AsyncIterator[Province]:
    create_ca(settings, "UBND tỉnh Thử nghiệm")
    with serving(settings) as server:
        database = Database(settings.database_url)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            accounts = {r.value: await make_account(database, client, r.value, r) for r in Role}
            province = await make_province(database, client, accounts)
            province.ws_url = server.url.replace("http://", "ws://")
            province.database_url = settings.database_url
            try:
                yield province
            finally:
                await database.dispose()


async def test_a_sqlite_archive_restores_into_postgresql_and_back(
    postgres_url: str, sqlite_template: Path, tmp_path: Path
) -> None:
    sqlite = tmp_path / "source.sqlite3"
    shutil.copy(sqlite_template, sqlite)
    source = source_settings(f"sqlite+aiosqlite:///{sqlite}", tmp_path / "source")
    async with live_province_on(source) as province:
        await seed_province(province, source.data_dir)
    rows, blobs = await rows_of(source.database_url), blobs_of(source.data_dir)

    archive = tmp_path / "a.tar.gz"
    await backup_in_thread(source, archive)
    with fresh_postgres(postgres_url) as url:
        postgres = Target(url, tmp_path / "postgres")
        await restore_in_thread(postgres.settings(), archive)
        assert await rows_of(url) == rows
        assert await audit_intact(url)
        assert blobs_of(postgres.data_dir) == blobs
        back_archive = tmp_path / "b.tar.gz"
        manifest = await backup_in_thread(postgres.settings(), back_archive)
        assert manifest.database == "postgresql"

    back = Target(f"sqlite+aiosqlite:///{tmp_path / 'back.sqlite3'}", tmp_path / "back")
    await restore_in_thread(back.settings(), back_archive)
    assert await rows_of(back.url) == rows
    assert await audit_intact(back.url)
    assert blobs_of(back.data_dir) == blobs
    assert secrets_of(back.data_dir) == secrets_of(source.data_dir)


# Consistency while the server is busy.


async def test_a_backup_taken_while_clients_upload_restores_with_every_blob_its_rows_name(
    live_province: Province,
    settings: Settings,
    target: Target,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = live_province
    mid, _ = await p.live_meeting(points=1, start=False)
    stop, started, arrived = asyncio.Event(), asyncio.Event(), threading.Event()

    async def keep_uploading(writer: int) -> None:
        for n in range(1000):
            if stop.is_set():
                return
            pdf = pdfs.pdf([f"Tài liệu {writer}-{n}"], title=f"Tài liệu {writer}-{n}")
            response = await upload(p, mid, pdf)
            assert response.status_code == 201, response.text
            started.set()
            arrived.set()

    # Every backup lists the store, then waits for a document (its blob and its row) to
    # arrive before going on: were the store listed before the rows were read, the rows
    # would name a blob the archive lacks (the backup refuses that).
    list_blobs = backup._list_blobs

    def list_then_wait(store: Path) -> Any:
        listed = list_blobs(store)
        arrived.clear()
        assert arrived.wait(timeout=30)
        return listed

    monkeypatch.setattr(backup, "_list_blobs", list_then_wait)
    writers = [asyncio.create_task(keep_uploading(w)) for w in range(3)]
    archives = [tmp_path / f"busy-{n}.tar" for n in range(3)]
    try:
        await started.wait()
        for archive in archives:
            await backup_in_thread(settings, archive)
    finally:
        stop.set()
        await asyncio.gather(*writers)

    counts = []
    for archive in archives:
        named, versions = archive_names(archive)
        assert named <= {blob.sha256 for blob in check_archive(archive).blobs}
        counts.append(versions)
    final = len((await rows_of(p.database_url))["document_versions"])
    assert counts[0] < counts[1] < counts[2] < final  # documents arrived all along

    await restore_in_thread(target.settings(), archives[-1])
    restored = await rows_of(target.url)
    assert len(restored["document_versions"]) == counts[-1]
    assert named_blobs(restored) <= set(blobs_of(target.data_dir))


def archive_names(archive: Path) -> tuple[set[str], int]:
    """The digests the archive's rows name, and how many document versions it holds."""
    named: set[str] = set()
    versions = 0
    with open_archive(archive) as opened:
        for member in opened.members():
            if member.kind == "table" and member.name in BLOB_COLUMNS:
                for line in member.lines():
                    row = json.loads(line)
                    named |= {row[c] for c in BLOB_COLUMNS[member.name] if row[c]}
                    versions += member.name == "document_versions"
    return named, versions


# The commands.


def test_the_commands_back_up_check_and_restore(
    database_url: str, target: Target, tmp_path: Path
) -> None:
    def run(data_dir: Path, url: str, *args: str) -> Any:
        env = {"HOINGHI_DATA_DIR": str(data_dir), "HOINGHI_DATABASE_URL": url}
        return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)

    source = tmp_path / "data"
    assert run(source, database_url, "seed-demo").exit_code == 0
    archive = tmp_path / "nightly.tar.gz"
    made = run(source, database_url, "backup", "--out", str(archive))
    assert made.exit_code == 0, made.output
    assert f"backup written to {archive}" in made.output and "keep it private" in made.output
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    again = run(source, database_url, "backup", "--out", str(archive))
    assert again.exit_code == 1 and "exists" in again.output

    checked = CliRunner().invoke(main, ["restore", "--check", str(archive)])
    assert checked.exit_code == 0 and "is intact" in checked.output
    damaged = rewrite(
        archive, tmp_path / "damaged.tar",
        lambda name, data: flip(data) if name == "tables/users.jsonl" else data,
    )  # fmt: skip
    refused = CliRunner().invoke(main, ["restore", "--check", str(damaged)])
    assert refused.exit_code == 1 and "tables/users.jsonl" in refused.output

    restored = run(target.data_dir, target.url, "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "restored" in restored.output
    users = run(target.data_dir, target.url, "user", "list")
    assert "thuky" in users.output and "chutich" in users.output
    twice = run(target.data_dir, target.url, "restore", str(archive))
    assert twice.exit_code == 1 and "not empty" in twice.output and "--force" in twice.output
    forced = run(target.data_dir, target.url, "restore", "--force", str(archive))
    assert forced.exit_code == 0, forced.output
    assert "kept as" not in forced.output  # the same key and CA: nothing kept aside


def test_every_column_that_names_a_stored_file_is_kept() -> None:
    derived = {("issued_copies", "sha256")}  # watermarked copies: made again on demand
    for table in Base.metadata.tables.values():
        columns_of(table)  # every column type has an encoding
        for column in table.columns:
            if column.name == "sha256" or column.name.endswith("_pdf") or "pdf_" in column.name:
                kept = column.name in BLOB_COLUMNS.get(table.name, ())
                assert kept or (table.name, column.name) in derived, (table.name, column.name)
