"""Votes through real WebSockets: 200 conference points vote at once and every ballot is
counted once; refusals come back as error frames; the result reaches every point and the
minutes draft. Both databases."""

from __future__ import annotations

import asyncio
import random

from tests.province import Province
from tests.roomclient import RoomClient

VOTERS = 200


async def test_two_hundred_points_vote_at_once_and_every_ballot_counts_once(
    live_province: Province,
) -> None:
    p = live_province
    meeting = await p.meeting()
    mid = meeting["id"]
    invited = await p.invite(mid, unit_ids=[p.units["hoa-son"]])
    points = [row["point_id"] for row in invited.json()["added"]][:VOTERS]
    late_point = [row["point_id"] for row in invited.json()["added"]][VOTERS]
    assert (await p.step(mid, "schedule")).status_code == 200
    assert (await p.step(mid, "start", role="chair")).status_code == 200
    devices = [await p.device(point) for point in points]
    ws = p.ws_url
    chair = await RoomClient.open(ws, mid, p.auth("chair"))
    await chair.wait_for(lambda f: f["type"] == "welcome")
    clients = await asyncio.gather(*(RoomClient.open(ws, mid, d) for d in devices))
    await asyncio.gather(*(c.wait_for(lambda f: f["type"] == "welcome") for c in clients))

    opened = await chair.send("open_poll", question="Thông qua dự toán ngân sách năm 2027?")
    assert opened["type"] == "ack", opened
    shown = await chair.event("poll.opened")
    assert len(shown["data"]["eligible"]) == VOTERS
    await asyncio.gather(*(c.event("poll.opened") for c in clients))

    # Everyone at once; some change their mind, some send the same ballot twice.
    choices = [random.Random(i).choice([0, 0, 0, 1, 2]) for i in range(VOTERS)]

    async def vote(client: RoomClient, option: int, index: int) -> None:
        if index % 10 == 0:
            first = await client.send("cast_ballot", poll=1, option=(option + 1) % 3)
            assert first["type"] == "ack", first
        answer = await client.send("cast_ballot", poll=1, option=option)
        assert answer["type"] == "ack", answer
        if index % 7 == 0:
            again = await client.send("cast_ballot", poll=1, option=option)
            assert again["type"] == "ack"

    await asyncio.gather(
        *(vote(c, o, i) for i, (c, o) in enumerate(zip(clients, choices, strict=True)))
    )

    # A point that arrives after the poll opened may not vote; bad input is refused.
    late = await RoomClient.open(ws, mid, await p.device(late_point))
    await late.wait_for(lambda f: f["type"] == "welcome")
    assert (await late.send("cast_ballot", poll=1, option=0))["code"] == "not_eligible"
    assert (await clients[0].send("cast_ballot", poll=1, option=7))["code"] == "invalid_option"
    assert (await clients[0].send("cast_ballot", poll=2, option=0))["code"] == "poll_closed"
    assert (await clients[0].send("close_poll", poll=1))["code"] == "not_allowed"

    closed = await chair.send("close_poll", poll=1)
    assert closed["type"] == "ack", closed
    result_event = await chair.event("poll.closed")
    result = result_event["data"]["result"]
    expected = [choices.count(0), choices.count(1), choices.count(2)]
    assert result["counts"] == expected
    assert result["cast"] == VOTERS and result["eligible"] == VOTERS
    assert len(result_event["data"]["eligible"]) == VOTERS
    assert result_event["data"]["present"] == VOTERS + 1  # and the chair
    assert result["passed"] is (2 * expected[0] > VOTERS)
    seen = await asyncio.gather(*(c.event("poll.closed") for c in clients[:20]))
    assert all(s["data"]["result"]["counts"] == expected for s in seen)
    after = await clients[1].send("cast_ballot", poll=1, option=0)
    assert after["code"] == "poll_closed"

    # The result goes into the minutes draft.
    await p.step(mid, "end", role="chair")
    drafted = await p.client.post(
        f"/api/meetings/{mid}/minutes", headers=p.auth("secretary"), json={}
    )
    assert drafted.status_code == 201, drafted.text
    versions = await p.client.get(
        f"/api/meetings/{mid}/minutes/versions", headers=p.auth("secretary")
    )
    (decision,) = versions.json()[0]["content"]["decisions"]
    assert decision["title"] == "Thông qua dự toán ngân sách năm 2027?"
    assert f"Tán thành {expected[0]}/{VOTERS}" in decision["result"]
    assert decision["result"].endswith("(quá nửa tổng số có quyền biểu quyết)")
    assert (
        f"có mặt khi biểu quyết: {VOTERS + 1}, có quyền biểu quyết: {VOTERS}" in decision["result"]
    )
    for client in (*clients, chair, late):
        await client.close()


async def test_a_secret_ballot_is_counted_but_never_linked_to_the_voter(
    live_province: Province, database_url: str
) -> None:
    p = live_province
    mid, points = await p.live_meeting(points=2)
    devices = [await p.device(point) for point in points]
    chair = await RoomClient.open(p.ws_url, mid, p.auth("chair"))
    await chair.wait_for(lambda f: f["type"] == "welcome")
    first, second = [await RoomClient.open(p.ws_url, mid, d) for d in devices]
    for client in (first, second):
        await client.wait_for(lambda f: f["type"] == "welcome")
    opened = await chair.send("open_poll", question="Bầu trưởng ban?", secret=True)
    assert opened["type"] == "ack"
    await first.event("poll.opened")

    cast = await first.send("cast_ballot", poll=1, option=1)
    assert cast["type"] == "ack" and len(cast["ballot"]) == 32
    again = await first.send("cast_ballot", poll=1, option=0)
    assert again["code"] == "ballot_required"  # a second ballot: only by changing the first
    changed = await first.send("cast_ballot", poll=1, option=0, ballot=cast["ballot"])
    assert changed["type"] == "ack" and changed["ballot"] == cast["ballot"]
    stolen = await second.send("cast_ballot", poll=1, option=2, ballot=cast["ballot"])
    assert stolen["code"] == "unknown_ballot"  # not before casting one's own
    mine = await second.send("cast_ballot", poll=1, option=2)
    assert mine["type"] == "ack"
    forged = await second.send("cast_ballot", poll=1, option=2, ballot="0" * 32)
    assert forged["code"] == "unknown_ballot"

    voted = await chair.event("poll.voted")
    assert set(voted["data"]) == {"number", "key"}  # who, never what
    assert (await chair.send("close_poll", poll=1))["type"] == "ack"
    closed = await chair.event("poll.closed")
    assert closed["data"]["result"]["counts"] == [1, 0, 1]
    assert closed["data"]["secret"] is True

    # Nothing stored links a voter to a choice: the log has who voted, the box has
    # choices with random keys and no time.
    from sqlalchemy import text

    from server.db import Database

    database = Database(database_url)
    try:
        async with database.reader() as db:
            logged = (await db.execute(text(
                "SELECT kind, data FROM room_events WHERE meeting_id = :m ORDER BY seq"
            ), {"m": mid})).all()  # fmt: skip
            box = (await db.execute(text(
                "SELECT * FROM secret_ballots WHERE meeting_id = :m"
            ), {"m": mid})).mappings().all()  # fmt: skip
    finally:
        await database.dispose()
    import json

    for kind, data in logged:
        data = data if isinstance(data, dict) else json.loads(data)
        if kind == "poll.voted":
            assert "option" not in data
    assert sorted(row["option"] for row in box) == [0, 2]
    assert all(set(row) == {"id", "meeting_id", "poll", "option"} for row in box)
    assert cast["ballot"] in {row["id"] for row in box}  # only its holder knows which
    for client in (first, second, chair):
        await client.close()


async def test_a_poll_without_a_rule_follows_the_meetings_rule(live_province: Province) -> None:
    p = live_province
    meeting = await p.meeting(vote_rule="majority_of_cast")
    mid = meeting["id"]
    assert meeting["vote_rule"] == "majority_of_cast"
    # The rule can change until the meeting is held, like its other settings.
    changed = await p.client.patch(
        f"/api/meetings/{mid}", headers=p.auth("secretary"), json={"vote_rule": "bogus"}
    )
    assert changed.status_code == 422
    points = sorted(await p.point_ids("xa-tan-phu"))[:3]
    await p.invite(mid, point_ids=points)
    assert (await p.step(mid, "schedule")).status_code == 200
    assert (await p.step(mid, "start", role="chair")).status_code == 200
    chair = await RoomClient.open(p.ws_url, mid, p.auth("chair"))
    await chair.wait_for(lambda f: f["type"] == "welcome")
    voters = [await RoomClient.open(p.ws_url, mid, await p.device(pt)) for pt in points]
    await asyncio.gather(*(v.wait_for(lambda f: f["type"] == "welcome") for v in voters))

    assert (await chair.send("open_poll", question="Thông qua?"))["type"] == "ack"
    assert (await chair.event("poll.opened"))["data"]["rule"] == "majority_of_cast"
    # One agrees, two do not vote: a majority of those who voted, not of all three.
    assert (await voters[0].send("cast_ballot", poll=1, option=0))["type"] == "ack"
    assert (await chair.send("close_poll", poll=1))["type"] == "ack"
    result = (await chair.event("poll.closed"))["data"]["result"]
    assert result["rule"] == "majority_of_cast" and result["passed"] is True

    # A rule named when opening the poll wins over the meeting's.
    opened = await chair.send("open_poll", question="Lần hai?", rule="majority_of_eligible")
    assert opened["type"] == "ack"
    assert (await chair.event("poll.opened", number=2))["data"]["rule"] == "majority_of_eligible"
    assert (await voters[0].send("cast_ballot", poll=2, option=0))["type"] == "ack"
    assert (await chair.send("close_poll", poll=2))["type"] == "ack"
    second = await chair.event("poll.closed", number=2)
    assert second["data"]["result"]["passed"] is False
    for client in (chair, *voters):
        await client.close()
