"""Meetings as iCalendar: parsed back with the icalendar package, times in the province zone."""

from __future__ import annotations

from datetime import timedelta

import httpx
from icalendar import Calendar

from tests.province import VN, Province, tomorrow_at


def _events(response: httpx.Response) -> dict[str, dict[str, object]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return {
        str(event["summary"]): {
            "uid": str(event["uid"]),
            "start": event.decoded("dtstart"),
            "end": event.decoded("dtend"),
            "status": str(event["status"]),
            "sequence": int(event["sequence"]),
            "description": str(event.get("description", "")),
        }
        for event in calendar.walk("VEVENT")
    }


async def _feed_path(province: Province, headers: dict[str, str]) -> str:
    response = await province.client.post("/api/calendar/feed", headers=headers)
    assert response.status_code == 201
    url: str = response.json()["url"]
    assert url.startswith("http://testserver/api/calendar/hc_")
    return url.removeprefix("http://testserver")


async def test_a_meeting_ics_has_its_times_in_the_province_zone(province: Province) -> None:
    meeting = await province.meeting("Giao ban tháng 12", starts=tomorrow_at(8), hours=2)
    await province.client.post(
        f"/api/meetings/{meeting['id']}/agenda",
        headers=province.auth("secretary"),
        json={"title": "Báo cáo kinh tế - xã hội", "presenter_name": "Sở Tài chính"},
    )
    events = _events(
        await province.client.get(
            f"/api/meetings/{meeting['id']}.ics", headers=province.auth("secretary")
        )
    )
    event = events["Giao ban tháng 12"]
    assert event["start"] == tomorrow_at(8)
    assert event["end"] == tomorrow_at(10)
    assert event["start"].tzinfo.key == "Asia/Ho_Chi_Minh"  # type: ignore[attr-defined]
    assert event["start"].hour == 8  # type: ignore[attr-defined]
    assert event["status"] == "TENTATIVE"  # still a draft
    assert "1. Báo cáo kinh tế - xã hội — Sở Tài chính" in str(event["description"])
    # The UID is fixed per deployment, not taken from the request's Host header.
    assert event["uid"] == f"meeting-{meeting['id']}@hoinghi"
    spoofed = await province.client.get(
        f"/api/meetings/{meeting['id']}.ics",
        headers={**province.auth("secretary"), "Host": "evil.example"},
    )
    assert _events(spoofed)["Giao ban tháng 12"]["uid"] == event["uid"]


async def test_a_points_feed_follows_reschedules_and_cancellations(province: Province) -> None:
    c = province.client
    point = min(await province.point_ids("xa-tan-phu"))
    kept = await province.meeting("Giao ban", starts=tomorrow_at(8))
    dropped = await province.meeting("Tập huấn", starts=tomorrow_at(14))
    other = await province.meeting("Không mời", starts=tomorrow_at(16))
    for meeting in (kept, dropped):
        await province.invite(meeting["id"], point_ids=[point])
    for meeting in (kept, dropped, other):
        await province.step(meeting["id"], "schedule")

    device = await province.device(point)
    feed = await _feed_path(province, device)
    before = _events(await c.get(feed))
    assert set(before) == {"Giao ban", "Tập huấn"}
    assert before["Giao ban"]["status"] == "CONFIRMED"

    moved_start = tomorrow_at(8) + timedelta(days=1, hours=1)
    await c.patch(
        f"/api/meetings/{kept['id']}",
        headers=province.auth("secretary"),
        json={
            "starts_at": moved_start.isoformat(),
            "ends_at": (moved_start + timedelta(hours=2)).isoformat(),
        },
    )
    await province.step(dropped["id"], "cancel")
    after = _events(await c.get(feed))
    assert after["Giao ban"]["uid"] == before["Giao ban"]["uid"]
    assert after["Giao ban"]["start"] == moved_start.astimezone(VN)
    assert after["Giao ban"]["sequence"] > before["Giao ban"]["sequence"]
    assert after["Tập huấn"]["status"] == "CANCELLED"
    assert after["Tập huấn"]["sequence"] > before["Tập huấn"]["sequence"]


async def test_a_new_feed_url_replaces_the_old_one(province: Province) -> None:
    c = province.client
    official = province.auth("official")
    old = await _feed_path(province, official)
    new = await _feed_path(province, official)
    assert (await c.get(old)).status_code == 404
    assert (await c.get(new)).status_code == 200
    assert (await c.delete("/api/calendar/feed", headers=official)).status_code == 204
    assert (await c.get(new)).status_code == 404
    assert (await c.get("/api/calendar/hc_made-up.ics")).status_code == 404


async def test_a_disabled_users_feed_stops(province: Province) -> None:
    c = province.client
    feed = await _feed_path(province, province.auth("official"))
    await c.patch(
        f"/api/users/{province.accounts['official'].id}",
        headers=province.auth("admin"),
        json={"active": False},
    )
    assert (await c.get(feed)).status_code == 404


async def test_a_feed_shows_what_its_owner_may_see_and_nothing_more(province: Province) -> None:
    secret = await province.meeting("Họp mật", classification="confidential")
    await province.step(secret["id"], "schedule")
    official_feed = await _feed_path(province, province.auth("official"))
    assert _events(await province.client.get(official_feed)) == {}
    await province.invite(secret["id"], usernames=["official"])
    assert set(_events(await province.client.get(official_feed))) == {"Cuộc họp (mật)"}


async def test_feeds_show_confidential_meetings_discreetly(province: Province) -> None:
    secret = await province.meeting("Họp nhân sự", classification="confidential")
    await province.client.post(
        f"/api/meetings/{secret['id']}/agenda",
        headers=province.auth("secretary"),
        json={"title": "Xem xét kỷ luật"},
    )
    await province.invite(secret["id"], usernames=["official"])
    await province.step(secret["id"], "schedule")
    feed = await _feed_path(province, province.auth("official"))
    raw = (await province.client.get(feed)).content.decode()
    assert "Họp nhân sự" not in raw and "kỷ luật" not in raw
    assert "CLASS:CONFIDENTIAL" in raw
    assert set(_events(await province.client.get(feed))) == {"Cuộc họp (mật)"}
    # Signed in, the invitee still gets the whole meeting.
    full = await province.client.get(
        f"/api/meetings/{secret['id']}.ics", headers=province.auth("official")
    )
    assert "Xem xét kỷ luật" in str(_events(full)["Họp nhân sự"]["description"])


async def test_agenda_numbers_have_no_holes_after_a_delete(province: Province) -> None:
    c, auth = province.client, province.auth("secretary")
    mid = (await province.meeting("Họp"))["id"]
    ids = [
        (await c.post(f"/api/meetings/{mid}/agenda", headers=auth, json={"title": t})).json()["id"]
        for t in ("Một", "Hai", "Ba")
    ]
    await c.delete(f"/api/meetings/{mid}/agenda/{ids[1]}", headers=auth)
    description = str(
        _events(await c.get(f"/api/meetings/{mid}.ics", headers=auth))["Họp"]["description"]
    )
    assert "1. Một" in description and "2. Ba" in description
