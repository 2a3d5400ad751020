"""Every change to a meeting leaves a hash-chained audit entry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from server.audit import AuditEntry
from server.db import Database
from tests.province import Province, tomorrow_at


async def test_changes_invitations_and_transitions_are_audited(province: Province) -> None:
    c, auth = province.client, province.auth("secretary")
    meeting = await province.meeting("Họp kiểm tra", starts=tomorrow_at(8))
    mid = meeting["id"]
    await c.patch(f"/api/meetings/{mid}", headers=auth, json={"title": "Họp kiểm tra (sửa)"})
    await province.invite(mid, usernames=["official"])
    await province.step(mid, "schedule")

    page = (await c.get("/api/audit", params={"meeting": mid}, headers=auth)).json()
    entries = {e["action"]: e for e in page["items"]}
    assert [e["action"] for e in page["items"]] == [
        "meeting.schedule",
        "meeting.invite",
        "meeting.update",
        "meeting.create",
    ]
    update_entry = entries["meeting.update"]
    assert update_entry["before"] == {"title": "Họp kiểm tra"}
    assert update_entry["after"] == {"title": "Họp kiểm tra (sửa)"}
    assert update_entry["actor_name"] == "secretary"
    assert entries["meeting.schedule"]["before"] == {"status": "draft"}
    assert entries["meeting.schedule"]["after"] == {"status": "scheduled"}
    assert entries["meeting.invite"]["after"]["user_ids"] == [province.accounts["official"].id]
    created = entries["meeting.create"]["after"]
    assert datetime.fromisoformat(created["starts_at"]) == tomorrow_at(8)
    assert created["status"] == "draft"


async def test_who_may_read_the_audit(province: Province) -> None:
    c = province.client
    meeting = await province.meeting()
    mid = meeting["id"]
    assert (await c.get("/api/audit", headers=province.auth("admin"))).status_code == 200
    assert (await c.get("/api/audit", headers=province.auth("secretary"))).status_code == 403
    for role in ("official", "chair", "operator"):
        response = await c.get("/api/audit", params={"meeting": mid}, headers=province.auth(role))
        assert response.status_code == 403, role


async def test_the_chain_holds_and_tampering_is_found(province: Province, db: Database) -> None:
    c, admin = province.client, province.auth("admin")
    for title in ("Một", "Hai", "Ba"):
        await province.meeting(title)
    assert (await c.get("/api/audit/verify", headers=admin)).json() == {
        "intact": True,
        "first_broken_id": None,
    }
    page = (await c.get("/api/audit", headers=admin)).json()
    victim = page["items"][1]["id"]
    async with db.writer() as session:
        await session.execute(
            update(AuditEntry).where(AuditEntry.id == victim).values(actor_name="someone else")
        )
        await session.commit()
    assert (await c.get("/api/audit/verify", headers=admin)).json() == {
        "intact": False,
        "first_broken_id": victim,
    }


async def test_account_and_point_administration_is_audited_without_secrets(
    province: Province,
) -> None:
    c, admin = province.client, province.auth("admin")
    created = await c.post(
        "/api/users",
        headers=admin,
        json={"username": "moi", "full_name": "Người Mới", "roles": ["official"],
              "password": "mật khẩu bí mật 1"},
    )  # fmt: skip
    await c.patch(
        f"/api/users/{created.json()['id']}",
        headers=admin,
        json={"password": "mật khẩu bí mật 2", "roles": ["official", "operator"]},
    )
    point = min(await province.point_ids("xa-tan-phu"))
    rotated = await c.post(f"/api/points/{point}/rotate-token", headers=admin)
    await c.patch(f"/api/points/{point}", headers=admin, json={"location": "Tầng 2"})

    page = await c.get("/api/audit", headers=admin)
    text = page.text
    assert "mật khẩu bí mật" not in text
    assert rotated.json()["device_token"] not in text
    entries = [(e["action"], e["entity_id"], e["after"]) for e in page.json()["items"][:4]]
    assert entries[0] == ("point.update", point, {"location": "Tầng 2"})
    assert entries[1] == ("point.rotate_token", point, None)
    assert entries[2][0] == "user.update"
    assert entries[2][2] == {"roles": ["official", "operator"], "password": "changed"}
    assert entries[3][0] == "user.create"
    assert entries[3][2]["username"] == "moi"


async def test_agenda_answers_and_withdrawals_are_audited(province: Province) -> None:
    c, auth = province.client, province.auth("secretary")
    mid = (await province.meeting())["id"]
    item = (await c.post(f"/api/meetings/{mid}/agenda", headers=auth, json={"title": "A"})).json()
    await c.patch(f"/api/meetings/{mid}/agenda/{item['id']}", headers=auth, json={"title": "B"})
    invited = (await province.invite(mid, usernames=["official", "operator"])).json()["added"]
    await province.step(mid, "schedule")
    await c.put(
        f"/api/meetings/{mid}/invitations/me",
        headers=province.auth("official"),
        json={"state": "declined", "note": "Bận"},
    )
    operator_invitation = next(
        i for i in invited if i["user_id"] == province.accounts["operator"].id
    )
    await c.delete(f"/api/meetings/{mid}/invitations/{operator_invitation['id']}", headers=auth)
    await c.delete(f"/api/meetings/{mid}/agenda/{item['id']}", headers=auth)
    actions = [
        e["action"]
        for e in (await c.get("/api/audit", params={"meeting": mid}, headers=auth)).json()["items"]
    ]
    assert actions[:6] == [
        "agenda.delete",
        "meeting.uninvite",
        "invitation.answer",
        "meeting.schedule",
        "meeting.invite",
        "agenda.update",
    ]


async def test_concurrent_changes_keep_the_chain_whole(province: Province) -> None:
    import asyncio

    c = province.client
    mids = [(await province.meeting(f"Họp {i}"))["id"] for i in range(3)]
    await asyncio.gather(
        *(
            c.post(f"/api/meetings/{mid}/agenda", headers=province.auth("secretary"),
                   json={"title": f"Mục {n}"})
            for mid in mids
            for n in range(6)
        )
    )  # fmt: skip
    check = (await c.get("/api/audit/verify", headers=province.auth("admin"))).json()
    assert check == {"intact": True, "first_broken_id": None}
    total = (await c.get("/api/audit", headers=province.auth("admin"))).json()["total"]
    assert total == 3 + 18
