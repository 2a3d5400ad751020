"""The hoinghi command, run in-process against each database backend."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from server import migrate
from server.cli import main
from server.db import Database
from server.network.models import ConferencePoint
from server.tokens import token_hash


@pytest.fixture
def run(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {"HOINGHI_DATA_DIR": str(tmp_path / "data"), "HOINGHI_DATABASE_URL": database_url}

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return CliRunner(env=env).invoke(main, list(args), input=stdin, catch_exceptions=False)

    invoke.data_dir = tmp_path / "data"  # type: ignore[attr-defined]
    return invoke


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_every_command_has_help() -> None:
    commands = _commands(main)
    assert ("user", "add") in commands and ("point", "list") in commands
    for path in commands:
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.output


def test_migrate_reports_the_revision(run) -> None:  # type: ignore[no-untyped-def]
    result = run("migrate")
    assert result.exit_code == 0
    assert f"database at {migrate.head_revision()}" in result.output


def test_seed_demo_prints_passwords_once_and_keeps_them_private(run) -> None:  # type: ignore[no-untyped-def]
    first = run("seed-demo")
    assert first.exit_code == 0
    assert "204 conference points added" in first.output
    path = run.data_dir / "demo-accounts.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    admin_password = next(
        line.split("\t")[1] for line in path.read_text().splitlines() if line.startswith("admin\t")
    )
    assert admin_password in first.output

    second = run("seed-demo")
    assert "0 units and 0 conference points added" in second.output
    assert "passwords unchanged" in second.output
    assert admin_password not in second.output


def test_user_add_reads_the_password_from_stdin(run) -> None:  # type: ignore[no-untyped-def]
    run("seed-demo")
    added = run(
        "user", "add", "phochutich", "--role", "chair", "--role", "official",
        "--unit", "hoa-son", "--full-name", "Đặng Thị Nhung", "--password-stdin",
        stdin="một mật khẩu dài\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = run("user", "list", "--role", "chair")
    assert "phochutich\tĐặng Thị Nhung\tchair,official\thoa-son\tactive" in listed.output
    assert "một mật khẩu dài" not in listed.output


def test_user_add_refuses_bad_input(run) -> None:  # type: ignore[no-untyped-def]
    short = run("user", "add", "ab-user", "--role", "official", "--password-stdin", stdin="x\n")
    assert short.exit_code == 2
    assert "at least" in short.output
    role = run("user", "add", "someone", "--role", "mayor", "--password-stdin", stdin="x" * 12)
    assert role.exit_code == 2
    unit = run(
        "user", "add", "someone", "--role", "official", "--unit", "nowhere",
        "--password-stdin", stdin="một mật khẩu dài\n",
    )  # fmt: skip
    assert unit.exit_code == 1
    assert "unit 'nowhere' not found" in unit.output
    run("user", "add", "someone", "--role", "official", "--password-stdin", stdin="x" * 12)
    again = run("user", "add", "someone", "--role", "official", "--password-stdin", stdin="x" * 12)
    assert again.exit_code == 1
    assert "taken" in again.output


def test_point_add_prints_a_working_token_once(run, database_url: str) -> None:  # type: ignore[no-untyped-def]
    run("seed-demo")
    added = run(
        "point", "add", "Nhà văn hóa thôn 5", "--unit", "xa-tan-phu", "--location", "Thôn 5"
    )
    assert added.exit_code == 0, added.output
    token = added.output.split("keep it safe): ")[1].strip()
    assert token.startswith("hd_")

    async def stored_hash() -> str:
        db = Database(database_url)
        try:
            async with db.reader() as session:
                query = select(ConferencePoint.token_hash).where(
                    ConferencePoint.name == "Nhà văn hóa thôn 5"
                )
                return (await session.execute(query)).scalar_one()
        finally:
            await db.dispose()

    assert asyncio.run(stored_hash()) == token_hash(token)
    listed = run("point", "list", "--unit", "xa-tan-phu")
    assert "Nhà văn hóa thôn 5\toffline\tenabled" in listed.output
    assert token not in listed.output
    assert len(listed.output.strip().splitlines()) == 1 + 3

    point_id = added.output.split("added point ")[1].split(":")[0]
    rotated = run("point", "rotate-token", point_id)
    new_token = rotated.output.split("keep it safe): ")[1].strip()
    assert new_token != token
    assert asyncio.run(stored_hash()) == token_hash(new_token)


def test_serve_refuses_several_workers_without_postgres_and_redis(tmp_path: Path) -> None:
    env = {"HOINGHI_DATA_DIR": str(tmp_path), "HOINGHI_DATABASE_URL": "", "HOINGHI_REDIS_URL": ""}
    result = CliRunner(env=env).invoke(main, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "PostgreSQL" in result.output and "Redis" in result.output


def test_cli_applies_the_api_rules_to_names(run) -> None:  # type: ignore[no-untyped-def]
    run("seed-demo")
    spaces = run(
        "user", "add", "Bad Name!!", "--role", "official", "--password-stdin", stdin="x" * 12
    )
    assert spaces.exit_code == 2
    assert "USERNAME" in spaces.output
    too_long = run(
        "user", "add", "a" * 80, "--role", "official", "--password-stdin", stdin="x" * 12
    )
    assert too_long.exit_code == 2
    empty = run("point", "add", "", "--unit", "xa-tan-phu")
    assert empty.exit_code == 2
    assert "NAME" in empty.output
    control = run("point", "add", "Phòng\x00họp", "--unit", "xa-tan-phu")
    assert control.exit_code == 2
    huge = run("point", "rotate-token", str(2**80))
    assert huge.exit_code == 2
    missing = run("point", "rotate-token", "999999")
    assert missing.exit_code == 1
    assert "not found" in missing.output


def test_cli_on_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    env = {
        "HOINGHI_DATA_DIR": str(tmp_path),
        "HOINGHI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}",
    }
    result = CliRunner(env=env).invoke(main, ["user", "list"])
    assert result.exit_code == 1
    assert "run `hoinghi migrate`" in result.output
    assert "Traceback" not in result.output


def test_audit_verify_finds_a_changed_entry(run, database_url: str) -> None:  # type: ignore[no-untyped-def]
    from server import audit

    async def write_then_tamper(tamper: bool) -> None:
        db = Database(database_url)
        try:
            async with db.writer() as session:
                if tamper:
                    await session.execute(
                        update(audit.AuditEntry)
                        .where(audit.AuditEntry.action == "test.first")
                        .values(action="test.rewritten")
                    )
                else:
                    for action in ("test.first", "test.second"):
                        await audit.record(session, None, action, "test", 1)
                await session.commit()
        finally:
            await db.dispose()

    asyncio.run(write_then_tamper(False))
    intact = run("audit", "verify")
    assert intact.exit_code == 0
    assert "intact" in intact.output
    asyncio.run(write_then_tamper(True))
    broken = run("audit", "verify")
    assert broken.exit_code == 1
    assert "broken at entry" in broken.output


def test_demo_leaders_get_signing_certificates_and_verify_checks_a_signed_file(run) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from agenda import signing
    from server.minutes.trust import TrustSource
    from server.settings import load_settings
    from tests import pdfs

    seeded = run("seed-demo")
    assert "demo signing PINs" in seeded.output
    pins = dict(
        line.split("\t")
        for line in (run.data_dir / "demo-signing-pins.txt").read_text().splitlines()[1:]
    )
    assert set(pins) == {"thuky", "chutich"} and all(len(p) == 6 for p in pins.values())
    assert "demo signing PINs" not in run("seed-demo").output  # once
    refused = run("ca", "init")
    assert refused.exit_code != 0 and "already exists" in refused.output
    issued = run("ca", "issue", "canbo", "--pin-stdin", stdin="13572468\n")
    assert issued.exit_code == 0, issued.output
    assert "Lê Văn Nam" in issued.output

    settings = load_settings(data_dir=run.data_dir, database_url="sqlite://")
    source = TrustSource(settings)
    ca = source.ca()
    assert ca is not None
    cert, key = ca.issue("Trần Văn Hùng", "chutich")
    assert key is not None

    async def signed() -> bytes:
        pdf = signing.add_signature_fields(pdfs.pdf(1), signing.default_boxes(1))
        trust = signing.Trust([ca.root], [ca.intermediate], [ca.crl()], source.timestamper())
        return await signing.sign_with_key(pdf, 0, cert, key, trust, "Trần Văn Hùng")

    document = run.data_dir / "bien-ban.pdf"
    document.write_bytes(asyncio.run(signed()))
    checked = run("verify", str(document))
    assert checked.exit_code == 0, checked.output
    assert "Trần Văn Hùng — valid" in checked.output and "Chữ ký hợp lệ" in checked.output
    broken = bytearray(document.read_bytes())
    broken[800] ^= 1
    document.write_bytes(bytes(broken))
    assert run("verify", str(document)).exit_code == 1

    not_pdf = run.data_dir / "notes.pdf"
    not_pdf.write_text("ghi chú, không phải PDF")
    refused = run("verify", str(not_pdf))
    assert refused.exit_code == 1 and "is not a PDF" in refused.output
    bad_serial = run("ca", "crl", "--out", str(run.data_dir / "x.crl"), "--revoke", "zz")
    assert bad_serial.exit_code == 2 and "hexadecimal" in bad_serial.output

    crl = run.data_dir / "ca.crl"
    revoked = run("ca", "crl", "--out", str(crl), "--revoke", format(cert.serial_number, "x"))
    assert revoked.exit_code == 0 and "1 revoked" in revoked.output
    from cryptography import x509

    listed = x509.load_der_x509_crl(crl.read_bytes())
    assert listed.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
