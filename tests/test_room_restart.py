"""A restarted server rebuilds each live room from its event log; clients resume."""

from __future__ import annotations

import httpx

from rooms.store import EventStore
from server.db import Database
from server.identity import Role
from server.settings import Settings
from tests import pdfs
from tests.conftest import make_account, serving
from tests.province import make_province
from tests.roomclient import RoomClient, addressed_to


async def test_restart_rebuilds_the_room_and_clients_resume(settings: Settings) -> None:
    database = Database(settings.database_url)
    with serving(settings) as first:
        port = int(first.url.rsplit(":", 1)[1])
        ws = first.url.replace("http://", "ws://")
        async with httpx.AsyncClient(base_url=first.url) as client:
            accounts = {r.value: await make_account(database, client, r.value, r) for r in Role}
            p = await make_province(database, client, accounts)
            mid, (point,) = await p.live_meeting(1)
            device = await p.device(point)
            uploaded = await client.post(
                f"/api/meetings/{mid}/documents",
                headers=p.auth("secretary"),
                files={"file": ("to-trinh.pdf", pdfs.pdf(8), "application/pdf")},
                data={"title": "Tờ trình"},
            )
            document_id = uploaded.json()["id"]
            named = await client.post(
                f"/api/meetings/{mid}/documents",
                headers=p.auth("secretary"),
                files={"file": ("mat.pdf", pdfs.pdf(1), "application/pdf")},
                data={"scope": "named"},
            )
            chair = await RoomClient.open(ws, mid, p.auth("chair"))
            kiosk = await RoomClient.open(ws, mid, device)
            for c in (chair, kiosk):
                await c.wait_for(lambda f: f["type"] == "welcome")
            await kiosk.send("raise_hand")
            await chair.send("grant_floor", target=f"p:{point}")
            unknown = await chair.send("present", document_id=999_999, page=1)
            assert unknown["code"] == "not_found"
            secret = await chair.send("present", document_id=named.json()["id"], page=1)
            assert secret["code"] == "not_shared"
            beyond = await chair.send("present", document_id=document_id, page=9)
            assert beyond["code"] == "page_out_of_range"
            await chair.send("present", document_id=document_id, page=7)
            await kiosk.event("presentation.shown")
            last = kiosk.events()[-1]["seq"]
    # The server is gone; the sockets died with it.
    await kiosk.wait_closed()

    with serving(settings, port=port):
        back = await RoomClient.open(ws, mid, device, resume_from=last)
        await back.wait_for(lambda f: f["type"] == "resumed")
        joined = await back.event("member.joined", key=f"p:{point}")
        log = await EventStore(database).since(mid, 0)
        # The old connections ended with the old server...
        lost = [e for e in log if e.seq > last and e.kind == "member.left"]
        assert {e.data["key"] for e in lost} == {f"p:{point}", f"u:{p.accounts['chair'].id}"}
        # ...with the floor: its holder left.
        revoked = [f for f in back.events() if f["event"] == "floor.revoked"]
        assert [f["data"]["reason"] for f in revoked] == ["left"]
        # The point got exactly what was addressed to it since `last`, in order.
        seqs = [f["seq"] for f in back.events()]
        assert seqs == addressed_to(log, f"p:{point}", "point", after=last)
        assert seqs[-1] == joined["seq"]

        chair2 = await RoomClient.open(ws, mid, p.auth("chair"))
        welcome = await chair2.wait_for(lambda f: f["type"] == "welcome")
        snapshot = welcome["snapshot"]
        assert snapshot["presentation"] == {
            "document_id": document_id,
            "version": 1,
            "pages": 8,
            "title": "Tờ trình",
            "page": 7,
            "by": f"u:{p.accounts['chair'].id}",
        }
        assert snapshot["floor"] is None
        assert {m["key"] for m in snapshot["members"]} == {
            f"p:{point}",
            f"u:{p.accounts['chair'].id}",
        }
        for c in (back, chair2):
            await c.close()
    await database.dispose()
