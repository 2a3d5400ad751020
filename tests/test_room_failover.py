"""Two real server processes share a meeting through Redis; the owner is killed mid-meeting."""

from __future__ import annotations

from pathlib import Path

import httpx

from server.db import Database
from server.identity import Role
from tests.conftest import make_account
from tests.processes import server_process
from tests.province import make_province
from tests.roomclient import RoomClient, addressed_to


async def test_killing_the_owner_loses_nothing(
    database_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    env = {
        "HOINGHI_DATABASE_URL": database_url,
        "HOINGHI_REDIS_URL": redis_url,
        "HOINGHI_REDIS_PREFIX": redis_prefix,
        "HOINGHI_SECRET_KEY": "shared-secret",
    }
    database = Database(database_url)
    with (
        server_process(env, tmp_path / "a") as a,
        server_process(env, tmp_path / "b") as b,
    ):
        async with httpx.AsyncClient(base_url=a.url, timeout=30) as http:
            accounts = {r.value: await make_account(database, http, r.value, r) for r in Role}
            p = await make_province(database, http, accounts)
            points = sorted(await p.point_ids("xa-tan-phu"))
            mid = (await p.meeting())["id"]
            await p.invite(mid, point_ids=points)
            await p.step(mid, "schedule")
            await p.step(mid, "start", role="chair")
            devices = [await p.device(point) for point in points]

        # The chair joins through a first, so a owns the room; the points join through b.
        chair = await RoomClient.open(a.ws, mid, p.auth("chair"))
        await chair.wait_for(lambda f: f["type"] == "welcome")
        kiosks = [await RoomClient.open(b.ws, mid, d) for d in devices]
        for kiosk in kiosks:
            await kiosk.wait_for(lambda f: f["type"] == "welcome")
        assert (await kiosks[0].send("raise_hand"))["type"] == "ack"  # forwarded b -> a
        assert (await chair.send("next_floor"))["type"] == "ack"
        await kiosks[1].event("floor.granted")
        chair_before = chair.events()

        a.kill()
        await chair.wait_closed()
        # b takes the room over once a's lease lapses; the points keep talking meanwhile.
        assert (await kiosks[1].send("raise_hand"))["type"] == "ack"
        chair = await RoomClient.open(
            b.ws, mid, p.auth("chair"), resume_from=chair_before[-1]["seq"]
        )
        await chair.wait_for(lambda f: f["type"] == "resumed")
        assert (await chair.send("revoke_floor"))["type"] == "ack"
        assert (await chair.send("chat", text="Tiếp tục hội nghị"))["type"] == "ack"
        for kiosk in kiosks:
            await kiosk.event("chat.sent")
        await chair.event("chat.sent")

        events = await _log(database, mid)
        log = [e.seq for e in events]
        assert log == list(range(1, log[-1] + 1))
        # Every client saw every event addressed to it since it joined, once, in order.
        chair_seqs = [f["seq"] for f in chair_before + chair.events()]
        assert chair_seqs == list(range(chair_seqs[0], log[-1] + 1))  # the chair sees all
        for kiosk, point in zip(kiosks, points, strict=True):
            seqs = [f["seq"] for f in kiosk.events()]
            assert seqs == addressed_to(events, f"p:{point}", "point", after=seqs[0] - 1)
        kinds = [e.kind for e in await _log(database, mid)]
        # a's connection was dropped as lost when b rebuilt the room.
        assert "member.left" in kinds
        for client in (chair, *kiosks):
            await client.close()
    await database.dispose()


async def _log(database: Database, meeting_id: int):  # type: ignore[no-untyped-def]
    from rooms.store import EventStore

    return await EventStore(database).since(meeting_id, 0)
