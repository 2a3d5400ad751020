"""The ``hoinghi`` command: serve, migrate, seed the demo, manage users and points, back
up and restore, and run a point agent."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import uvicorn
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from server import __version__, migrate
from server.accounts import service as accounts
from server.accounts.passwords import MIN_PASSWORD_LENGTH
from server.accounts.schemas import NewPassword, Username
from server.audit import verify_chain
from server.db import Database, utcnow
from server.demo import SeedResult, seed_demo
from server.identity import Role
from server.logs import uvicorn_log_config
from server.network import service as network
from server.network.models import Unit
from server.problems import Problem
from server.settings import Settings, load_settings
from server.validation import MAX_ID, Name, Place

T = TypeVar("T")

DEMO_ACCOUNTS_FILE = "demo-accounts.txt"
# Room sockets: the sans-I/O websockets implementation, no per-message deflate (measured
# about twice as cheap per frame as the defaults; frames are small JSON).
UVICORN_WS_OPTIONS: dict[str, Any] = {
    "ws": "websockets-sansio",
    "ws_per_message_deflate": False,
    # Commands are at most 16 KiB of text; a bigger frame is dropped by uvicorn, not parsed.
    "ws_max_size": 65536,
}


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one unit of work in a write transaction, turning API problems into CLI errors."""

    async def main() -> T:
        revision = await migrate.current_revision(settings.database_url)
        if revision != migrate.head_revision():
            raise click.ClickException(
                f"the database is at revision {revision}, this version needs "
                f"{migrate.head_revision()}: run `hoinghi migrate`"
            )
        db = Database(settings.database_url)
        try:
            async with db.writer() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except Problem as problem:
        raise click.ClickException(problem.detail or problem.code) from None
    except (SQLAlchemyError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise click.ClickException(f"database error: {reason}") from None


def _checked(type_: Any, value: object, what: str) -> Any:
    """Validate a command-line value with the API's own rules for that field."""
    try:
        return TypeAdapter(type_).validate_python(value)
    except ValidationError as exc:
        reasons = "; ".join(error["msg"] for error in exc.errors())
        raise click.BadParameter(reasons, param_hint=what) from None


def _settings() -> Settings:
    return load_settings()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hoinghi")
def main() -> None:
    """hoinghi: province video conferences and paperless meetings.

    Settings come from HOINGHI_* environment variables (see README.md); by default the data
    lives in ./hoinghi-data with an embedded SQLite database.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes; more than 1 needs PostgreSQL and Redis.",
)
def serve(host: str, port: int, workers: int) -> None:
    """Migrate the database, seed the demo province on first start, and serve."""
    settings = _settings()
    if workers > 1 and (settings.is_sqlite or not settings.redis_url):
        raise click.UsageError(
            "--workers > 1 needs PostgreSQL (HOINGHI_DATABASE_URL=postgresql+asyncpg://...) "
            "and Redis (HOINGHI_REDIS_URL=redis://...): processes share rooms through them. "
            f"Now: database {'SQLite' if settings.is_sqlite else 'PostgreSQL'}, "
            f"Redis {'set' if settings.redis_url else 'not set'}."
        )
    migrate.upgrade(settings.database_url)
    if settings.seed_demo:
        first_start = _run(settings, _is_empty)
        if first_start:
            _report_seed(settings, _run(settings, seed_demo))
            _report_signing(settings)
    url = (
        settings.public_url or f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    )
    click.echo(f"hoinghi {__version__}: data in {settings.data_dir}")
    click.echo(f"Open / Mở: {url}/")
    # Requests are logged by the app, by route template (uvicorn's access log would write
    # whole paths with their query strings, where room sockets carry tokens).
    logging_options: dict[str, Any] = {
        "log_config": uvicorn_log_config(settings.log_format),
        "access_log": False,
    }
    if workers == 1:
        from server.app import create_app

        uvicorn.run(
            create_app(settings), host=host, port=port, **logging_options, **UVICORN_WS_OPTIONS
        )
    else:
        uvicorn.run(
            "server.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **logging_options,
            **UVICORN_WS_OPTIONS,
        )


async def _is_empty(db: AsyncSession) -> bool:
    return await db.scalar(select(Unit.id).limit(1)) is None


@main.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def migrate_command(revision: str) -> None:
    """Apply the database migrations (the same ones on SQLite and PostgreSQL)."""
    settings = _settings()
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at {asyncio.run(migrate.current_revision(settings.database_url))}")


@main.command("seed-demo")
def seed_demo_command() -> None:
    """Create the demo province (idempotent: only what is missing is added)."""
    settings = _settings()
    migrate.upgrade(settings.database_url)
    _report_seed(settings, _run(settings, seed_demo))
    _report_signing(settings)


def _report_signing(settings: Settings) -> None:
    from server.minutes.demo_signing import seed_demo_signing

    pins = _run(settings, lambda db: seed_demo_signing(db, settings))
    if not pins:
        return
    lines = [f"{user}\t{pin}" for user, pin in pins.items()]
    path = settings.data_dir / "demo-signing-pins.txt"
    _write_private(path, "username\tsigning PIN\n" + "\n".join(lines) + "\n")
    click.echo("demo signing PINs (minutes approval; shown once, also in " + str(path) + "):")
    for line in lines:
        click.echo("  " + line.replace("\t", "  "))


def _report_seed(settings: Settings, result: SeedResult) -> None:
    click.echo(
        f"demo province: {result.units_created} units and "
        f"{result.points_created} conference points added"
    )
    if not result.passwords:
        click.echo("demo accounts: already present, passwords unchanged")
        return
    lines = [f"{user}\t{password}" for user, password in result.passwords.items()]
    path = settings.data_dir / DEMO_ACCOUNTS_FILE
    _write_private(path, "username\tpassword\n" + "\n".join(lines) + "\n")
    click.echo("demo accounts (shown once; also kept in " + str(path) + "):")
    for line in lines:
        click.echo("  " + line.replace("\t", "  "))


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.UsageError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    return str(_checked(NewPassword, password, "password"))


@main.group()
def user() -> None:
    """Manage accounts."""


@user.command("add")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="Role; repeat for several.",
)
@click.option("--unit", "unit_code", help="Code of the user's unit.")
@click.option("--full-name", help="Full name with diacritics (default: the username).")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
def user_add(
    username: str,
    roles: tuple[str, ...],
    unit_code: str | None,
    full_name: str | None,
    password_stdin: bool,
) -> None:
    """Add an account: echo PASSWORD | hoinghi user add USERNAME --role ROLE --password-stdin"""
    username = _checked(Username, username, "USERNAME")
    full_name = _checked(Name, full_name or username, "--full-name")
    password = _read_password()

    async def work(db: AsyncSession) -> str:
        unit = await network.unit_by_code(db, unit_code) if unit_code else None
        created = await accounts.create_user(
            db,
            username=username,
            full_name=full_name,
            password=password,
            roles={Role(r) for r in roles},
            unit_id=unit.id if unit else None,
        )
        return created.username

    click.echo(f"added user {_run(_settings(), work)}")


@user.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
def user_set_password(username: str, password_stdin: bool) -> None:
    """Set a new password (and end the user's sessions)."""
    password = _read_password()

    async def work(db: AsyncSession) -> None:
        found = await accounts.find_user(db, username)
        if found is None:
            raise click.ClickException(f"no user {username!r}")
        await accounts.set_password(db, found, password)

    _run(_settings(), work)
    click.echo(f"password of {username} changed")


@user.command("list")
@click.option("--role", type=click.Choice([r.value for r in Role]), help="Only this role.")
def user_list(role: str | None) -> None:
    """List accounts."""

    async def work(db: AsyncSession) -> list[str]:
        where = accounts.UserFilter(role=Role(role) if role else None)
        users, _ = await accounts.list_users(db, where, limit=100_000, offset=0)
        return [
            "\t".join(
                [
                    str(u.id),
                    u.username,
                    u.full_name,
                    ",".join(sorted(u.roles)),
                    u.unit.code if u.unit else "-",
                    "active" if u.active else "disabled",
                ]
            )
            for u in users
        ]

    rows = _run(_settings(), work)
    click.echo("id\tusername\tfull name\troles\tunit\tstate")
    for row in rows:
        click.echo(row)


@main.group()
def point() -> None:
    """Manage conference points."""


@point.command("add")
@click.argument("name")
@click.option("--unit", "unit_code", required=True, help="Code of the point's unit.")
@click.option("--location", default="", help="Where the room is.")
def point_add(name: str, unit_code: str, location: str) -> None:
    """Add a point and print its device token (shown only this once)."""
    name = _checked(Name, name, "NAME")
    location = _checked(Place, location, "--location")

    async def work(db: AsyncSession) -> tuple[int, str]:
        unit = await network.unit_by_code(db, unit_code)
        created, token = await network.create_point(db, unit, name, location)
        return created.id, token

    point_id, token = _run(_settings(), work)
    click.echo(f"added point {point_id}: {name}")
    click.echo(f"device token (shown once, keep it safe): {token}")


@point.command("rotate-token")
@click.argument("point_id", type=click.IntRange(1, MAX_ID))
def point_rotate_token(point_id: int) -> None:
    """Issue a new device token; the old one stops working at once."""

    async def work(db: AsyncSession) -> str:
        return await network.rotate_token(db, await network.get_point(db, point_id))

    token = _run(_settings(), work)
    click.echo(f"new device token (shown once, keep it safe): {token}")


@point.command("list")
@click.option("--unit", "unit_code", help="Only this unit and the units below it.")
def point_list(unit_code: str | None) -> None:
    """List conference points with their online status."""
    settings = _settings()

    async def work(db: AsyncSession) -> list[str]:
        unit_id = (await network.unit_by_code(db, unit_code)).id if unit_code else None
        points, _, _ = await network.list_points(
            db, network.PointFilter(unit_id=unit_id), settings.point_online_seconds, 100_000, 0
        )
        now = utcnow()
        return [
            "\t".join(
                [
                    str(p.id),
                    p.unit.code,
                    p.name,
                    "online"
                    if network.is_online(p, now, settings.point_online_seconds)
                    else "offline",
                    "enabled" if p.enabled else "disabled",
                ]
            )
            for p in points
        ]

    rows = _run(settings, work)
    click.echo("id\tunit\tname\tstatus\tstate")
    for row in rows:
        click.echo(row)


@main.command("media-worker")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0: any free port."
)
@click.option(
    "--recordings",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where recordings are written (the server's DATA_DIR/recordings).",
)
def media_worker(host: str, port: int, recordings: Path | None) -> None:
    """Forward media for a server (HOINGHI_MEDIA_SECRET must match the server's).

    `hoinghi serve` starts these itself with HOINGHI_MEDIA_WORKERS=N; run them by hand
    (and list them in HOINGHI_MEDIA_WORKER_ADDRESSES) to put media on other machines.
    """
    import logging

    from rooms.media.worker import run_worker

    secret = os.environ.get("HOINGHI_MEDIA_SECRET", "")
    if not secret:
        raise click.UsageError("set HOINGHI_MEDIA_SECRET (the same value as the server's)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(host, port, secret, recordings))


@main.command("point-agent")
@click.option(
    "--server",
    required=True,
    metavar="URL",
    help="The hoinghi server, as users open it: http://host:8000 or https://host.",
)
@click.option(
    "--token",
    required=True,
    envvar="HOINGHI_DEVICE_TOKEN",
    show_envvar=True,
    metavar="TOKEN",
    help="The point's device token (hd_…, from `hoinghi point add` or `point rotate-token`). "
    "The environment variable keeps it out of the process list.",
)
@click.option(
    "--video",
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="Send this video file (with its sound) as the point's camera and microphone, looped.",
)
@click.option(
    "--test-pattern",
    is_flag=True,
    help="Send moving colour bars (640x360) and a 440 Hz tone. "
    "Without this or --video the point only receives.",
)
@click.option(
    "--head-count",
    type=click.IntRange(0, 10_000),
    metavar="N",
    help="Answer every roll call: N people present (default: do not answer).",
)
@click.option("-v", "--verbose", is_flag=True, help="Also log every room event (debug).")
def point_agent_command(
    server: str,
    token: str,
    video: str | None,
    test_pattern: bool,
    head_count: int | None,
    verbose: bool,
) -> None:
    """Join meetings as a conference point, without a browser (room PCs, load tests).

    Every 30 s it asks the server which meetings the point is invited to, and joins each one
    that is live, or scheduled to start within 15 minutes (it waits in the lobby until the
    chair starts it). It logs who has the floor, roll calls, and every 10 s the frame rates
    of the main and floor video it receives. A dropped connection or a restarted server is
    retried by itself (1 s doubling to 30 s) and the meeting resumed. Ctrl-C or SIGTERM
    leaves the meetings and stops; a refused device token stops it with exit status 1.
    """
    import logging
    import signal

    from server.point_agent import PointAgent, TokenRefused

    if video and test_pattern:
        raise click.UsageError("--video and --test-pattern cannot be used together")
    # The agent's own lines; from aiortc, aioice and httpx only their warnings.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("server.point_agent").setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        agent = PointAgent(
            server, token.strip(), video=video, test_pattern=test_pattern, head_count=head_count
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None

    async def run() -> None:
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            with contextlib.suppress(NotImplementedError):  # not on Windows
                loop.add_signal_handler(sig, agent.stop)
        try:
            await agent.run()
        finally:
            for sig in signals:
                with contextlib.suppress(NotImplementedError):
                    loop.remove_signal_handler(sig)

    try:
        asyncio.run(run())
    except TokenRefused as refused:
        raise click.ClickException(f"{refused}; stopping") from None
    except ValueError as exc:  # the video file cannot be played
        raise click.ClickException(str(exc)) from None


@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the audit trail's hash chain; exit 1 if an entry was changed or removed."""

    async def work(db: AsyncSession) -> int | None:
        return await verify_chain(db)

    broken = _run(_settings(), work)
    if broken is not None:
        raise click.ClickException(f"the audit chain is broken at entry {broken}")
    click.echo("audit chain intact")


@main.group("ca")
def ca_group() -> None:
    """The built-in certificate authority (demos and tests; production imports the
    government chain: POST /api/trust-anchors)."""


@ca_group.command("init")
@click.option("--organization", default="UBND tỉnh (demo)", show_default=True)
def ca_init(organization: str) -> None:
    """Create the root, the signing intermediate and the timestamp key in DATA_DIR/ca."""
    from agenda.ca import CaError
    from server.minutes.trust import ca_directory, create_ca

    settings = _settings()
    try:
        ca = create_ca(settings, organization)
    except CaError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"CA created in {ca_directory(settings)} (keys encrypted)")
    click.echo(f"root: {ca.root.subject.rfc4514_string()}")


@ca_group.command("issue")
@click.argument("username")
@click.option(
    "--key", "key_kind", type=click.Choice(["ec", "rsa"]), default="ec", show_default=True
)
@click.option("--pin-stdin", is_flag=True, help="Read the signing PIN from standard input.")
def ca_issue(username: str, key_kind: str, pin_stdin: bool) -> None:
    """Issue USERNAME a signing certificate; the server keeps the key under the PIN."""
    from server.accounts.models import User
    from server.identity import Principal, PrincipalKind
    from server.minutes import certificates
    from server.minutes.trust import TrustSource

    settings = _settings()
    pin = sys.stdin.readline().rstrip("\r\n") if pin_stdin else click.prompt(
        "Signing PIN", hide_input=True, confirmation_prompt=True
    )  # fmt: skip
    system = Principal(PrincipalKind.USER, 0, "cli", None)

    async def work(db: AsyncSession) -> str:
        user = await db.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        row = await certificates.issue_with_pin(
            db, system, user, pin, key_kind, TrustSource(settings)
        )
        return f"certificate {row.id} for {row.subject}, valid until {row.not_after:%d/%m/%Y}"

    click.echo(_run(settings, work))


@ca_group.command("crl")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--revoke", "serial", default=None, help="First revoke this serial (hex).")
def ca_crl(out: Path, serial: str | None) -> None:
    """Write the CA's certificate revocation list (DER), optionally revoking a serial."""
    from cryptography.hazmat.primitives import serialization

    from server.minutes.trust import TrustSource

    ca = TrustSource(_settings()).ca()
    if ca is None:
        raise click.ClickException("no CA: run `hoinghi ca init`")
    if serial:
        try:
            number = int(serial, 16)
        except ValueError:
            raise click.BadParameter(
                "a serial number in hexadecimal", param_hint="--revoke"
            ) from None
        ca.revoke(number)
    out.write_bytes(ca.crl().public_bytes(serialization.Encoding.DER))
    click.echo(f"CRL with {len(ca.revoked())} revoked certificates written to {out}")


@main.command("backup")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The archive to write (default: hoinghi-backup-DATE-TIME.tar.gz here); "
    "compressed if the name ends in .gz or .tgz, plain tar otherwise.",
)
@click.option(
    "--allow-missing-blobs",
    is_flag=True,
    help="Write the archive even if files that rows name are missing from the data "
    "directory (the manifest lists them).",
)
def backup_command(out: Path | None, allow_missing_blobs: bool) -> None:
    """Write one archive of the database, the blob store, the secret key and the built-in
    CA, consistent while the server keeps running (docs/backup.md).

    The archive holds secrets (the secret key, the CA's keys, password hashes): it is
    written readable only by its owner (mode 0600); keep it so.
    """
    from server.backup import BackupFailed, default_name, make_backup

    settings = _settings()
    target = out or Path(default_name(datetime.now(UTC)))
    try:
        manifest = make_backup(settings, target, allow_missing_blobs=allow_missing_blobs)
    except BackupFailed as exc:
        raise click.ClickException(f"no backup written: {exc}") from None
    except (SQLAlchemyError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise click.ClickException(f"no backup written: {reason}") from None
    click.echo(
        f"backup written to {target}: {manifest.rows} rows in {len(manifest.tables)} tables, "
        f"{len(manifest.blobs)} blobs ({_megabytes(manifest.blob_bytes)}), "
        f"{len(manifest.files)} files; database revision {manifest.alembic_revision}"
    )
    click.echo("it holds the secret key and the CA's keys: keep it private (mode 0600)")
    if manifest.missing_blobs:
        click.echo(
            f"warning: {len(manifest.missing_blobs)} files named by rows were missing and "
            "are not in it (listed in its manifest as missing_blobs)",
            err=True,
        )


@main.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--check",
    is_flag=True,
    help="Only check the archive (manifest, every checksum, every blob against its name); "
    "change nothing.",
)
@click.option("--force", is_flag=True, help="Replace the contents of a database that is not empty.")
def restore_command(archive: Path, check: bool, force: bool) -> None:
    """Restore a backup into an empty database and this data directory (stop the servers
    first), or only --check it; exit 1 with the reason if it is damaged or refused.

    The database is migrated to the archive's revision (which must be this version's) and
    filled in one transaction: if anything fails, it is rolled back.
    """
    from server.backup_format import ArchiveError
    from server.backup_reader import check_archive
    from server.restore import RestoreFailed, RestoreRefused, restore

    if check and force:
        raise click.UsageError("--check changes nothing; --force has no use with it")
    if check:
        try:
            manifest = check_archive(archive)
        except ArchiveError as exc:
            raise click.ClickException(f"{archive} is not usable: {exc}") from None
        except OSError as exc:
            raise click.ClickException(f"{archive} cannot be read: {exc}") from None
        click.echo(
            f"{archive} is intact: made {manifest.created_at:%Y-%m-%d %H:%M:%S} UTC by hoinghi "
            f"{manifest.hoinghi_version} from {manifest.database}, revision "
            f"{manifest.alembic_revision}; {manifest.rows} rows in {len(manifest.tables)} "
            f"tables, {len(manifest.blobs)} blobs ({_megabytes(manifest.blob_bytes)}), "
            f"{len(manifest.files)} files"
        )
        if manifest.alembic_revision != migrate.head_revision():
            click.echo(
                f"note: this version of hoinghi is at revision {migrate.head_revision()}; "
                f"restore it with hoinghi {manifest.hoinghi_version}"
            )
        return
    settings = _settings()
    try:
        report = restore(settings, archive, force=force)
    except (ArchiveError, RestoreRefused) as exc:
        raise click.ClickException(f"nothing restored: {exc}") from None
    except RestoreFailed as exc:
        raise click.ClickException(str(exc)) from None
    except (SQLAlchemyError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise click.ClickException(f"nothing restored: {reason}") from None
    manifest = report.manifest
    click.echo(
        f"restored {manifest.rows} rows in {len(manifest.tables)} tables, "
        f"{len(manifest.blobs)} blobs and {len(manifest.files)} files from {archive} "
        f"(made {manifest.created_at:%Y-%m-%d %H:%M:%S} UTC from {manifest.database})"
    )
    for path in report.kept_aside:
        click.echo(f"the earlier {path.name.split('.before-restore-')[0]} is kept as {path}")
    for note in report.notes:
        click.echo(f"note: {note}", err=True)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@main.command("verify")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(pdf: Path) -> None:
    """Verify every signature in PDF against this deployment's trust; exit 1 unless all
    are valid."""
    from agenda.verify import verify_pdf
    from server.minutes.trust import TrustSource

    settings = _settings()
    data = pdf.read_bytes()

    if b"%PDF-" not in data[:1024]:
        raise click.ClickException(f"{pdf} is not a PDF")

    async def work(db: AsyncSession) -> list[Any]:
        return await verify_pdf(data, await TrustSource(settings).trust(db))

    try:
        reports = _run(settings, work)
    except click.ClickException:
        raise
    except Exception as exc:  # pyHanko's reader on a damaged file
        raise click.ClickException(f"{pdf} could not be read: {type(exc).__name__}") from None
    if not reports:
        click.echo("no signatures / không có chữ ký")
        sys.exit(1)
    for report in reports:
        click.echo(
            f"{report.field}: {report.signer} — {report.verdict}\n"
            f"  {report.verdict_vi}\n  {report.verdict_en}\n"
            f"  signed {report.signing_time}, timestamp {report.timestamp}, "
            f"changes after: {report.modification_level}"
        )
    sys.exit(0 if all(r.verdict == "valid" for r in reports) else 1)


if __name__ == "__main__":
    main()
