"""The world the authorization matrix calls routes in: a province with meetings in every
state the routes need, their documents, minutes, an opinion request, and one caller of each
kind (see tests/authz_table.py for who they are).

Built once per test through the live server's HTTP API (the way a secretary, a chair and an
admin would build it), except two things no route creates: a recording file and the
built-in CA.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from asn1crypto import tsp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from rooms.models import RoomRecording
from server.db import Database, utcnow
from server.identity import Role
from server.minutes.trust import create_ca
from server.settings import Settings
from tests import pdfs
from tests.conftest import PASSWORD, Account, make_account
from tests.province import Province, tomorrow_at

PIN = "246810"


@dataclass
class World:
    p: Province
    settings: Settings
    database: Database
    outsider: Account
    coordinator: Account
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # caller -> credentials
    point: int = 0  # invited to every meeting below but the outsiders'
    outsider_point: int = 0
    meeting: int = 0  # scheduled: P and the official invited, documents, agenda, recording
    held: int = 0  # ended: minutes in approval (version 2, the chair approves)
    other: int = 0  # the outsiders' meeting
    confidential: int = 0  # scheduled, P and the official invited, a document
    confidential_document: int = 0
    document: int = 0
    item: int = 0
    invitation: int = 0  # the official's, to the meeting
    opinion: int = 0
    opinion_document: int = 0
    opinion_recipient: int = 0
    certificate: int = 0  # the chair's, for a key the chair keeps
    certificate_pem: str = ""
    ca_root_pem: str = ""
    signing_session: str = ""  # the chair's prepared external signature
    copy: bytes = b""  # the official's watermarked copy of the document
    spare_points: list[int] = field(default_factory=list)
    _names: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.p.client

    def auth(self, role: str) -> dict[str, str]:
        return self.p.auth(role)

    async def ok(self, method: str, url: str, role: str = "secretary", **kw: Any) -> Any:
        response = await self.client.request(method, url, headers=self.auth(role), **kw)
        assert response.status_code < 300, (method, url, response.status_code, response.text)
        return response.json() if response.content else None

    def params(self) -> dict[str, Any]:
        """What each path parameter names, unless the route's entry says otherwise."""
        return {
            "meeting_id": self.meeting,
            "document_id": self.document,
            "point_id": self.point,
            "user_id": self.p.accounts["official"].id,
            "unit_id": self.p.units["xa-tan-phu"],
            "item_id": self.item,
            "number": 1,
            "page": 1,
            "request_id": self.opinion,
            "certificate_id": self.certificate,
        }

    def name(self, prefix: str) -> str:
        return f"{prefix}-{next(self._names)}"

    # Fresh objects for routes that use theirs up (delete, withdraw, a lifecycle step).

    async def new_meeting(
        self, title: str, point: int = 0, username: str = "official", **extra: Any
    ) -> int:
        """A meeting the secretary creates and invites ``point`` (the invited point by
        default) and ``username`` to, a draft."""
        mid: int = (await self.p.meeting(title=title, **extra))["id"]
        invite = {"point_ids": [point or self.point], "usernames": [username]}
        await self.ok("POST", f"/api/meetings/{mid}/invitations", json=invite)
        return mid

    async def fresh_meeting(self, status: str) -> dict[str, int]:
        """A meeting of its own in ``status`` (draft, scheduled, live, ended)."""
        mid = await self.new_meeting(self.name("Họp thử quyền"))
        steps = ["schedule", "start", "end"]
        for step in steps[: ["draft", "scheduled", "live", "ended"].index(status)]:
            await self.ok("POST", f"/api/meetings/{mid}/{step}", "secretary")
        return {"meeting_id": mid}

    async def fresh_item(self) -> dict[str, int]:
        item = await self.ok(
            "POST", f"/api/meetings/{self.meeting}/agenda", json={"title": self.name("Mục")}
        )
        return {"item_id": item["id"]}

    async def fresh_invitation(self) -> dict[str, int]:
        result = await self.ok(
            "POST",
            f"/api/meetings/{self.meeting}/invitations",
            json={"point_ids": [self.spare_points.pop()]},
        )
        return {"invitation_id": result["added"][0]["id"]}

    async def fresh_point(self) -> dict[str, int]:
        created = await self.ok(
            "POST",
            "/api/points",
            "admin",
            json={"name": self.name("Điểm cầu thử"), "unit_id": self.p.units["xa-tan-phu"]},
        )
        return {"point_id": created["point"]["id"]}

    async def fresh_opinion(self) -> dict[str, int]:
        return {"request_id": await self._opinion()}

    async def fresh_feed(self) -> dict[str, str]:
        feed = await self.ok("POST", "/api/calendar/feed", "official")
        return {"token": feed["url"].rsplit("/", 1)[1].removesuffix(".ics")}

    async def spare_point(self) -> dict[str, int]:
        return {"point_id": self.spare_points[0]}

    async def minutes_in_approval(self) -> dict[str, int]:
        url = f"/api/meetings/{self.held}/minutes"
        minutes = await self.ok("GET", url)
        if minutes["status"] == "draft":
            body = {"version": minutes["latest_version"], "approvers": [self.chair_id]}
            await self.ok("POST", f"{url}/submit", json=body)
        return {"meeting_id": self.held}

    async def fresh_session(self, caller: str) -> dict[str, str]:
        """A session of its own for a call that ends it (sign-out)."""
        account = {"outsider": self.outsider, "coordinator": self.coordinator}.get(
            caller, self.p.accounts.get(caller)
        )
        if account is None:
            return self.headers[caller]
        response = await self.client.post(
            "/api/auth/login", json={"username": account.username, "password": PASSWORD}
        )
        return {"Authorization": f"Bearer {response.json()['token']}"}

    # Bodies computed at call time.

    async def agenda_order(self) -> dict[str, list[int]]:
        items = await self.ok("GET", f"/api/meetings/{self.meeting}/agenda")
        return {"item_ids": [i["id"] for i in reversed(items)]}

    async def document_order(self) -> dict[str, list[int]]:
        documents = await self.ok("GET", f"/api/meetings/{self.meeting}/documents")
        return {"document_ids": [d["id"] for d in documents]}

    @property
    def chair_id(self) -> int:
        return self.p.accounts["chair"].id

    # Path parameters and bodies the table names.

    async def held_meeting(self) -> dict[str, int]:
        return {"meeting_id": self.held}

    async def chair_user(self) -> dict[str, int]:
        return {"user_id": self.chair_id}

    async def opinion_document_params(self) -> dict[str, int]:
        return {"document_id": self.opinion_document}

    def meeting_body(self) -> dict[str, Any]:
        starts = tomorrow_at(14)
        return {
            "title": self.name("Họp mới"),
            "host_unit_id": self.p.units["hoa-son"],
            "chair_id": self.chair_id,
            "secretary_id": self.p.accounts["secretary"].id,
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
        }

    def opinion_body(self) -> dict[str, Any]:
        return {
            "title": self.name("Lấy ý kiến"),
            "question": "Đồng ý không?",
            "deadline": (utcnow() + timedelta(days=2)).isoformat(),
            "recipients": {"point_ids": [self.point]},
        }

    def later_deadline(self) -> dict[str, str]:
        return {"deadline": (utcnow() + timedelta(days=5)).isoformat()}

    async def _opinion(self) -> int:
        deadline = utcnow() + timedelta(days=3)
        body = {
            "title": self.name("Lấy ý kiến"),
            "question": "Đồng ý với dự thảo quy chế không?",
            "deadline": deadline.isoformat(),
            "recipients": {"point_ids": [self.point], "usernames": ["official"]},
        }
        created = await self.ok("POST", "/api/opinions", json=body)
        return int(created["id"])


def public_key() -> str:
    """A new key's public half (base64 DER SubjectPublicKeyInfo), as a browser sends it."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(spki).decode()


def timestamp_query() -> bytes:
    """An RFC 3161 request, as a signing tool sends it to /api/ca/tsa."""
    imprint = {
        "hash_algorithm": {"algorithm": "sha256"},
        "hashed_message": hashlib.sha256(b"bien-ban").digest(),
    }
    return tsp.TimeStampReq({"version": 1, "message_imprint": imprint, "cert_req": True}).dump()


async def build_world(p: Province, settings: Settings) -> World:
    create_ca(settings, "UBND tỉnh Thử nghiệm")
    database = Database(p.database_url)
    outsider = await make_account(database, p.client, "canbo-ngoai", Role.OFFICIAL)
    coordinator = await make_account(database, p.client, "thuky-khac", Role.SECRETARY)
    w = World(p, settings, database, outsider, coordinator)
    # The operator runs the invited point's commune; the outsider is of another commune.
    for account, unit in ((p.accounts["operator"], "xa-tan-phu"), (outsider, "xa-hoa-binh")):
        body = {"unit_id": p.units[unit]}
        await w.ok("PATCH", f"/api/users/{account.id}", "admin", json=body)
    w.point = min(await p.point_ids("xa-tan-phu"))
    w.outsider_point = min(await p.point_ids("xa-hoa-binh"))
    taken = await p.point_ids("xa-tan-phu") | await p.point_ids("xa-hoa-binh")
    listed = await w.ok("GET", "/api/points", "admin", params={"limit": 1000})
    w.spare_points = sorted({q["id"] for q in listed["items"]} - taken)
    w.headers = {
        "anonymous": {},
        "point": await p.device(w.point),
        "outsider_point": await p.device(w.outsider_point),
        "outsider": outsider.auth,
        "coordinator": coordinator.auth,
        **{role.value: p.auth(role.value) for role in Role},
    }

    # The meeting everyone's checked against: scheduled, with an agenda and a document.
    w.meeting = mid = await w.new_meeting("Giao ban trực tuyến tháng 12")
    w.item = (await w.ok("POST", f"/api/meetings/{mid}/agenda", json={"title": "Báo cáo"}))["id"]
    await w.ok("POST", f"/api/meetings/{mid}/agenda", json={"title": "Thảo luận"})
    await w.ok("POST", f"/api/meetings/{mid}/schedule")
    invitations = (await w.ok("GET", f"/api/meetings/{mid}/invitations"))["items"]
    w.invitation = next(i["id"] for i in invitations if i["kind"] == "user")
    uploaded = await w.ok(
        "POST",
        f"/api/meetings/{mid}/documents",
        files={"file": ("bao-cao.pdf", pdfs.pdf(2), "application/pdf")},
        data={"title": "Báo cáo tình hình", "agenda_item_id": str(w.item)},
    )
    w.document = uploaded["id"]
    copy = await p.client.get(f"/api/documents/{w.document}/download", headers=p.auth("official"))
    assert copy.status_code == 200, copy.text
    w.copy = copy.content
    point_test = await p.client.post(
        "/api/points/me/self-test",
        headers=w.headers["point"],
        json={"camera": True, "microphone": True, "network": True},
    )
    assert point_test.status_code == 201, point_test.text
    await _recording(w)

    # The outsiders' own meeting, the coordinator's to run: they belong somewhere, just not
    # here.
    w.other = await w.new_meeting(
        "Tập huấn chuyển đổi số", w.outsider_point, outsider.username, secretary_id=coordinator.id
    )
    await w.ok("POST", f"/api/meetings/{w.other}/schedule")

    w.confidential = await w.new_meeting("Họp mật", classification="confidential")
    await w.ok("POST", f"/api/meetings/{w.confidential}/schedule")
    secret = await w.ok(
        "POST",
        f"/api/meetings/{w.confidential}/documents",
        files={"file": ("mat.pdf", pdfs.pdf(1), "application/pdf")},
    )
    w.confidential_document = secret["id"]

    await _held_meeting_with_minutes(w)
    await _opinion_with_document(w)
    return w


async def _recording(w: World) -> None:
    """A finished recording of the meeting (the media plane writes these; here, by hand)."""
    relative = f"recordings/meeting-{w.meeting}/recording-1.webm"
    path = w.settings.data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x1a\x45\xdf\xa3" + b"\0" * 60)
    now = utcnow()
    async with w.database.writer() as session:
        recording = RoomRecording(meeting_id=w.meeting, number=1, file=relative, bytes=64)
        recording.started_at, recording.ended_at = now - timedelta(minutes=5), now
        recording.seconds, recording.agenda_item_id = 300.0, w.item
        session.add(recording)
        await session.commit()


async def _held_meeting_with_minutes(w: World) -> None:
    w.held = (await w.fresh_meeting("ended"))["meeting_id"]
    url = f"/api/meetings/{w.held}/minutes"
    await w.ok("POST", url, json={})
    versions = await w.ok("GET", f"{url}/versions")
    content = versions[0]["content"]
    content["sections"] = [{"heading": "Kết luận", "text": "Thống nhất thông qua."}]
    await w.ok("POST", f"{url}/versions", json={"content": content})
    await w.ok("POST", f"{url}/submit", json={"version": 2, "approvers": [w.chair_id]})
    # The chair keeps a key (as a browser keeps a WebCrypto key) and has begun to sign.
    chair = w.p.accounts["chair"]
    certificate = await w.ok(
        "POST",
        f"/api/users/{chair.id}/certificates/request",
        "chair",
        json={"public_key": public_key(), "password": chair.password},
    )
    w.certificate = certificate["id"]
    pem = await w.client.get(certificate["pem_url"], headers=w.auth("chair"))
    w.certificate_pem = pem.text
    w.ca_root_pem = (await w.client.get("/api/ca/root.pem")).text
    prepared = await w.ok(
        "POST", f"{url}/external/prepare", "chair", json={"version": 2, "step": 0}
    )
    w.signing_session = prepared["session"]


async def _opinion_with_document(w: World) -> None:
    w.opinion = await w._opinion()
    attached = await w.ok(
        "POST",
        f"/api/opinions/{w.opinion}/documents",
        files={"file": ("du-thao.pdf", pdfs.pdf(1), "application/pdf")},
    )
    w.opinion_document = attached["id"]
    request = await w.ok("GET", f"/api/opinions/{w.opinion}")
    w.opinion_recipient = request["recipients"][0]["id"]
