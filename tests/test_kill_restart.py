"""kill -9 a real `hoinghi serve` in the middle of the slow things, start it again on the
same data, and find nothing half-done: an upload cut off leaves no document and no half
file; an approval cut off while signing leaves the minutes exactly as before, and signing
again works. (A live meeting's room after kill -9: tests/test_room_failover.py.) Both
databases."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from server.db import Database
from server.identity import Role
from server.minutes.trust import create_ca
from server.settings import load_settings
from tests import pdfs, test_minutes_writer
from tests.conftest import make_account
from tests.processes import ServerProcess, server_process
from tests.province import Province, make_province
from tests.test_minutes_writer import SlowTimestamps

SECRET = "kill-restart-secret"
slow_timestamps = test_minutes_writer.slow_timestamps  # the fixture: a TSA that waits


async def _province(
    server: ServerProcess, database: Database
) -> tuple[Province, httpx.AsyncClient]:
    http = httpx.AsyncClient(base_url=server.url, timeout=30)
    accounts = {r.value: await make_account(database, http, r.value, r) for r in Role}
    return await make_province(database, http, accounts), http


async def _signed_in(server: ServerProcess, p: Province) -> Province:
    """The same province, talking to a restarted server (tokens live in the database)."""
    return Province(httpx.AsyncClient(base_url=server.url, timeout=30), p.accounts, p.units)


def _stored_files(data_dir: Path) -> tuple[list[Path], list[Path]]:
    root = data_dir / "blobs"
    return (
        sorted(p for p in (root / "sha256").rglob("*") if p.is_file()),
        sorted((root / "tmp").iterdir()),
    )


async def test_an_upload_cut_off_by_kill_9_leaves_nothing(
    database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "server"
    env = {"HOINGHI_DATABASE_URL": database_url, "HOINGHI_SECRET_KEY": SECRET}
    database = Database(database_url)
    source = pdfs.pdf(40)
    boundary = "hoinghi-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + source
        + f"\r\n--{boundary}--\r\n".encode()
    )
    half_sent, killed = asyncio.Event(), asyncio.Event()
    try:
        with server_process(env, data_dir) as server:
            p, http = await _province(server, database)
            mid = (await p.meeting())["id"]
            before = _stored_files(data_dir)

            async def slowly() -> AsyncIterator[bytes]:
                yield body[: len(body) // 2]
                half_sent.set()
                await killed.wait()  # the rest comes only after the server died
                yield body[len(body) // 2 :]

            upload = asyncio.create_task(
                http.post(
                    f"/api/meetings/{mid}/documents",
                    headers=p.auth("secretary")
                    | {"Content-Type": f"multipart/form-data; boundary={boundary}"},
                    content=slowly(),
                )
            )
            await half_sent.wait()
            await asyncio.sleep(0.5)  # the server is reading the body into its staging area
            server.kill()
            killed.set()
            with pytest.raises(httpx.TransportError):
                await upload
            await http.aclose()

        with server_process(env, data_dir) as again:
            p = await _signed_in(again, p)
            listed = await p.client.get(
                f"/api/meetings/{mid}/documents", headers=p.auth("secretary")
            )
            assert listed.status_code == 200 and listed.json() == []
            blobs, staging = _stored_files(data_dir)
            assert blobs == before[0] and staging == []  # the half file was swept at start
            # And the same upload, whole, works.
            done = await p.client.post(
                f"/api/meetings/{mid}/documents",
                headers=p.auth("secretary"),
                files={"file": ("a.pdf", source, "application/pdf")},
            )
            assert done.status_code == 201, done.text
            await p.client.aclose()
    finally:
        await database.dispose()


async def test_an_approval_cut_off_while_signing_leaves_the_minutes_as_they_were(
    database_url: str, tmp_path: Path, slow_timestamps: SlowTimestamps
) -> None:
    data_dir = tmp_path / "server"
    settings = load_settings(
        data_dir=data_dir, database_url=database_url, secret_key=SECRET, seed_demo=False
    )
    create_ca(settings, "UBND tỉnh Thử nghiệm")
    slow_timestamps.settings = settings  # the stamper behind HTTP is the built-in CA's
    env = {
        "HOINGHI_DATABASE_URL": database_url,
        "HOINGHI_SECRET_KEY": SECRET,
        "HOINGHI_TSA_URL": slow_timestamps.url,
    }
    database = Database(database_url)
    pin = "246810"
    try:
        with server_process(env, data_dir) as server:
            p, http = await _province(server, database)
            secretary, chair = p.accounts["secretary"], p.accounts["chair"]
            for account in (secretary, chair):
                issued = await http.post(
                    f"/api/users/{account.id}/certificates/issue",
                    headers=account.auth,
                    json={"pin": pin, "password": account.password},
                )
                assert issued.status_code == 201, issued.text
            mid, _ = await p.live_meeting(points=1)
            assert (await p.step(mid, "end", role="chair")).status_code == 200
            url = f"/api/meetings/{mid}/minutes"
            assert (await http.post(url, headers=secretary.auth, json={})).status_code == 201
            submitted = await http.post(
                f"{url}/submit",
                headers=secretary.auth,
                json={"version": 1, "approvers": [secretary.id, chair.id]},
            )
            assert submitted.status_code == 200, submitted.text
            before = (await http.get(url, headers=secretary.auth)).json()

            approving = asyncio.create_task(
                http.post(
                    f"{url}/approve",
                    headers=secretary.auth,
                    json={"version": 1, "step": 0, "pin": pin},
                )
            )
            assert await asyncio.to_thread(slow_timestamps.arrived.wait, 30)
            server.kill()  # while the signature waits for its timestamp
            with pytest.raises(httpx.TransportError):
                await approving
            await http.aclose()

        slow_timestamps.arrived.clear()
        slow_timestamps.release.set()  # from now on timestamps come at once
        with server_process(env, data_dir) as again:
            p = await _signed_in(again, p)
            after = (await p.client.get(url, headers=secretary.auth)).json()
            assert after["steps"] == [] and after["status"] == before["status"]
            assert after["next_approver"] == secretary.id
            document = await p.client.get(f"{url}/document.pdf", headers=secretary.auth)
            assert document.status_code == 200, document.text
            reader = PdfReader(io.BytesIO(document.content))
            assert len(reader.pages) >= 1  # a whole PDF, not a broken one
            signed = await p.client.post(
                f"{url}/approve",
                headers=secretary.auth,
                json={"version": 1, "step": 0, "pin": pin},
            )
            assert signed.status_code == 200, signed.text
            assert [s["outcome"] for s in signed.json()["steps"]] == ["signed"]
            await p.client.aclose()
    finally:
        await database.dispose()
