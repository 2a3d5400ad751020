"""Meetings through the API: scheduling, invitations, visibility, lifecycle, agenda, paging."""

from __future__ import annotations

from datetime import timedelta

from tests.province import Province, tomorrow_at


async def test_a_secretary_runs_the_monthly_briefing_end_to_end(province: Province) -> None:
    c = province.client
    meeting = await province.meeting("Giao ban trực tuyến tháng 12", starts=tomorrow_at(8))
    mid = meeting["id"]
    assert meeting["status"] == "draft"

    invited = await province.invite(mid, unit_ids=[province.units["hoa-son"]])
    assert invited.status_code == 200
    assert len(invited.json()["added"]) == 204
    assert invited.json()["warnings"] == []
    for title in ("Khai mạc", "Báo cáo tình hình tháng 11", "Thảo luận", "Kết luận"):
        item = await c.post(
            f"/api/meetings/{mid}/agenda", headers=province.auth("secretary"), json={"title": title}
        )
        assert item.status_code == 201
    assert (await province.step(mid, "schedule")).json()["meeting"]["status"] == "scheduled"

    commune_point = min(await province.point_ids("xa-tan-phu"))
    device = await province.device(commune_point)
    listed = (await c.get("/api/meetings", headers=device)).json()
    assert [m["title"] for m in listed["items"]] == ["Giao ban trực tuyến tháng 12"]
    assert listed["items"][0]["my_invitation"] == "invited"
    agenda = (await c.get(f"/api/meetings/{mid}/agenda", headers=device)).json()
    assert [i["position"] for i in agenda] == [1, 2, 3, 4]

    started = await province.step(mid, "start", role="chair")
    assert started.status_code == 200
    assert started.json()["meeting"]["status"] == "live"
    assert started.json()["meeting"]["started_at"] is not None


async def test_times_are_kept_in_utc_and_naive_times_refused(province: Province) -> None:
    meeting = await province.meeting(starts=tomorrow_at(8))
    # 08:00 in Hà Nội is 01:00 UTC.
    assert meeting["starts_at"].endswith("T01:00:00Z")
    naive = await province.client.post(
        "/api/meetings",
        headers=province.auth("secretary"),
        json={
            "title": "X",
            "host_unit_id": province.units["hoa-son"],
            "chair_id": province.accounts["chair"].id,
            "starts_at": "2026-12-01T08:00:00",
            "ends_at": "2026-12-01T10:00:00",
        },
    )
    assert naive.status_code == 422
    assert {e["field"] for e in naive.json()["errors"]} == {"starts_at", "ends_at"}


async def test_bad_meeting_input_names_the_field(province: Province) -> None:
    c, auth = province.client, province.auth("secretary")
    base = {
        "title": "X",
        "host_unit_id": province.units["hoa-son"],
        "chair_id": province.accounts["chair"].id,
        "starts_at": tomorrow_at(10).isoformat(),
        "ends_at": tomorrow_at(9).isoformat(),
    }
    backwards = await c.post("/api/meetings", headers=auth, json=base)
    assert backwards.status_code == 422
    assert "ends_at must be after starts_at" in backwards.text
    not_a_chair = await c.post(
        "/api/meetings",
        headers=auth,
        json={**base, "ends_at": tomorrow_at(11).isoformat(),
              "chair_id": province.accounts["official"].id},
    )  # fmt: skip
    assert not_a_chair.status_code == 422
    assert not_a_chair.json()["errors"][0]["field"] == "chair_id"
    meeting = await province.meeting()
    unknown = await province.invite(
        meeting["id"], usernames=["nobody", "chair"], point_ids=[999999]
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [
        {"field": "point_ids[0]", "message": "no conference point 999999"}
    ]
    nobody = await province.invite(meeting["id"], usernames=["nobody", "chair"])
    assert nobody.json()["errors"] == [{"field": "usernames[0]", "message": "no user 'nobody'"}]
    empty = await province.invite(meeting["id"])
    assert empty.status_code == 422


async def test_only_secretaries_and_admins_create_meetings(province: Province) -> None:
    for role in ("official", "chair", "operator"):
        response = await province.client.post("/api/meetings", headers=province.auth(role), json={})
        assert response.status_code == 403, role


async def test_inviting_by_unit_covers_exactly_the_enabled_points_under_it(
    province: Province,
) -> None:
    meeting = await province.meeting()
    points = await province.point_ids("xa-hoa-binh")
    assert len(points) == 2
    disabled = max(points)
    await province.client.patch(
        f"/api/points/{disabled}", headers=province.auth("admin"), json={"enabled": False}
    )
    result = await province.invite(meeting["id"], unit_ids=[province.units["xa-hoa-binh"]])
    assert {i["point_id"] for i in result.json()["added"]} == points - {disabled}
    again = await province.invite(
        meeting["id"], unit_ids=[province.units["xa-hoa-binh"]], usernames=["official"]
    )
    assert again.json()["already_invited"] == 1
    assert [i["kind"] for i in again.json()["added"]] == ["user"]
    listed = (
        await province.client.get(
            f"/api/meetings/{meeting['id']}/invitations", headers=province.auth("secretary")
        )
    ).json()
    assert len(listed["items"]) == 2
    assert listed["counts"]["invited"] == 2


async def test_overlapping_meetings_for_the_same_point_are_reported(province: Province) -> None:
    point = min(await province.point_ids("xa-tan-phu"))
    first = await province.meeting("Họp A", starts=tomorrow_at(8), hours=2)
    await province.invite(first["id"], point_ids=[point])

    overlapping = await province.meeting("Họp B", starts=tomorrow_at(9), hours=2)
    result = await province.invite(overlapping["id"], point_ids=[point])
    assert result.status_code == 200
    assert len(result.json()["added"]) == 1  # reported, not refused
    [warning] = result.json()["warnings"]
    assert warning["meeting_id"] == first["id"]
    assert warning["meeting_title"] == "Họp A"
    assert [p["id"] for p in warning["points"]] == [point]

    later = await province.meeting("Họp C", starts=tomorrow_at(14), hours=1)
    assert (await province.invite(later["id"], point_ids=[point])).json()["warnings"] == []
    # Moving C onto A's and B's time reports both conflicts.
    moved = await province.client.patch(
        f"/api/meetings/{later['id']}",
        headers=province.auth("secretary"),
        json={"starts_at": tomorrow_at(8).isoformat(), "ends_at": tomorrow_at(10).isoformat()},
    )
    assert moved.status_code == 200
    assert {w["meeting_id"] for w in moved.json()["warnings"]} == {first["id"], overlapping["id"]}
    assert moved.json()["meeting"]["sequence"] == 1
    # A cancelled meeting no longer holds the point's time.
    await province.step(first["id"], "cancel")
    schedule = await province.step(later["id"], "schedule")
    assert {w["meeting_id"] for w in schedule.json()["warnings"]} == {overlapping["id"]}


async def test_visibility_follows_invitations_and_confidentiality(province: Province) -> None:
    c = province.client
    point = min(await province.point_ids("xa-tan-phu"))
    other_point = min(await province.point_ids("xa-hoa-binh"))
    secret = await province.meeting("Họp mật", classification="confidential")
    normal = await province.meeting("Họp thường")
    for meeting in (secret, normal):
        await province.invite(meeting["id"], point_ids=[point])
    # Drafts are for their organizers only.
    invited_device = await province.device(point)
    assert (await c.get("/api/meetings", headers=invited_device)).json()["total"] == 0
    for meeting in (secret, normal):
        await province.step(meeting["id"], "schedule")

    def titles(response):  # type: ignore[no-untyped-def]
        return {m["title"] for m in response.json()["items"]}

    assert titles(await c.get("/api/meetings", headers=invited_device)) == {"Họp mật", "Họp thường"}
    stranger_device = await province.device(other_point)
    assert titles(await c.get("/api/meetings", headers=stranger_device)) == set()
    hidden = await c.get(f"/api/meetings/{secret['id']}", headers=stranger_device)
    assert hidden.status_code == 404

    # An official sees only what they are invited to.
    official = province.auth("official")
    assert titles(await c.get("/api/meetings", headers=official)) == set()
    await province.invite(secret["id"], usernames=["official"])
    assert titles(await c.get("/api/meetings", headers=official)) == {"Họp mật"}

    # Another secretary plans around normal meetings but never sees confidential ones.
    other = await _second_secretary(province)
    assert titles(await c.get("/api/meetings", headers=other)) == {"Họp thường"}
    assert (await c.get(f"/api/meetings/{secret['id']}", headers=other)).status_code == 404
    assert (await c.get(f"/api/meetings/{secret['id']}.ics", headers=other)).status_code == 404
    # ...and cannot change what they see.
    patch = await c.patch(f"/api/meetings/{normal['id']}", headers=other, json={"title": "Y"})
    assert patch.status_code == 403

    # The operator of a unit sees what the unit's points are invited to.
    operator = province.accounts["operator"]
    await c.patch(
        f"/api/users/{operator.id}",
        headers=province.auth("admin"),
        json={"unit_id": province.units["xa-tan-phu"]},
    )
    assert titles(await c.get("/api/meetings", headers=operator.auth)) == {"Họp mật", "Họp thường"}

    assert titles(await c.get("/api/meetings", headers=province.auth("admin"))) == {
        "Họp mật",
        "Họp thường",
    }


async def _second_secretary(province: Province) -> dict[str, str]:
    from tests.conftest import PASSWORD

    c = province.client
    await c.post(
        "/api/users",
        headers=province.auth("admin"),
        json={"username": "thuky2", "full_name": "Thư ký hai", "roles": ["secretary"],
              "password": PASSWORD},
    )  # fmt: skip
    token = (
        await c.post("/api/auth/login", json={"username": "thuky2", "password": PASSWORD})
    ).json()["token"]
    c.cookies.clear()
    return {"Authorization": f"Bearer {token}"}


async def test_illegal_steps_answer_409_with_the_current_status(province: Province) -> None:
    meeting = await province.meeting()
    mid = meeting["id"]
    early = await province.step(mid, "start", role="chair")
    assert early.status_code == 409
    assert early.json()["code"] == "invalid_transition"
    assert early.json()["current_status"] == "draft"
    assert (await province.step(mid, "schedule")).status_code == 200
    forbidden = await province.step(mid, "start", role="operator")
    assert forbidden.status_code == 404  # the operator cannot even see it
    assert (await province.step(mid, "start", role="chair")).status_code == 200
    cancel = await province.step(mid, "cancel")
    assert cancel.status_code == 409
    assert cancel.json()["current_status"] == "live"
    assert (await province.step(mid, "end", role="secretary")).status_code == 200
    # Closing needs approved minutes; until the minutes exist, only an admin closes.
    assert (await province.step(mid, "close", role="chair")).status_code == 403
    closed = await province.step(mid, "close", role="admin")
    assert closed.json()["meeting"]["status"] == "closed"
    for action in ("schedule", "start", "end", "close", "cancel"):
        assert (await province.step(mid, action, role="admin")).status_code == 409


async def test_points_and_people_answer_their_own_invitations(province: Province) -> None:
    c = province.client
    point = min(await province.point_ids("xa-tan-phu"))
    meeting = await province.meeting()
    mid = meeting["id"]
    await province.invite(mid, point_ids=[point], usernames=["official"])
    device = await province.device(point)
    body = {"state": "accepted", "note": "Có 12 đại biểu"}
    # Not yet: a draft is not published.
    draft = await c.put(f"/api/meetings/{mid}/invitations/me", headers=device, json=body)
    assert draft.status_code == 404
    await province.step(mid, "schedule")
    answered = await c.put(f"/api/meetings/{mid}/invitations/me", headers=device, json=body)
    assert answered.status_code == 200
    assert answered.json()["state"] == "accepted"
    declined = await c.put(
        f"/api/meetings/{mid}/invitations/me",
        headers=province.auth("official"),
        json={"state": "declined"},
    )
    assert declined.json()["state"] == "declined"
    cheat = await c.put(
        f"/api/meetings/{mid}/invitations/me", headers=device, json={"state": "attended"}
    )
    assert cheat.status_code == 422
    not_invited = await c.put(
        f"/api/meetings/{mid}/invitations/me", headers=province.auth("operator"), json=body
    )
    assert not_invited.status_code == 404
    counts = (await c.get(f"/api/meetings/{mid}/invitations", headers=device)).json()["counts"]
    assert (counts["accepted"], counts["declined"]) == (1, 1)


async def test_agenda_is_ordered_edited_and_frozen_after_the_meeting(province: Province) -> None:
    c, auth = province.client, province.auth("secretary")
    mid = (await province.meeting())["id"]
    ids = []
    for title in ("Một", "Hai", "Ba"):
        item = await c.post(f"/api/meetings/{mid}/agenda", headers=auth, json={"title": title})
        ids.append(item.json()["id"])
    reordered = await c.put(
        f"/api/meetings/{mid}/agenda/order", headers=auth, json={"item_ids": ids[::-1]}
    )
    assert [i["title"] for i in reordered.json()] == ["Ba", "Hai", "Một"]
    incomplete = await c.put(
        f"/api/meetings/{mid}/agenda/order", headers=auth, json={"item_ids": ids[:2]}
    )
    assert incomplete.status_code == 422
    edited = await c.patch(
        f"/api/meetings/{mid}/agenda/{ids[0]}",
        headers=auth,
        json={"presenter_name": "Giám đốc Sở Tài chính", "planned_minutes": 20},
    )
    assert edited.json()["presenter_name"] == "Giám đốc Sở Tài chính"
    assert (await c.delete(f"/api/meetings/{mid}/agenda/{ids[1]}", headers=auth)).status_code == 204
    listed = (await c.get(f"/api/meetings/{mid}/agenda", headers=auth)).json()
    assert [i["title"] for i in listed] == ["Ba", "Một"]
    official = await c.post(
        f"/api/meetings/{mid}/agenda", headers=province.auth("chair"), json={"title": "Bốn"}
    )
    assert official.status_code == 201  # the chair organizes too

    for action, role in (("schedule", "secretary"), ("start", "chair"), ("end", "chair")):
        await province.step(mid, action, role=role)
    frozen = await c.post(f"/api/meetings/{mid}/agenda", headers=auth, json={"title": "Muộn"})
    assert frozen.status_code == 409
    assert frozen.json()["current_status"] == "ended"
    gone = await c.delete(f"/api/meetings/{mid}/agenda/{ids[0]}", headers=auth)
    assert gone.status_code == 409


async def test_listing_pages_and_filters(province: Province) -> None:
    c, auth = province.client, province.auth("secretary")
    for day in range(7):
        await province.meeting(f"Họp ngày {day}", starts=tomorrow_at(8) + timedelta(days=day))
    first = (await c.get("/api/meetings", params={"limit": 3}, headers=auth)).json()
    second = (await c.get("/api/meetings", params={"limit": 3, "offset": 3}, headers=auth)).json()
    third = (await c.get("/api/meetings", params={"limit": 3, "offset": 6}, headers=auth)).json()
    assert first["total"] == second["total"] == third["total"] == 7
    titles = [m["title"] for page in (first, second, third) for m in page["items"]]
    assert titles == [f"Họp ngày {d}" for d in range(7)]

    window = {
        "from": (tomorrow_at(8) + timedelta(days=2)).isoformat(),
        "to": (tomorrow_at(8) + timedelta(days=4)).isoformat(),
    }
    in_window = (await c.get("/api/meetings", params=window, headers=auth)).json()
    assert [m["title"] for m in in_window["items"]] == ["Họp ngày 2", "Họp ngày 3"]
    live = (await c.get("/api/meetings", params={"status": "live"}, headers=auth)).json()
    assert live["total"] == 0
    drafts = (await c.get("/api/meetings", params={"status": "draft"}, headers=auth)).json()
    assert drafts["total"] == 7
    found = (await c.get("/api/meetings", params={"q": "hop ngay 5"}, headers=auth)).json()
    assert [m["title"] for m in found["items"]] == ["Họp ngày 5"]
    naive = await c.get("/api/meetings", params={"from": "2026-12-01T00:00:00"}, headers=auth)
    assert naive.status_code == 422


async def test_point_filter_lists_a_points_schedule(province: Province) -> None:
    point = min(await province.point_ids("xa-tan-phu"))
    a = await province.meeting("A")
    await province.meeting("B")
    await province.invite(a["id"], point_ids=[point])
    listed = await province.client.get(
        "/api/meetings", params={"point": point}, headers=province.auth("admin")
    )
    assert [m["title"] for m in listed.json()["items"]] == ["A"]


async def test_a_point_with_meetings_cannot_be_deleted(province: Province) -> None:
    point = min(await province.point_ids("xa-tan-phu"))
    meeting = await province.meeting()
    await province.invite(meeting["id"], point_ids=[point])
    response = await province.client.delete(f"/api/points/{point}", headers=province.auth("admin"))
    assert response.status_code == 409
    assert response.json()["code"] == "point_in_use"


async def test_conflicts_with_meetings_the_caller_cannot_see_hide_them(
    province: Province,
) -> None:
    from tests.test_meetings import _second_secretary

    point = min(await province.point_ids("xa-tan-phu"))
    other = await _second_secretary(province)
    secret = await province.client.post(
        "/api/meetings",
        headers=other,
        json={
            "title": "Họp mật: nhân sự chủ chốt",
            "host_unit_id": province.units["hoa-son"],
            "chair_id": province.accounts["chair"].id,
            "starts_at": tomorrow_at(8).isoformat(),
            "ends_at": tomorrow_at(10).isoformat(),
            "classification": "confidential",
        },
    )
    await province.client.post(
        f"/api/meetings/{secret.json()['id']}/invitations",
        headers=other,
        json={"point_ids": [point]},
    )
    mine = await province.meeting("Họp của tôi", starts=tomorrow_at(9))
    result = await province.invite(mine["id"], point_ids=[point])
    [warning] = result.json()["warnings"]
    assert warning["meeting_id"] is None and warning["meeting_title"] is None
    assert [p["id"] for p in warning["points"]] == [point]
    assert "nhân sự" not in result.text


async def test_a_cancelled_draft_stays_unpublished(province: Province) -> None:
    c = province.client
    draft = await province.meeting("Xem xét kỷ luật ông X")
    await province.invite(draft["id"], usernames=["official"])
    assert (await province.step(draft["id"], "cancel")).status_code == 200
    assert (
        await c.get(f"/api/meetings/{draft['id']}", headers=province.auth("official"))
    ).status_code == 404
    assert (await c.get("/api/meetings", headers=province.auth("official"))).json()["total"] == 0
    # A meeting cancelled after it was scheduled stays visible to invitees, as cancelled.
    published = await province.meeting("Họp đã lên lịch")
    await province.invite(published["id"], usernames=["official"])
    await province.step(published["id"], "schedule")
    await province.step(published["id"], "cancel")
    seen = await c.get(f"/api/meetings/{published['id']}", headers=province.auth("official"))
    assert seen.json()["status"] == "cancelled"


async def test_totals_count_every_matching_row_for_an_admin(province: Province) -> None:
    admin = province.auth("admin")
    for day in range(4):
        await province.meeting(f"Họp {day}", starts=tomorrow_at(8) + timedelta(days=day))
    page = (await province.client.get("/api/meetings", params={"limit": 2}, headers=admin)).json()
    assert page["total"] == 4 and len(page["items"]) == 2
    users = (await province.client.get("/api/users", params={"limit": 2}, headers=admin)).json()
    assert users["total"] == 9  # 5 role accounts + the 4 demo accounts not named "admin"
    audit = (await province.client.get("/api/audit", params={"limit": 1}, headers=admin)).json()
    assert audit["total"] == 4


async def test_implausible_times_are_refused_not_crashed_on(province: Province) -> None:
    c, auth = province.client, province.auth("secretary")
    base = {
        "title": "X",
        "host_unit_id": province.units["hoa-son"],
        "chair_id": province.accounts["chair"].id,
    }
    for starts, ends in (
        ("0001-01-01T00:00:00+05:00", "2026-12-01T10:00:00+07:00"),
        ("2026-12-01T08:00:00+07:00", "9999-12-31T23:00:00-05:00"),
    ):
        response = await c.post(
            "/api/meetings", headers=auth, json={**base, "starts_at": starts, "ends_at": ends}
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
    listing = await c.get(
        "/api/meetings", params={"from": "0001-01-01T00:00:00+05:00"}, headers=auth
    )
    assert listing.status_code == 422
    unknown_unit = await c.post(
        "/api/meetings",
        headers=auth,
        json={**base, "host_unit_id": 999999, "starts_at": tomorrow_at(8).isoformat(),
              "ends_at": tomorrow_at(9).isoformat()},
    )  # fmt: skip
    assert unknown_unit.status_code == 422
    assert unknown_unit.json()["errors"][0]["field"] == "host_unit_id"


async def test_disabled_points_and_accounts_are_not_invited(province: Province) -> None:
    c, admin = province.client, province.auth("admin")
    point = min(await province.point_ids("xa-tan-phu"))
    await c.patch(f"/api/points/{point}", headers=admin, json={"enabled": False})
    await c.patch(
        f"/api/users/{province.accounts['official'].id}", headers=admin, json={"active": False}
    )
    meeting = await province.meeting()
    by_id = await province.invite(meeting["id"], point_ids=[point])
    assert by_id.status_code == 422
    assert by_id.json()["errors"] == [
        {"field": "point_ids[0]", "message": f"point {point} is disabled"}
    ]
    by_name = await province.invite(meeting["id"], usernames=["official"])
    assert by_name.json()["errors"][0]["message"] == "user 'official' is disabled"


async def test_a_secretary_who_loses_the_role_loses_the_powers(province: Province) -> None:
    meeting = await province.meeting()
    await province.client.patch(
        f"/api/users/{province.accounts['secretary'].id}",
        headers=province.auth("admin"),
        json={"roles": ["official"]},
    )
    response = await province.client.patch(
        f"/api/meetings/{meeting['id']}", headers=province.auth("secretary"), json={"title": "Y"}
    )
    assert response.status_code == 403


async def test_many_writes_at_once_do_not_exhaust_the_connection_pool(province: Province) -> None:
    import asyncio

    mid = (await province.meeting())["id"]
    auth = province.auth("secretary")
    responses = await asyncio.gather(
        *(
            province.client.post(
                f"/api/meetings/{mid}/agenda", headers=auth, json={"title": f"Mục {i}"}
            )
            for i in range(30)
        )
    )
    assert [r.status_code for r in responses] == [201] * 30
    agenda = (await province.client.get(f"/api/meetings/{mid}/agenda", headers=auth)).json()
    assert sorted(i["position"] for i in agenda) == list(range(1, 31))
