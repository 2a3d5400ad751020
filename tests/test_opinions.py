"""Written opinions through the HTTP API: sending, answering (by a point, by a commune's
official for its point, by a person), deadlines, closing, documents, reminders for a
messaging gateway, exports; and every refusal leaves nothing changed. Both databases."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader
from sqlalchemy import func, select, update

from server.accounts.service import create_user
from server.db import Database
from server.identity import Role
from server.opinions.models import OpinionDocument, OpinionRecipient, OpinionRequest
from tests import pdfs
from tests.conftest import PASSWORD, Account
from tests.province import Province
from tests.test_minutes_pdf import poppler


def in_hours(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def send(
    p: Province, hours: float = 48, role: str = "secretary", **body: Any
) -> httpx.Response:
    body.setdefault("title", "Lấy ý kiến dự thảo Nghị quyết phân cấp ngân sách")
    body.setdefault("question", "Xã có đồng ý với dự thảo Nghị quyết không?")
    body.setdefault("deadline", in_hours(hours))
    body.setdefault("recipients", {"unit_ids": [p.units["xa-tan-phu"]]})
    return await p.client.post("/api/opinions", headers=p.auth(role), json=body)


async def sent(p: Province, **body: Any) -> dict[str, Any]:
    response = await send(p, **body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def commune_official(app: FastAPI, p: Province, unit: str = "xa-tan-phu") -> Account:
    database: Database = app.state.db
    async with database.writer() as session:
        user = await create_user(
            session,
            username=f"vanphong-{unit}",
            full_name="Nguyễn Thị Văn Phòng",
            password=PASSWORD,
            roles={Role.OFFICIAL},
            unit_id=p.units[unit],
        )
        await session.commit()
    response = await p.client.post(
        "/api/auth/login", json={"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return Account(user.id, user.username, PASSWORD, response.json()["token"])


async def answer(
    p: Province, rid: int, headers: dict[str, str], option: int, comment: str = "", **extra: Any
) -> httpx.Response:
    return await p.client.put(
        f"/api/opinions/{rid}/answer",
        headers=headers,
        json={"option": option, "comment": comment, **extra},
    )


async def test_points_and_people_answer_and_the_secretary_sees_every_answer(
    province: Province, app: FastAPI
) -> None:
    p = province
    points = sorted(await p.point_ids("xa-tan-phu"))
    assert len(points) >= 2
    request = await sent(p, recipients={"point_ids": points[:2], "usernames": ["official"]})
    rid = request["id"]
    assert request["phase"] == "open"
    assert request["options"] == ["Đồng ý", "Không đồng ý", "Ý kiến khác"]
    assert request["count"]["recipients"] == 3 and request["count"]["answered"] == 0
    assert {r["name"] for r in request["recipients"]} >= {"Người dùng official"}

    # The first point answers from its own terminal, then changes its mind.
    first = await p.device(points[0])
    shown = (await p.client.get(f"/api/opinions/{rid}", headers=first)).json()
    assert shown["manager"] is False and shown["recipients"] is None and shown["count"] is None
    assert [r["point_id"] for r in shown["mine"]] == [points[0]]
    assert shown["mine"][0]["first_seen_at"] is not None
    assert (await answer(p, rid, first, 0, "Nhất trí")).status_code == 200
    changed = await answer(p, rid, first, 2, "Đề nghị bổ sung điều 5")
    assert changed.status_code == 200, changed.text
    assert changed.json()["option_text"] == "Ý kiến khác"

    # The commune's official answers for the second point, from a desk.
    clerk = await commune_official(app, p)
    listed = (await p.client.get("/api/opinions", headers=clerk.auth)).json()["items"]
    assert [(i["id"], i["to_answer"]) for i in listed] == [(rid, 1)]
    # The commune has two points asked: the official says which one answers.
    mine = (await p.client.get(f"/api/opinions/{rid}", headers=clerk.auth)).json()["mine"]
    assert sorted(r["point_id"] for r in mine) == points[:2]
    second = next(r["id"] for r in mine if r["point_id"] == points[1])
    by_clerk = await answer(
        p, rid, clerk.auth, 1, "Chưa phù hợp với xã miền núi", recipient_id=second
    )
    assert by_clerk.status_code == 200, by_clerk.text
    assert by_clerk.json()["point_id"] == points[1]
    assert by_clerk.json()["answered_by"] == "Nguyễn Thị Văn Phòng"

    # A person asked by name answers for themselves.
    assert (await answer(p, rid, p.auth("official"), 0)).status_code == 200

    overview = (await p.client.get(f"/api/opinions/{rid}", headers=p.auth("secretary"))).json()
    assert overview["count"]["counts"] == [1, 1, 1]
    assert overview["count"]["answered"] == 3 and overview["count"]["not_answered"] == 0
    by_point = {r["point_id"]: r for r in overview["recipients"] if r["point_id"]}
    assert by_point[points[0]]["comment"] == "Đề nghị bổ sung điều 5"
    assert by_point[points[1]]["answered_by"] == "Nguyễn Thị Văn Phòng"
    summary = (await p.client.get("/api/opinions", headers=p.auth("secretary"))).json()["items"]
    assert [(i["id"], i["recipients"], i["answered"], i["asked"]) for i in summary] == [
        (rid, 3, 3, 0)
    ]
    (mine,) = (await p.client.get("/api/opinions", headers=clerk.auth)).json()["items"]
    assert (mine["asked"], mine["to_answer"], mine["closed_at"]) == (2, 0, None)
    await p.client.post(f"/api/opinions/{rid}/close", headers=p.auth("secretary"))
    (closed,) = (await p.client.get("/api/opinions", headers=clerk.auth)).json()["items"]
    assert closed["phase"] == "closed" and closed["closed_at"] is not None


async def test_who_may_see_send_answer_and_export(province: Province, app: FastAPI) -> None:
    p = province
    points = sorted(await p.point_ids("xa-tan-phu"))
    rid = (await sent(p, recipients={"point_ids": [points[0]]}))["id"]
    outsider = await p.device(min(await p.point_ids("phuong-hoa-son")))

    assert (await send(p, role="official")).status_code == 403
    assert (await p.client.post("/api/opinions", headers=outsider, json={})).status_code in (
        403,
        422,
    )
    assert (await p.client.get(f"/api/opinions/{rid}")).status_code == 401
    assert (await p.client.get(f"/api/opinions/{rid}", headers=outsider)).status_code == 404
    assert (await answer(p, rid, outsider, 0)).status_code == 404
    assert (await p.client.get("/api/opinions", headers=outsider)).json()["items"] == []
    # The secretary manages but was not asked: may not answer.
    refused = await answer(p, rid, p.auth("secretary"), 0)
    assert refused.status_code == 403 and refused.json()["code"] == "not_a_recipient"
    recipient = await p.device(points[0])
    for path in ("export.csv", "export.pdf"):
        response = await p.client.get(f"/api/opinions/{rid}/{path}", headers=recipient)
        assert response.status_code == 403, path
    assert (await p.client.post(f"/api/opinions/{rid}/close", headers=recipient)).status_code == 403
    assert (await p.client.get("/api/opinions/reminders", headers=recipient)).status_code == 403
    # Someone from another commune cannot answer for this commune's point.
    other = await commune_official(app, p, unit="phuong-hoa-son")
    assert (await answer(p, rid, other.auth, 0)).status_code == 404
    assert await _answered(app, rid) == 0


async def _answered(app: FastAPI, rid: int) -> int:
    database: Database = app.state.db
    async with database.reader() as session:
        return int(
            await session.scalar(
                select(func.count()).where(
                    OpinionRecipient.request_id == rid, OpinionRecipient.answered_at.is_not(None)
                )
            )
            or 0
        )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"options": ["Có", "có"]}, "options"),
        ({"options": ["Chỉ một"]}, "options"),
        ({"deadline": "2020-01-01T00:00:00+07:00"}, "deadline"),
        ({"deadline": "2027-01-01T00:00:00"}, "deadline"),  # no UTC offset
        ({"recipients": {}}, "recipients"),
        ({"recipients": {"usernames": ["khong-co-ai"]}}, "usernames"),
        ({"recipients": {"point_ids": [999999]}}, "point_ids"),
        ({"title": ""}, "title"),
        ({"question": "a\x00b"}, "question"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_requests_are_refused_and_nothing_is_sent(
    province: Province, app: FastAPI, change: dict[str, Any], field: str
) -> None:
    response = await send(province, **change)
    assert response.status_code == 422, response.text
    assert field in response.text
    database: Database = app.state.db
    async with database.reader() as session:
        assert await session.scalar(select(func.count()).select_from(OpinionRequest)) == 0


async def test_bad_answers_are_refused(province: Province) -> None:
    p = province
    points = sorted(await p.point_ids("xa-tan-phu"))
    rid = (await sent(p, recipients={"point_ids": [points[0]]}))["id"]
    device = await p.device(points[0])
    wrong = await answer(p, rid, device, 3)
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_option"
    for body in ({"option": -1}, {"option": "0"}, {"comment": "x"}, {"option": 0, "x": 1}):
        response = await p.client.put(f"/api/opinions/{rid}/answer", headers=device, json=body)
        assert response.status_code == 422, body
    too_long = await answer(p, rid, device, 0, "x" * 5001)
    assert too_long.status_code == 422
    broken = await p.client.put(
        f"/api/opinions/{rid}/answer",
        headers={**device, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert broken.status_code == 400
    shown = (await p.client.get(f"/api/opinions/{rid}", headers=device)).json()
    assert shown["mine"][0]["answered_at"] is None


async def test_an_official_answering_for_two_must_say_which(
    province: Province, app: FastAPI
) -> None:
    p = province
    points = sorted(await p.point_ids("xa-tan-phu"))
    clerk = await commune_official(app, p)
    rid = (await sent(p, recipients={"point_ids": points[:2], "usernames": [clerk.username]}))["id"]
    unclear = await answer(p, rid, clerk.auth, 0)
    assert unclear.status_code == 422 and "recipient_id" in unclear.text
    mine = (await p.client.get(f"/api/opinions/{rid}", headers=clerk.auth)).json()["mine"]
    assert len(mine) == 3
    own = next(r for r in mine if r["user_id"] == clerk.id)
    done = await answer(p, rid, clerk.auth, 1, recipient_id=own["id"])
    assert done.status_code == 200 and done.json()["user_id"] == clerk.id
    foreign = await answer(p, rid, p.auth("official"), 0, recipient_id=own["id"])
    assert foreign.status_code == 404  # not asked at all: the request is hidden


async def test_the_deadline_closes_answers_and_an_extension_reopens_them(
    province: Province, app: FastAPI
) -> None:
    p = province
    points = sorted(await p.point_ids("xa-tan-phu"))
    rid = (await sent(p, recipients={"point_ids": points[:2]}))["id"]
    device = await p.device(points[0])
    assert (await answer(p, rid, device, 0)).status_code == 200
    # The deadline passes (moved into the past in the database: the API refuses that).
    database: Database = app.state.db
    async with database.writer() as session:
        past = datetime.now(UTC) - timedelta(minutes=1)
        await session.execute(
            update(OpinionRequest).where(OpinionRequest.id == rid).values(deadline=past)
        )
        await session.commit()
    late = await answer(p, rid, device, 1)
    assert late.status_code == 409 and late.json()["code"] == "opinion_closed"
    shown = (await p.client.get(f"/api/opinions/{rid}", headers=device)).json()
    assert shown["phase"] == "closed" and shown["mine"][0]["option"] == 0
    listed = await p.client.get("/api/opinions", params={"phase": "closed"}, headers=device)
    assert [i["id"] for i in listed.json()["items"]] == [rid]

    past_deadline = await p.client.patch(
        f"/api/opinions/{rid}",
        headers=p.auth("secretary"),
        json={"deadline": "2021-01-01T00:00:00+07:00"},
    )
    assert past_deadline.status_code == 422
    extended = await p.client.patch(
        f"/api/opinions/{rid}", headers=p.auth("secretary"), json={"deadline": in_hours(24)}
    )
    assert extended.status_code == 200 and extended.json()["phase"] == "open"
    assert (await answer(p, rid, device, 1)).status_code == 200

    closed = await p.client.post(f"/api/opinions/{rid}/close", headers=p.auth("secretary"))
    assert closed.status_code == 200 and closed.json()["phase"] == "closed"
    assert (await answer(p, rid, device, 2)).status_code == 409
    again = await p.client.post(f"/api/opinions/{rid}/close", headers=p.auth("secretary"))
    assert again.status_code == 409
    reopen = await p.client.patch(
        f"/api/opinions/{rid}", headers=p.auth("secretary"), json={"deadline": in_hours(48)}
    )
    assert reopen.status_code == 409
    final = (await p.client.get(f"/api/opinions/{rid}", headers=p.auth("secretary"))).json()
    assert final["count"]["counts"] == [0, 1, 0]


async def test_documents_go_with_the_request_and_bad_files_leave_nothing(
    province: Province, app: FastAPI
) -> None:
    p = province
    points = sorted(await p.point_ids("xa-tan-phu"))
    rid = (await sent(p, recipients={"point_ids": [points[0]]}))["id"]
    path = f"/api/opinions/{rid}/documents"
    sec = p.auth("secretary")
    source = pdfs.pdf(3)
    added = await p.client.post(
        path,
        headers=sec,
        files={"file": ("du-thao.pdf", source, "application/pdf")},
        data={"title": "Dự thảo Nghị quyết"},
    )
    assert added.status_code == 201, added.text
    document = added.json()
    assert document["title"] == "Dự thảo Nghị quyết" and document["pages"] == 3

    for name, data, status in (
        ("mat.pdf", pdfs.encrypted(), 422),
        ("hong.pdf", pdfs.truncated(), 422),
        ("trong.pdf", b"", 422),
        ("anh.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 100, 422),
    ):
        refused = await p.client.post(
            path, headers=sec, files={"file": (name, data, "application/pdf")}
        )
        assert refused.status_code == status, (name, refused.text)
    bad_title = await p.client.post(
        path,
        headers=sec,
        files={"file": ("x.pdf", source, "application/pdf")},
        data={"title": "a\nb"},
    )
    assert bad_title.status_code == 422
    device = await p.device(points[0])
    not_manager = await p.client.post(
        path, headers=device, files={"file": ("x.pdf", source, "application/pdf")}
    )
    assert not_manager.status_code == 403
    database: Database = app.state.db
    async with database.reader() as session:
        count = await session.scalar(select(func.count()).select_from(OpinionDocument))
    assert count == 1

    shown = (await p.client.get(f"/api/opinions/{rid}", headers=device)).json()
    assert [d["id"] for d in shown["documents"]] == [document["id"]]
    fetched = await p.client.get(f"{path}/{document['id']}", headers=device)
    assert fetched.status_code == 200 and fetched.content == source
    cached = await p.client.get(
        f"{path}/{document['id']}",
        headers={**device, "If-None-Match": fetched.headers["etag"]},
    )
    assert cached.status_code == 304
    outsider = await p.device(min(await p.point_ids("phuong-hoa-son")))
    assert (await p.client.get(f"{path}/{document['id']}", headers=outsider)).status_code == 404
    assert (await p.client.get(f"{path}/999999", headers=device)).status_code == 404

    await p.client.post(f"/api/opinions/{rid}/close", headers=sec)
    late = await p.client.post(
        path, headers=sec, files={"file": ("x.pdf", source, "application/pdf")}
    )
    assert late.status_code == 409


async def test_reminders_for_a_gateway_are_listed_once_per_lead_time(
    province: Province, app: FastAPI
) -> None:
    p = province
    points = sorted(await p.point_ids("xa-tan-phu"))
    soon = (await sent(p, hours=1, recipients={"point_ids": points[:2]}))["id"]
    later = (await sent(p, hours=30, recipients={"usernames": ["official"]}))["id"]
    far = (await sent(p, hours=200, recipients={"usernames": ["official"]}))["id"]
    sec = p.auth("secretary")
    assert (await answer(p, soon, await p.device(points[1]), 0)).status_code == 200

    due = (await p.client.get("/api/opinions/reminders", headers=sec)).json()["items"]
    assert [(d["request_id"], d["lead_hours"]) for d in due] == [(soon, 2), (later, 72)]
    assert due[0]["kind"] == "point" and due[0]["unit"]["code"] == "xa-tan-phu"
    assert due[1]["username"] == "official" and 29 < due[1]["hours_left"] <= 30
    assert far not in {d["request_id"] for d in due}

    # The recipient sees it in their own list too.
    mine = (await p.client.get("/api/opinions", headers=p.auth("official"))).json()["items"]
    assert {i["id"]: i["reminder_hours"] for i in mine} == {later: 72, far: None}

    marked = await p.client.post(
        "/api/opinions/reminders/sent",
        headers=sec,
        json={
            "items": [
                {"recipient_id": d["recipient_id"], "lead_hours": d["lead_hours"]} for d in due
            ],
            "via": "sms",
        },
    )
    assert marked.status_code == 200 and marked.json() == {"recorded": 2, "already": 0}
    again = await p.client.post(
        "/api/opinions/reminders/sent",
        headers=sec,
        json={"items": [{"recipient_id": due[0]["recipient_id"], "lead_hours": 2}]},
    )
    assert again.json() == {"recorded": 0, "already": 1}
    assert (await p.client.get("/api/opinions/reminders", headers=sec)).json()["items"] == []
    only = await p.client.get("/api/opinions/reminders", params={"request_id": far}, headers=sec)
    assert only.json()["items"] == []
    detail = (await p.client.get(f"/api/opinions/{soon}", headers=sec)).json()
    assert [r["reminders_sent"] for r in detail["recipients"]] == [[2], []]

    unknown = await p.client.post(
        "/api/opinions/reminders/sent",
        headers=sec,
        json={"items": [{"recipient_id": 999999, "lead_hours": 2}]},
    )
    assert unknown.status_code == 422 and "items[0].recipient_id" in unknown.text


async def test_exports_hold_every_answer(province: Province, app: FastAPI) -> None:
    p = province
    points = sorted(await p.point_ids("xa-tan-phu"))
    rid = (await sent(p, recipients={"point_ids": points[:2], "usernames": ["official"]}))["id"]
    device = await p.device(points[0])
    comment = '=HYPERLINK("http://x") Đề nghị làm rõ kinh phí'
    assert (await answer(p, rid, device, 1, comment)).status_code == 200
    assert (await answer(p, rid, p.auth("official"), 0, "Nhất trí")).status_code == 200
    sec = p.auth("secretary")

    response = await p.client.get(f"/api/opinions/{rid}/export.csv", headers=sec)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["STT", "Loại", "Nơi được hỏi", "Đơn vị", "Ý kiến"]
    assert len(rows) == 4
    by_name = {r[2]: r for r in rows[1:]}
    answered = [r for r in rows[1:] if r[4]]
    assert sorted(r[4] for r in answered) == ["Không đồng ý", "Đồng ý"]
    formula = next(r for r in rows[1:] if r[4] == "Không đồng ý")
    assert formula[5] == "'" + comment  # never a live formula in a spreadsheet
    assert by_name["Người dùng official"][5] == "Nhất trí"
    assert sum(1 for r in rows[1:] if not r[4]) == 1

    report = await p.client.get(f"/api/opinions/{rid}/export.pdf", headers=sec)
    assert report.status_code == 200 and report.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(report.content)).pages)
    for expected in (
        "KẾT QUẢ LẤY Ý KIẾN BẰNG VĂN BẢN",
        "Lấy ý kiến dự thảo Nghị quyết phân cấp ngân sách",
        "Đã trả lời: 2/3",
        "Chưa trả lời",
        "Nhất trí",
        "Người dùng official",
    ):
        assert expected in text, expected
    path = app.state.settings.data_dir / "report.pdf"
    path.write_bytes(report.content)
    fonts = await asyncio.to_thread(
        subprocess.run,
        [poppler("pdffonts"), str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    font_rows = fonts.stdout.splitlines()[2:]
    assert font_rows and all(" yes " in row for row in font_rows), fonts.stdout


async def test_many_points_answer_at_once_and_each_is_counted_once(
    province: Province, app: FastAPI
) -> None:
    p = province
    points = sorted(await p.point_ids("xa-tan-phu")) + sorted(await p.point_ids("phuong-hoa-son"))
    rid = (await sent(p, recipients={"point_ids": points}))["id"]
    devices = [await p.device(point) for point in points]
    answers = await asyncio.gather(
        *(answer(p, rid, d, i % 3, f"ý kiến {i}") for i, d in enumerate(devices)),
        *(answer(p, rid, d, (i + 1) % 3) for i, d in enumerate(devices)),
    )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.is_error]
    overview = (await p.client.get(f"/api/opinions/{rid}", headers=p.auth("secretary"))).json()
    assert overview["count"]["answered"] == len(points)
    assert sum(overview["count"]["counts"]) == len(points)
    assert await _answered(app, rid) == len(points)


async def test_a_draft_waits_for_its_documents_and_then_is_sent(province: Province) -> None:
    p = province
    points = sorted(await p.point_ids("xa-tan-phu"))
    draft = await sent(p, hours=1, recipients={"point_ids": [points[0]]}, draft=True)
    rid = draft["id"]
    assert draft["phase"] == "draft" and draft["sent_at"] is None
    device = await p.device(points[0])
    # The recipient sees nothing yet: not listed, not readable, not answerable, no reminder.
    assert (await p.client.get("/api/opinions", headers=device)).json()["items"] == []
    assert (await p.client.get(f"/api/opinions/{rid}", headers=device)).status_code == 404
    assert (await answer(p, rid, device, 0)).status_code == 404
    sec = p.auth("secretary")
    assert (await p.client.get("/api/opinions/reminders", headers=sec)).json()["items"] == []
    added = await p.client.post(
        f"/api/opinions/{rid}/documents",
        headers=sec,
        files={"file": ("du-thao.pdf", pdfs.pdf(2), "application/pdf")},
    )
    assert added.status_code == 201, added.text
    assert (await p.client.post(f"/api/opinions/{rid}/send", headers=device)).status_code == 404
    shown = await p.client.post(f"/api/opinions/{rid}/send", headers=sec)
    assert shown.status_code == 200 and shown.json()["phase"] == "open"
    assert shown.json()["sent_at"] is not None
    again = await p.client.post(f"/api/opinions/{rid}/send", headers=sec)
    assert again.status_code == 409 and again.json()["code"] == "opinion_sent"
    seen = (await p.client.get(f"/api/opinions/{rid}", headers=device)).json()
    assert [d["title"] for d in seen["documents"]] and seen["phase"] == "open"
    assert (await answer(p, rid, device, 0)).status_code == 200
    due = (await p.client.get("/api/opinions/reminders", headers=sec)).json()["items"]
    assert [d["request_id"] for d in due] == []  # answered: nothing to remind
