"""The live room over real WebSockets against a live server."""

from __future__ import annotations

import asyncio
from typing import Any

from rooms.audience import receives
from rooms.state import Role
from tests.province import Province
from tests.roomclient import RoomClient


async def _live_meeting(province: Province, points: int = 2) -> tuple[int, list[int]]:
    """Scheduled, not started: its room is still a lobby."""
    return await province.live_meeting(points, start=False, usernames=["official"])


async def _open(province: Province, mid: int, headers: dict[str, str], **query: Any) -> RoomClient:
    return await RoomClient.open(province.ws_url, mid, headers, **query)


async def test_lobby_then_live_then_floor(live_province: Province) -> None:
    p = live_province
    mid, (point, _) = await _live_meeting(p)
    device = await p.device(point)
    kiosk = await _open(p, mid, device)
    lobby = await kiosk.wait_for(lambda f: f["type"] == "lobby")
    assert lobby["status"] == "scheduled"
    early = await kiosk.send("raise_hand")
    assert early["code"] == "room_not_open"

    assert (await p.step(mid, "start", role="chair")).status_code == 200
    welcome = await kiosk.wait_for(lambda f: f["type"] == "welcome")
    assert welcome["you"]["key"] == f"p:{point}"
    assert welcome["you"]["role"] == "point"

    chair = await _open(p, mid, p.auth("chair"))
    chair_welcome = await chair.wait_for(lambda f: f["type"] == "welcome")
    keys = {m["key"] for m in chair_welcome["snapshot"]["members"]}
    assert keys == {f"p:{point}", f"u:{p.accounts['chair'].id}"}

    raised = await kiosk.send("raise_hand")
    assert raised["type"] == "ack"
    await chair.event("hand.raised", key=f"p:{point}")
    granted = await chair.send("next_floor", seconds=60)
    assert granted["type"] == "ack"
    event = await kiosk.event("floor.granted", key=f"p:{point}")
    assert event["data"]["seconds"] == 60
    for client in (kiosk, chair):
        await client.close()
    await asyncio.sleep(0)


async def _live(province: Province, points: int = 2) -> tuple[int, list[int]]:
    return await province.live_meeting(points, usernames=["official"])


async def _joined(province: Province, mid: int, headers: dict[str, str], **q: Any) -> RoomClient:
    client = await _open(province, mid, headers, **q)
    await client.wait_for(lambda f: f["type"] in ("welcome", "resumed"))
    return client


async def test_bad_frames_get_errors_and_the_socket_stays(live_province: Province) -> None:
    p = live_province
    mid, _ = await _live(p)
    chair = await _joined(p, mid, p.auth("chair"))
    cases = [
        (b"\x00\x01", "binary_frame"),
        ("{not json", "malformed_json"),
        ("[1, 2]", "malformed_command"),
        ('{"type": "dance", "id": "x1"}', "unknown_type"),
        ('{"type": "grant_floor", "id": "x2", "target": "nobody"}', "invalid_command"),
        ('{"type": "ping", "id": "x3", "v": 2}', "unsupported_version"),
        ('{"type": "chat", "id": "x4", "text": "' + "a" * 20000 + '"}', "frame_too_large"),
    ]
    for raw, code in cases:
        await chair.send_raw(raw)
        error = await chair.wait_for(lambda f, c=code: f.get("code") == c)
        assert error["type"] == "error"
    assert (await chair.send("ping"))["type"] == "ack"
    refused = await chair.send("raise_hand")
    assert refused["code"] == "not_allowed"
    assert (await chair.send("ping"))["type"] == "ack"
    assert chair.closed is None
    await chair.close()


async def test_who_may_connect(live_province: Province) -> None:
    p = live_province
    mid, (point, _) = await _live(p)
    outsider_point = min(await p.point_ids("xa-hoa-binh"))
    cases = [
        ({}, 4401, "not_authenticated"),
        ({"Authorization": "Bearer hs_forged"}, 4401, "invalid_token"),
        ({"Authorization": "Bearer hd_forged"}, 4401, "invalid_token"),
        (await p.device(outsider_point), 4404, "not_found"),
        (p.auth("operator"), 4404, "not_found"),
    ]
    for headers, close_code, error_code in cases:
        client = await _open(p, mid, headers)
        if not headers:  # no credentials: the server waits for an auth frame; send another
            await client.send_raw('{"type": "ping", "id": "1"}')
        error = await client.wait_for(lambda f: f["type"] == "error")
        assert error["code"] == error_code
        assert (await client.wait_closed())[0] == close_code

    # A token in the query string or in a first "auth" message works for kiosks.
    token = (await p.device(point))["Authorization"].split()[1]
    by_query = await _joined(p, mid, {}, token=token)
    await by_query.close()
    by_message = await _open(p, mid, {})
    await by_message.send_raw('{"type": "auth", "token": "' + token + '"}')
    await by_message.wait_for(lambda f: f["type"] == "welcome")
    await by_message.close()

    # A session cookie from another site's page is refused (cross-site socket hijacking).
    cookie = {"Cookie": f"hoinghi_session={p.accounts['chair'].token}"}
    hijack = await _open(p, mid, {**cookie, "Origin": "https://evil.example"})
    assert (await hijack.wait_for(lambda f: f["type"] == "error"))["code"] == "bad_origin"
    same_site = await _joined(p, mid, {**cookie, "Origin": p.client.base_url.__str__().rstrip("/")})
    await same_site.close()


async def test_resume_gets_exactly_the_missed_events(live_province: Province) -> None:
    p = live_province
    mid, (point, other) = await _live(p)
    chair = await _joined(p, mid, p.auth("chair"))
    kiosk = await _joined(p, mid, await p.device(point))
    await kiosk.send("raise_hand")
    await chair.event("hand.raised")
    last_seen = kiosk.events()[-1]["seq"]
    await kiosk.close()

    second = await _joined(p, mid, await p.device(other))
    await second.send("raise_hand")
    await chair.send("next_floor")
    await chair.send("chat", text="Mời xã Tân Phú phát biểu")
    await chair.send("chat", text="Chỉ thư ký đọc", to="organizers")
    await chair.event("chat.sent", to="organizers")
    current = chair.events()[-1]["seq"]

    back = await _joined(p, mid, await p.device(point), resume_from=last_seen)
    resumed = back.frames[0]
    assert resumed["type"] == "resumed"
    await back.wait_for(
        lambda f: f.get("event") == "member.joined" and f["data"]["key"] == f"p:{point}"
    )
    seqs = [f["seq"] for f in back.events()]
    assert seqs == sorted(set(seqs)), "no duplicates, in order"
    assert seqs[0] == last_seen + 1
    missed_kinds = [f["event"] for f in back.events() if f["seq"] <= current]
    assert "floor.granted" in missed_kinds and "chat.sent" in missed_kinds
    # The organizers-only message is not in a point's backlog.
    assert all(f["data"].get("to") != "organizers" for f in back.events())
    # Exactly the events addressed to the point that it missed: the chair sees them all,
    # the point not the organizers' chat nor others' comings and goings.
    missed = [
        f["seq"]
        for f in chair.events()
        if last_seen < f["seq"] <= current
        and receives(f["event"], f["data"], f"p:{point}", Role.POINT)
    ]
    assert [s for s in seqs if s <= current] == missed
    assert not [
        f
        for f in back.events()
        if f["event"] == "member.joined" and f["data"]["key"] != f"p:{point}"
    ]

    # Resuming from too far back (or from the future) gets a fresh snapshot instead.
    for bad in (current + 100,):
        fresh = await _joined(p, mid, await p.device(point), resume_from=bad)
        assert fresh.frames[0]["type"] == "welcome"
        await fresh.close()
    for client in (chair, second, back):
        await client.close()


async def test_organizers_only_chat_reaches_only_organizers(live_province: Province) -> None:
    p = live_province
    mid, (point, _) = await _live(p)
    chair = await _joined(p, mid, p.auth("chair"))
    secretary = await _joined(p, mid, p.auth("secretary"))
    kiosk = await _joined(p, mid, await p.device(point))
    await kiosk.send("chat", text="Xin hỏi chủ tọa", to="organizers")
    await kiosk.send("chat", text="Xin chào tất cả", to="all")
    for client in (chair, secretary, kiosk):
        await client.event("chat.sent", text="Xin chào tất cả")
    assert (await secretary.event("chat.sent", to="organizers"))["data"]["from"] == f"p:{point}"
    await chair.event("chat.sent", to="organizers")
    await kiosk.event("chat.sent", to="organizers")  # the sender sees its own message
    official = await _joined(p, mid, p.auth("official"))
    await kiosk.send("chat", text="Lần nữa", to="organizers")
    await official.send("chat", text="sau", to="all")
    await official.event("chat.sent", text="sau")
    assert not [f for f in official.events() if f["data"].get("to") == "organizers"]
    for client in (chair, secretary, kiosk, official):
        await client.close()


async def test_ending_the_meeting_closes_every_socket(live_province: Province) -> None:
    p = live_province
    mid, (point, _) = await _live(p)
    chair = await _joined(p, mid, p.auth("chair"))
    kiosk = await _joined(p, mid, await p.device(point))
    assert (await p.step(mid, "end", role="chair")).status_code == 200
    for client in (chair, kiosk):
        await client.event("room.closed")
        code, reason = await client.wait_closed()
        assert code == 1000
        assert "ended" in reason
    late = await _open(p, mid, p.auth("chair"))
    lobby = await late.wait_for(lambda f: f["type"] == "lobby")
    assert lobby["status"] == "ended"
    assert (await late.wait_closed())[0] == 1000


async def test_joining_marks_the_invitation_attended(live_province: Province) -> None:
    p = live_province
    mid, (point, other) = await _live(p)
    kiosk = await _joined(p, mid, await p.device(point))
    # Recorded in batches, about a second after the join.
    for _ in range(50):
        invitations = (
            await p.client.get(f"/api/meetings/{mid}/invitations", headers=p.auth("secretary"))
        ).json()
        states = {i["point_id"]: i["state"] for i in invitations["items"] if i["kind"] == "point"}
        if states[point] == "attended":
            break
        await asyncio.sleep(0.1)
    assert states[point] == "attended"
    assert states[other] == "invited"
    await kiosk.close()


async def test_a_flooding_client_is_slowed_then_closed(live_province: Province) -> None:
    p = live_province
    mid, (point, _) = await _live(p)
    kiosk = await _joined(p, mid, await p.device(point))
    for i in range(400):
        await kiosk.send_raw('{"type": "ping", "id": "f' + str(i) + '"}')
    refused = await kiosk.wait_for(lambda f: f.get("code") == "rate_limited")
    # It names the command it refused: the client's wait for that answer ends.
    assert refused["id"].startswith("f")
    code, _ = await kiosk.wait_closed()
    assert code == 1008


async def test_a_timed_floor_lapses_by_itself(live_province: Province) -> None:
    p = live_province
    mid, (point, _) = await _live(p)
    chair = await _joined(p, mid, p.auth("chair"))
    kiosk = await _joined(p, mid, await p.device(point))
    await chair.send("grant_floor", target=f"p:{point}", seconds=10)
    await kiosk.event("floor.granted", key=f"p:{point}")
    lapsed = await kiosk.wait_for(
        lambda f: f.get("event") == "floor.revoked" and f["data"]["reason"] == "lapsed", within=20
    )
    assert lapsed["actor"] == "system"
    for client in (chair, kiosk):
        await client.close()


async def test_attendance_report_from_the_room_log(live_province: Province) -> None:
    import csv
    import io

    p = live_province
    mid, (point, absent) = await _live(p)
    chair = await _joined(p, mid, p.auth("chair"))
    kiosk = await _joined(p, mid, await p.device(point))
    await kiosk.close()
    await chair.event("member.left", key=f"p:{point}")
    kiosk = await _joined(p, mid, await p.device(point))
    assert (await p.step(mid, "end", role="chair")).status_code == 200
    await chair.wait_closed()

    report = (
        await p.client.get(f"/api/meetings/{mid}/attendance", headers=p.auth("secretary"))
    ).json()
    attendees = {a["key"]: a for a in report["attendees"]}
    assert len(attendees[f"p:{point}"]["intervals"]) == 2  # left once and came back
    assert all(i["left_at"] for a in attendees.values() for i in a["intervals"])
    assert [a["id"] for a in report["absent_points"]] == [absent]
    assert report["room_closed_at"] is not None

    response = await p.client.get(
        f"/api/meetings/{mid}/attendance", params={"format": "csv"}, headers=p.auth("secretary")
    )
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Loại", "Mã", "Tên", "Vai trò", "Vào lúc", "Ra lúc", "Số phút"]
    assert ["Điểm cầu", str(absent)] == rows[-1][:2] and rows[-1][4] == "vắng mặt"
    assert sum(1 for r in rows if r[1] == str(point) and r[4] != "vắng mặt") == 2
    forbidden = await p.client.get(f"/api/meetings/{mid}/attendance", headers=await p.device(point))
    assert forbidden.status_code == 403


async def test_sockets_closed_while_joining_leave_no_ghosts(live_province: Province) -> None:
    from websockets.asyncio.client import connect

    p = live_province
    mid, (point, _) = await _live(p)
    chair = await _joined(p, mid, p.auth("chair"))
    token = (await p.device(point))["Authorization"].split()[1]
    url = f"{p.ws_url}/ws/meetings/{mid}?token={token}"

    async def flicker(delay: float) -> None:
        ws = await connect(url)
        await asyncio.sleep(delay)
        await ws.close()

    # Several at a time: a point may hold at most four sockets in the room.
    for _wave in range(6):
        await asyncio.gather(*(flicker(0.01 * i) for i in range(4)))
    await asyncio.sleep(1)
    fresh = await _joined(p, mid, p.auth("chair"))
    keys = {m["key"] for m in fresh.frames[0]["snapshot"]["members"]}
    assert keys == {f"u:{p.accounts['chair'].id}"}
    for client in (chair, fresh):
        await client.close()


async def test_a_member_may_hold_only_a_few_sockets(live_province: Province) -> None:
    p = live_province
    mid, (point, _) = await _live(p)
    device = await p.device(point)
    held = [await _joined(p, mid, device) for _ in range(4)]
    extra = await _open(p, mid, device)
    error = await extra.wait_for(lambda f: f["type"] == "error")
    assert error["code"] == "too_many_connections"
    assert (await extra.wait_closed())[0] == 1008
    for client in held:
        await client.close()


async def test_rotating_a_token_closes_its_sockets(live_province: Province) -> None:
    p = live_province
    mid, (point, _) = await _live(p)
    old = await p.device(point)
    kiosk = await _joined(p, mid, old)
    await p.client.post(f"/api/points/{point}/rotate-token", headers=p.auth("admin"))
    error = await kiosk.wait_for(lambda f: f.get("code") == "disconnected")
    assert "token" in error["message"]
    assert (await kiosk.wait_closed())[0] == 4403
    # The old token no longer lets it in; nor does a disabled point's current one.
    again = await _open(p, mid, old)
    assert (await again.wait_for(lambda f: f["type"] == "error"))["code"] == "invalid_token"
    assert (await again.wait_closed())[0] == 4401
    current = await p.device(point)
    await p.client.patch(f"/api/points/{point}", json={"enabled": False}, headers=p.auth("admin"))
    disabled = await _open(p, mid, current)
    assert (await disabled.wait_for(lambda f: f["type"] == "error"))["code"] == "point_disabled"
    assert (await disabled.wait_closed())[0] == 4401


async def test_withdrawing_an_invitation_closes_the_socket(live_province: Province) -> None:
    p = live_province
    mid, (point, _) = await _live(p)
    kiosk = await _joined(p, mid, await p.device(point))
    invitations = (
        await p.client.get(f"/api/meetings/{mid}/invitations", headers=p.auth("secretary"))
    ).json()["items"]
    invitation = next(i for i in invitations if i["point_id"] == point)
    await p.client.delete(
        f"/api/meetings/{mid}/invitations/{invitation['id']}", headers=p.auth("secretary")
    )
    assert (await kiosk.wait_closed())[0] == 4403
    again = await _open(p, mid, await p.device(point))
    assert (await again.wait_for(lambda f: f["type"] == "error"))["code"] == "not_found"
    await again.wait_closed()


async def test_resuming_from_too_far_back_gets_a_fresh_snapshot(
    live_province: Province, monkeypatch: Any
) -> None:
    from rooms import hub

    p = live_province
    monkeypatch.setattr(hub, "MAX_RESUME_EVENTS", 3)  # the live server runs in this process
    mid, (point, _) = await _live(p)
    chair = await _joined(p, mid, p.auth("chair"))
    kiosk = await _joined(p, mid, await p.device(point))
    start = kiosk.frames[0]["snapshot"]["seq"]
    for n in range(5):
        await chair.send("chat", text=f"tin {n}")
    await kiosk.event("chat.sent", text="tin 4")
    await kiosk.close()
    back = await _joined(p, mid, await p.device(point), resume_from=start)
    assert back.frames[0]["type"] == "welcome"
    odd = await _joined(p, mid, p.auth("chair"), resume_from="²")
    assert odd.frames[0]["type"] == "welcome"
    for client in (chair, back, odd):
        await client.close()


async def test_a_huge_first_frame_is_not_parsed(live_province: Province) -> None:
    p = live_province
    mid, _ = await _live(p)
    client = await _open(p, mid, {})
    await client.send_raw('{"type": "auth", "token": "' + "x" * 200_000 + '"}')
    code, _ = await client.wait_closed()
    assert code in (1009, 4401)  # too big for the socket, or refused as no token
