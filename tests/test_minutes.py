"""Minutes through the API: drafting from the meeting, versions and diff, the approval
chain with three leaders (two PINs, one external ECDSA key), rejection and resubmission,
wrong PINs, certificate checks, concurrent approvals, and the final PDF checked by pyHanko
and poppler's pdfsig."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fastapi import FastAPI
from pypdf import PdfReader
from sqlalchemy import select

from agenda.ca import CertificateAuthority
from agenda.minutes_models import SigningCertificate
from server.identity import Role
from server.minutes.trust import create_ca
from server.settings import Settings
from tests.conftest import Account, make_account
from tests.province import Province
from tests.test_signing import pdfsig

PIN = "246810"


@pytest.fixture
def ca(app: FastAPI, settings: Settings) -> CertificateAuthority:
    authority = create_ca(settings, "UBND tỉnh Thử nghiệm")
    app.state.trust.forget()
    return authority


async def held_meeting(province: Province) -> int:
    mid, _ = await province.live_meeting(points=2)
    assert (await province.step(mid, "end", role="chair")).status_code == 200
    return mid


async def issue(province: Province, account: Account, pin: str = PIN) -> dict[str, Any]:
    response = await province.client.post(
        f"/api/users/{account.id}/certificates/issue",
        headers=account.auth,
        json={"pin": pin, "password": account.password},
    )
    assert response.status_code == 201, response.text
    certificate: dict[str, Any] = response.json()
    return certificate


def raw_ecdsa(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class Chain:
    """The meeting's minutes and the leaders who approve them."""

    def __init__(self, province: Province, mid: int, deputy: Account) -> None:
        self.p, self.mid, self.deputy = province, mid, deputy

    @property
    def url(self) -> str:
        return f"/api/meetings/{self.mid}/minutes"

    async def state(self) -> dict[str, Any]:
        response = await self.p.client.get(self.url, headers=self.p.auth("secretary"))
        assert response.status_code == 200, response.text
        state: dict[str, Any] = response.json()
        return state

    async def approve(
        self, who: Account, version: int, step: int, pin: str = PIN
    ) -> httpx.Response:
        return await self.p.client.post(
            f"{self.url}/approve",
            headers=who.auth,
            json={"version": version, "step": step, "pin": pin},
        )

    async def external(
        self, who: Account, key: ec.EllipticCurvePrivateKey, version: int, step: int
    ) -> httpx.Response:
        prepared = await self.p.client.post(
            f"{self.url}/external/prepare",
            headers=who.auth,
            json={"version": version, "step": step},
        )
        assert prepared.status_code == 200, prepared.text
        to_sign = base64.b64decode(prepared.json()["to_sign"])
        return await self.p.client.post(
            f"{self.url}/external/finish",
            headers=who.auth,
            json={
                "session": prepared.json()["session"],
                "signature": base64.b64encode(raw_ecdsa(key, to_sign)).decode(),
            },
        )


@pytest.fixture
async def chain(
    province: Province, app: FastAPI, ca: CertificateAuthority
) -> tuple[Chain, ec.EllipticCurvePrivateKey]:
    mid = await held_meeting(province)
    deputy = await make_account(app, province.client, "pho-chu-tich", Role.CHAIR)
    await issue(province, province.accounts["secretary"])
    await issue(province, province.accounts["chair"])
    # The deputy keeps the key (as a browser keeps a WebCrypto key) and asks the built-in
    # CA for a certificate for its public half.
    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    registered = await province.client.post(
        f"/api/users/{deputy.id}/certificates/request",
        headers=deputy.auth,
        json={"public_key": base64.b64encode(spki).decode(), "password": deputy.password},
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["server_held"] is False
    assert "Người dùng pho-chu-tich" in registered.json()["subject"]
    return Chain(province, mid, deputy), key


async def test_three_leaders_approve_in_order_and_the_record_verifies_everywhere(
    chain: tuple[Chain, ec.EllipticCurvePrivateKey],
    province: Province,
    ca: CertificateAuthority,
    tmp_path: Path,
) -> None:
    c, deputy_key = chain
    secretary, chair = province.accounts["secretary"], province.accounts["chair"]
    created = await province.client.post(c.url, headers=secretary.auth, json={})
    assert created.status_code == 201, created.text
    assert created.json()["latest_version"] == 1
    versions = (await province.client.get(f"{c.url}/versions", headers=secretary.auth)).json()
    content = versions[0]["content"]
    assert content["meeting"]["title"] == "Giao ban trực tuyến tháng 12"
    assert content["agenda"] == []
    content["sections"] = [
        {"heading": "Ý kiến thảo luận", "text": "Xã Tân Phú đề nghị bổ sung kinh phí đường."},
        {"heading": "Kết luận", "text": "Thống nhất thông qua dự toán ngân sách năm 2027."},
    ]
    second = await province.client.post(
        f"{c.url}/versions", headers=secretary.auth, json={"content": content}
    )
    assert second.status_code == 201 and second.json()["number"] == 2
    changes = await province.client.get(
        f"{c.url}/diff", params={"from": 1, "to": 2}, headers=secretary.auth
    )
    assert "+Thống nhất thông qua dự toán ngân sách năm 2027." in changes.json()["diff"]

    # The PDF: Vietnamese text extracts back exactly.
    preview = await province.client.get(f"{c.url}/versions/2.pdf", headers=secretary.auth)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(preview.content)).pages)
    assert "Thống nhất thông qua dự toán ngân sách năm 2027." in text
    assert "BIÊN BẢN GIAO BAN TRỰC TUYẾN THÁNG 12" in text

    submitted = await province.client.post(
        f"{c.url}/submit",
        headers=secretary.auth,
        json={"version": 2, "approvers": [secretary.id, c.deputy.id, chair.id]},
    )
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "in_approval"
    assert submitted.json()["next_approver"] == secretary.id
    frozen = await province.client.post(
        f"{c.url}/versions", headers=secretary.auth, json={"content": content}
    )
    assert frozen.status_code == 409 and frozen.json()["code"] == "minutes_locked"

    page = await province.client.get(f"{c.url}/document/pages/1.webp", headers=chair.auth)
    assert page.status_code == 200 and page.headers["content-type"] == "image/webp"
    beyond = await province.client.get(f"{c.url}/document/pages/9.webp", headers=chair.auth)
    assert beyond.status_code == 404
    waiting = await province.client.get("/api/minutes/awaiting", headers=secretary.auth)
    assert [(w["meeting_id"], w["step"]) for w in waiting.json()] == [(c.mid, 0)]
    assert (await province.client.get("/api/minutes/awaiting", headers=chair.auth)).json() == []
    assert submitted.json()["document_pages"] >= 1
    early = await c.approve(chair, 2, 0)
    assert early.status_code == 409 and early.json()["code"] == "not_your_turn"
    wrong = await c.approve(secretary, 2, 0, pin="000000")
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_pin"
    first = await c.approve(secretary, 2, 0)
    assert first.status_code == 200, first.text
    again = await c.approve(secretary, 2, 1)
    assert again.status_code == 409 and again.json()["code"] == "already_signed"

    external = await c.external(c.deputy, deputy_key, 2, 1)
    assert external.status_code == 200, external.text
    stale = await c.approve(chair, 2, 1)
    assert stale.status_code == 409 and stale.json()["code"] == "stale_step"
    last = await c.approve(chair, 2, 2)
    assert last.status_code == 200, last.text
    state = last.json()
    assert state["status"] == "final" and state["final"]
    assert [s["method"] for s in state["steps"]] == ["server_key", "external", "server_key"]
    assert state["steps"][1]["approver_name"] == "Người dùng pho-chu-tich"
    # Each step stored the validation of every signature made so far.
    assert [len(s["validation"]) for s in state["steps"]] == [1, 2, 4]
    assert all(r["verdict"] == "valid" for r in state["steps"][-1]["validation"])

    record = await province.client.get(state["document_url"], headers=province.auth("official"))
    assert record.status_code in (403, 404)  # an official not invited sees nothing
    record = await province.client.get(state["document_url"], headers=chair.auth)
    assert record.status_code == 200
    verified = await province.client.post(
        "/api/verify",
        headers=province.auth("official"),
        files={"file": ("bien-ban.pdf", record.content, "application/pdf")},
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["overall"] == "valid"
    signers = [s["signer"] for s in verified.json()["signatures"][:3]]
    assert signers == ["Người dùng secretary", "Người dùng pho-chu-tich", "Người dùng chair"]

    report = pdfsig(record.content, tmp_path, ca)
    assert report.count("Signature is Valid.") >= 3
    assert report.count("Certificate is Trusted.") >= 3

    # With final minutes, the chair closes the meeting (before, only an admin could).
    closed = await province.step(c.mid, "close", role="chair")
    assert closed.status_code == 200, closed.text

    tampered = bytearray(record.content)
    tampered[1200] ^= 1
    checked = await province.client.post(
        "/api/verify",
        headers=chair.auth,
        files={"file": ("x.pdf", bytes(tampered), "application/pdf")},
    )
    assert checked.json()["overall"] == "problem"
    assert {s["verdict"] for s in checked.json()["signatures"]} == {"invalid"}


async def test_a_rejection_returns_to_draft_and_a_new_version_starts_again(
    chain: tuple[Chain, ec.EllipticCurvePrivateKey], province: Province
) -> None:
    c, deputy_key = chain
    secretary, chair = province.accounts["secretary"], province.accounts["chair"]
    await province.client.post(c.url, headers=secretary.auth, json={})
    approvers = [secretary.id, c.deputy.id, chair.id]
    await province.client.post(
        f"{c.url}/submit", headers=secretary.auth, json={"version": 1, "approvers": approvers}
    )
    assert (await c.approve(secretary, 1, 0)).status_code == 200
    no_comment = await province.client.post(
        f"{c.url}/reject", headers=c.deputy.auth, json={"version": 1, "step": 1, "comment": " "}
    )
    assert no_comment.status_code == 422
    rejected = await province.client.post(
        f"{c.url}/reject",
        headers=c.deputy.auth,
        json={"version": 1, "step": 1, "comment": "Bổ sung ý kiến của xã Tân Phú"},
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "draft"
    assert rejected.json()["steps"][-1]["comment"] == "Bổ sung ý kiến của xã Tân Phú"
    same = await province.client.post(
        f"{c.url}/submit", headers=secretary.auth, json={"version": 1, "approvers": approvers}
    )
    assert same.status_code == 409 and same.json()["code"] == "version_rejected"
    content = (await province.client.get(f"{c.url}/versions", headers=secretary.auth)).json()[0]
    await province.client.post(
        f"{c.url}/versions", headers=secretary.auth, json={"content": content["content"]}
    )
    resubmitted = await province.client.post(
        f"{c.url}/submit", headers=secretary.auth, json={"version": 2, "approvers": approvers}
    )
    assert resubmitted.json()["next_approver"] == secretary.id
    assert (await c.approve(secretary, 2, 0)).status_code == 200
    assert (await c.external(c.deputy, deputy_key, 2, 1)).status_code == 200
    premature = await province.step(c.mid, "close", role="chair")
    assert premature.status_code == 403  # not final yet: only an admin may close
    assert (await c.approve(chair, 2, 2)).json()["status"] == "final"


async def test_concurrent_approvals_sign_once(
    chain: tuple[Chain, ec.EllipticCurvePrivateKey], province: Province
) -> None:
    c, _ = chain
    secretary, chair = province.accounts["secretary"], province.accounts["chair"]
    await province.client.post(c.url, headers=secretary.auth, json={})
    await province.client.post(
        f"{c.url}/submit",
        headers=secretary.auth,
        json={"version": 1, "approvers": [secretary.id, chair.id]},
    )
    answers = await asyncio.gather(*(c.approve(secretary, 1, 0) for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [200, 409, 409]
    state = await c.state()
    assert [s["outcome"] for s in state["steps"]] == ["signed"]


async def test_five_wrong_pins_lock_the_key(
    chain: tuple[Chain, ec.EllipticCurvePrivateKey], province: Province
) -> None:
    c, _ = chain
    secretary = province.accounts["secretary"]
    await province.client.post(c.url, headers=secretary.auth, json={})
    await province.client.post(
        f"{c.url}/submit", headers=secretary.auth, json={"version": 1, "approvers": [secretary.id]}
    )
    codes = [(await c.approve(secretary, 1, 0, pin="999999")).json()["code"] for _ in range(5)]
    assert codes == ["wrong_pin"] * 4 + ["pin_locked"]
    right = await c.approve(secretary, 1, 0)
    assert right.status_code == 423 and right.json()["code"] == "pin_locked"
    listed = await province.client.get(
        f"/api/users/{secretary.id}/certificates", headers=secretary.auth
    )
    assert listed.json()[0]["locked"] is True
    # The locked leader cannot get a new key by themselves; an admin can give one.
    own = await province.client.post(
        f"/api/users/{secretary.id}/certificates/issue",
        headers=secretary.auth,
        json={"pin": "11223344", "password": secretary.password},
    )
    assert own.status_code == 423 and own.json()["code"] == "pin_locked"
    reissued = await province.client.post(
        f"/api/users/{secretary.id}/certificates/issue",
        headers=province.auth("admin"),
        json={"pin": "11223344"},
    )
    assert reissued.status_code == 201
    assert (await c.approve(secretary, 1, 0, pin="11223344")).status_code == 200


async def test_pin_guesses_sent_at_once_get_no_more_than_five_tries(
    chain: tuple[Chain, ec.EllipticCurvePrivateKey], province: Province, app: FastAPI
) -> None:
    c, _ = chain
    secretary = province.accounts["secretary"]
    await province.client.post(c.url, headers=secretary.auth, json={})
    await province.client.post(
        f"{c.url}/submit", headers=secretary.auth, json={"version": 1, "approvers": [secretary.id]}
    )
    # Thirty wrong guesses at once: each is counted before the key is tried, so only five
    # are tried at all; the rest are refused as locked, and so is the right PIN after.
    guesses = [f"{100000 + i}" for i in range(30)]
    answers = await asyncio.gather(*(c.approve(secretary, 1, 0, pin=g) for g in guesses))
    codes = sorted(a.json()["code"] for a in answers)
    assert codes == ["pin_locked"] * 26 + ["wrong_pin"] * 4
    database = app.state.db
    async with database.reader() as db:
        failures = await db.scalar(
            select(SigningCertificate.pin_failures).where(
                SigningCertificate.user_id == secretary.id, SigningCertificate.active.is_(True)
            )
        )
    assert failures == 5  # not 30: the other guesses never reached the key
    right = await c.approve(secretary, 1, 0)
    assert right.status_code == 423


async def test_a_conference_point_cannot_act_as_an_approver(
    chain: tuple[Chain, ec.EllipticCurvePrivateKey], province: Province
) -> None:
    """Points and people are numbered apart: a point whose id is an approver's user id is
    still not that approver."""
    c, _ = chain
    secretary = province.accounts["secretary"]
    await province.client.post(c.url, headers=secretary.auth, json={})
    await province.client.post(
        f"{c.url}/submit", headers=secretary.auth, json={"version": 1, "approvers": [secretary.id]}
    )
    points = await province.point_ids("xa-tan-phu")
    await province.invite(c.mid, point_ids=sorted(points))
    point = sorted(points)[0]
    device = await province.device(point)
    for action, body in (
        ("approve", {"version": 1, "step": 0, "pin": "000000"}),
        ("reject", {"version": 1, "step": 0, "comment": "Không đồng ý"}),
        ("external/prepare", {"version": 1, "step": 0}),
    ):
        answer = await province.client.post(f"{c.url}/{action}", headers=device, json=body)
        assert answer.status_code in (403, 404), (action, answer.text)
    state = await c.state()
    assert state["status"] == "in_approval" and state["steps"] == []
    taken_back = await province.client.post(f"{c.url}/withdraw", headers=device)
    assert taken_back.status_code == 403
    taken_back = await province.client.post(f"{c.url}/withdraw", headers=secretary.auth)
    assert taken_back.status_code == 200 and taken_back.json()["status"] == "draft"
    # Drafts and the document in approval are for organizers and approvers only.
    for path in ("", "/versions", "/versions/1.pdf", "/document.pdf", "/diff?from=1&to=1"):
        seen = await province.client.get(f"{c.url}{path}", headers=device)
        assert seen.status_code == 403, (path, seen.status_code)


async def test_certificates_that_cannot_sign_here_are_refused_with_a_reason(
    province: Province, ca: CertificateAuthority, tmp_path: Path, app: FastAPI
) -> None:
    from datetime import UTC, datetime, timedelta

    from agenda.ca import init_ca

    admin, chair = province.auth("admin"), province.accounts["chair"]

    async def register(cert: Any) -> httpx.Response:
        return await province.client.post(
            f"/api/users/{chair.id}/certificates",
            headers=admin,
            json={"certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode()},
        )

    expired, _ = ca.issue(
        "Người dùng chair", "chair", days=1, not_before=datetime.now(UTC) - timedelta(days=3)
    )
    assert (await register(expired)).json()["code"] == "certificate_expired"
    foreign, _ = init_ca(tmp_path / "other", b"x", "Tổ chức lạ").issue("Người dùng chair", "chair")
    assert (await register(foreign)).json()["code"] == "certificate_untrusted"
    revoked, _ = ca.issue("Người dùng chair", "chair")
    ca.revoke(revoked.serial_number)
    app.state.trust.forget()  # the server makes its CRL again every few minutes
    assert (await register(revoked)).json()["code"] == "certificate_revoked"
    good, _ = ca.issue("Người dùng chair", "chair")
    assert (await register(good)).status_code == 201
    assert (await register(good)).json()["code"] == "certificate_exists"
    as_chair = await province.client.post(
        f"/api/users/{chair.id}/certificates",
        headers=chair.auth,
        json={"certificate_pem": good.public_bytes(serialization.Encoding.PEM).decode()},
    )
    assert as_chair.status_code == 403

    async def issue_self(body: dict[str, Any]) -> httpx.Response:
        return await province.client.post(
            f"/api/users/{chair.id}/certificates/issue", headers=chair.auth, json=body
        )

    short = await issue_self({"pin": "12", "password": chair.password})
    assert short.json()["code"] == "pin_too_short"
    # A session alone is not enough: the leader confirms with the password...
    assert (await issue_self({"pin": "246810"})).json()["code"] == "wrong_password"
    assert (await issue_self({"pin": "246810", "password": "sai"})).json()[
        "code"
    ] == "wrong_password"
    # ...and the PIN is not the password.
    same = await issue_self({"pin": chair.password, "password": chair.password})
    assert same.json()["code"] == "pin_is_password"


async def test_the_built_in_ca_serves_its_root_crl_and_timestamps(
    province: Province, ca: CertificateAuthority
) -> None:
    import hashlib

    from asn1crypto import algos, tsp
    from cryptography import x509

    client = province.client
    root = await client.get("/api/ca/root.pem")
    assert x509.load_pem_x509_certificate(root.content) == ca.root
    crl = await client.get("/api/ca/crl")
    assert x509.load_der_x509_crl(crl.content).issuer == ca.intermediate.subject
    query = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": hashlib.sha256(b"bien ban").digest(),
            },
            "cert_req": True,
        }
    )
    # Timestamps are for signed-in people's signing tools, a few a second each.
    headers = {"Content-Type": "application/timestamp-query"}
    anonymous = await client.post("/api/ca/tsa", content=query.dump(), headers=headers)
    assert anonymous.status_code == 401
    point = await province.device(min(await province.point_ids("xa-tan-phu")))
    by_point = await client.post("/api/ca/tsa", content=query.dump(), headers=headers | point)
    assert by_point.status_code == 403
    signer = headers | province.auth("chair")
    stamped = await client.post("/api/ca/tsa", content=query.dump(), headers=signer)
    assert stamped.status_code == 200
    reply = tsp.TimeStampResp.load(stamped.content)
    assert reply["status"]["status"].native == "granted"
    info = reply["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(b"bien ban").digest()
    junk = await client.post("/api/ca/tsa", content=b"not asn.1", headers=signer)
    assert junk.status_code == 400
    answers = [
        (await client.post("/api/ca/tsa", content=query.dump(), headers=signer)).status_code
        for _ in range(40)
    ]
    assert 429 in answers and answers[0] == 200
    other = headers | province.auth("secretary")  # each person has their own allowance
    assert (await client.post("/api/ca/tsa", content=query.dump(), headers=other)).is_success
