"""Helpers for tests that need the demo province and meetings in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from server.db import Database
from server.demo import seed_demo
from tests.conftest import Account

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class Province:
    client: httpx.AsyncClient
    accounts: dict[str, Account]
    units: dict[str, int]  # unit code -> id
    ws_url: str = ""  # the live server's ws:// base, for room tests
    database_url: str = ""

    def auth(self, role: str) -> dict[str, str]:
        return self.accounts[role].auth

    async def point_ids(self, unit_code: str) -> set[int]:
        response = await self.client.get(
            "/api/points", params={"unit_id": self.units[unit_code]}, headers=self.auth("admin")
        )
        return {p["id"] for p in response.json()["items"]}

    async def device(self, point_id: int) -> dict[str, str]:
        """Rotate the point's token and authenticate as the point."""
        response = await self.client.post(
            f"/api/points/{point_id}/rotate-token", headers=self.auth("admin")
        )
        return {"Authorization": f"Bearer {response.json()['device_token']}"}

    async def meeting(
        self,
        title: str = "Giao ban trực tuyến tháng 12",
        starts: datetime | None = None,
        hours: float = 2,
        as_role: str = "secretary",
        **extra: Any,
    ) -> dict[str, Any]:
        starts = starts or tomorrow_at(8)
        body = {
            "title": title,
            "host_unit_id": self.units["hoa-son"],
            "chair_id": self.accounts["chair"].id,
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=hours)).isoformat(),
            **extra,
        }
        response = await self.client.post("/api/meetings", headers=self.auth(as_role), json=body)
        assert response.status_code == 201, response.text
        meeting: dict[str, Any] = response.json()
        return meeting

    async def live_meeting(
        self, points: int = 1, start: bool = True, **invite: Any
    ) -> tuple[int, list[int]]:
        """A meeting with the first ``points`` points of Xã Tân Phú (and ``invite``d
        others) invited, scheduled, and started by the chair unless ``start`` is False."""
        point_ids = sorted(await self.point_ids("xa-tan-phu"))[:points]
        meeting = await self.meeting()
        await self.invite(meeting["id"], point_ids=point_ids, **invite)
        assert (await self.step(meeting["id"], "schedule")).status_code == 200
        if start:
            assert (await self.step(meeting["id"], "start", role="chair")).status_code == 200
        return meeting["id"], point_ids

    async def step(self, meeting_id: int, action: str, role: str = "secretary") -> httpx.Response:
        return await self.client.post(
            f"/api/meetings/{meeting_id}/{action}", headers=self.auth(role)
        )

    async def invite(self, meeting_id: int, role: str = "secretary", **who: Any) -> httpx.Response:
        return await self.client.post(
            f"/api/meetings/{meeting_id}/invitations", headers=self.auth(role), json=who
        )


def tomorrow_at(hour: int) -> datetime:
    day = datetime.now(VN) + timedelta(days=1)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


async def make_province(
    db: Database, client: httpx.AsyncClient, accounts: dict[str, Account]
) -> Province:
    async with db.writer() as session:
        await seed_demo(session)
        await session.commit()
    client.cookies.clear()
    tree = (await client.get("/api/units", headers=accounts["admin"].auth)).json()
    units: dict[str, int] = {}
    stack = list(tree)
    while stack:
        node = stack.pop()
        units[node["code"]] = node["id"]
        stack.extend(node["children"])
    return Province(client, accounts, units)
