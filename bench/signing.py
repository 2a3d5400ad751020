"""Signing minutes: three approvals of a ~10-page minutes PDF through the server, against
pyHanko's own signing of the same document in the same run.

The server is started the README's way (SQLite, demo province: its first start creates the
built-in CA and gives the demo leaders certificates and PINs). Each round drafts minutes
for a held meeting, submits them to three approvers and approves them over HTTP:
``sign_s`` is one approval's round trip with a server-held key (PIN: argon2id unlock,
pyHanko signature with a timestamp, validation of every signature so far, storage; the
last one also archives: B-LTA), ``external_sign_s`` the prepare + finish round trips of an
approval with a key the client keeps. ``pyhanko_sign_s`` is pyHanko signing the same frozen
PDF in this process with a cached key and an in-process timestamper: the floor.
``validate_s`` is the server's ``POST /api/verify`` on the final document, per signature.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from bench.support import hoinghi_server

PIN = "13579246"
PARAGRAPH = (
    "Đại biểu xã {n} báo cáo tình hình thực hiện nhiệm vụ phát triển kinh tế - xã hội, "
    "đề nghị tỉnh hỗ trợ kinh phí làm đường giao thông nông thôn, kiên cố hóa kênh mương "
    "và sửa chữa trường học trước mùa mưa bão; Chủ tịch kết luận giao các sở, ngành phối "
    "hợp rà soát, tổng hợp và báo cáo trước ngày 15 tháng sau. "
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=5, help="minutes signed with PINs")


def _content(pages: int = 10) -> dict[str, Any]:
    sections = [
        {"heading": f"Ý kiến {n}", "text": " ".join(PARAGRAPH.format(n=n) for _ in range(4))}
        for n in range(1, pages * 2 + 1)
    ]
    return {"title": "BIÊN BẢN HỌP GIAO BAN", "sections": sections, "decisions": []}


def _raw(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class Run:
    def __init__(self, url: str, passwords: dict[str, str]) -> None:
        self.client = httpx.Client(base_url=url, timeout=120)
        self.passwords = passwords
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, int] = {}

    def login(self, username: str, password: str) -> None:
        answer = self.client.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        answer.raise_for_status()
        self.tokens[username] = answer.json()["token"]
        self.ids[username] = answer.json()["user"]["id"]
        self.client.cookies.clear()

    def call(self, method: str, path: str, who: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        answer = self.client.request(method, path, headers=headers, **kwargs)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {path} as {who}: {answer.status_code} {answer.text}")
        return answer

    def held_meeting(self, title: str) -> int:
        me = self.call("GET", "/api/me", "thuky").json()["user"]
        body = {
            "title": title,
            "host_unit_id": me["unit"]["id"],
            "chair_id": self.ids["chutich"],
            "starts_at": "2030-01-06T01:00:00Z",
            "ends_at": "2030-01-06T03:00:00Z",
        }
        meeting = self.call("POST", "/api/meetings", "thuky", json=body).json()["id"]
        self.call("POST", f"/api/meetings/{meeting}/schedule", "thuky")
        self.call("POST", f"/api/meetings/{meeting}/start", "chutich")
        self.call("POST", f"/api/meetings/{meeting}/end", "chutich")
        return int(meeting)

    def submitted(self, title: str, approvers: list[str]) -> tuple[int, bytes]:
        meeting = self.held_meeting(title)
        url = f"/api/meetings/{meeting}/minutes"
        self.call("POST", url, "thuky", json={})
        self.call("POST", f"{url}/versions", "thuky", json={"content": _content()})
        ids = [self.ids[a] for a in approvers]
        self.call("POST", f"{url}/submit", "thuky", json={"version": 2, "approvers": ids})
        frozen = self.call("GET", f"{url}/document.pdf", "thuky").content
        return meeting, frozen


def _pyhanko_floor(frozen: bytes, signatures: int) -> list[float]:
    """pyHanko alone on the same document: cached keys, in-process timestamps."""
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    from agenda import signing
    from agenda.ca import init_ca

    async def sign_all() -> list[float]:
        with tempfile.TemporaryDirectory() as directory:
            ca = init_ca(Path(directory) / "ca", b"bench", "Bench")
            tsa = DummyTimeStamper(
                tsa_cert=signing.to_asn1_cert(ca.tsa),
                tsa_key=signing.to_asn1_key(ca.tsa_key),
                certs_to_embed=None,
            )
            trust = signing.Trust([ca.root], [ca.intermediate], [ca.crl()], tsa)
            keys = [ca.issue(f"Lãnh đạo {n}", f"u{n}") for n in range(signatures)]
            pdf, times = frozen, []
            for step, (cert, key) in enumerate(keys):
                assert key is not None
                started = time.perf_counter()
                pdf = await signing.sign_with_key(pdf, step, cert, key, trust, f"Lãnh đạo {step}")
                times.append(time.perf_counter() - started)
            return times

    return asyncio.run(sign_all())


def run(args: argparse.Namespace) -> dict[str, Any]:
    with hoinghi_server() as server:
        bench = Run(server.url, server.passwords)
        bench.login("admin", server.passwords["admin"])
        bench.login("thuky", server.passwords["thuky"])
        bench.login("chutich", server.passwords["chutich"])
        password = "mat-khau-ban-thu-nghiem"
        bench.call(
            "POST", "/api/users", "admin",
            json={"username": "phochutich", "full_name": "Phạm Văn Đông", "roles": ["chair"],
                  "password": password},
        )  # fmt: skip
        bench.login("phochutich", password)
        pins = {
            "thuky": server.passwords["pin:thuky"],
            "chutich": server.passwords["pin:chutich"],
            "phochutich": PIN,
        }
        bench.call(
            "POST", f"/api/users/{bench.ids['phochutich']}/certificates/issue", "phochutich",
            json={"pin": PIN, "password": password},
        )  # fmt: skip
        chain = ["thuky", "phochutich", "chutich"]
        sign_times: list[list[float]] = []
        floors: list[float] = []
        final = b""
        for round_ in range(args.rounds):
            meeting, frozen = bench.submitted(f"Giao ban {round_ + 1}", chain)
            floors += _pyhanko_floor(frozen, len(chain))
            times = []
            for step, who in enumerate(chain):
                started = time.perf_counter()
                bench.call(
                    "POST", f"/api/meetings/{meeting}/minutes/approve", who,
                    json={"version": 2, "step": step, "pin": pins[who]},
                )  # fmt: skip
                times.append(time.perf_counter() - started)
            sign_times.append(times)
            final = bench.call(
                "GET", f"/api/meetings/{meeting}/minutes/document.pdf", "thuky"
            ).content

        # An approval whose key the client keeps: the deputy's browser key.
        key = ec.generate_private_key(ec.SECP256R1())
        spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        bench.call(
            "POST", f"/api/users/{bench.ids['phochutich']}/certificates/request", "phochutich",
            json={"public_key": base64.b64encode(spki).decode(), "password": password},
        )  # fmt: skip
        meeting, _ = bench.submitted("Giao ban ngoài", chain)
        url = f"/api/meetings/{meeting}/minutes"
        bench.call(
            "POST", f"{url}/approve", "thuky", json={"version": 2, "step": 0, "pin": pins["thuky"]}
        )
        external: list[float] = []
        started = time.perf_counter()
        prepared = bench.call(
            "POST", f"{url}/external/prepare", "phochutich", json={"version": 2, "step": 1}
        ).json()
        server_time = time.perf_counter() - started
        signature = _raw(key, base64.b64decode(prepared["to_sign"]))
        started = time.perf_counter()
        bench.call(
            "POST", f"{url}/external/finish", "phochutich",
            json={"session": prepared["session"],
                  "signature": base64.b64encode(signature).decode()},
        )  # fmt: skip
        external.append(server_time + time.perf_counter() - started)

        started = time.perf_counter()
        verified = bench.call(
            "POST", "/api/verify", "thuky", files={"file": ("b.pdf", io.BytesIO(final))}
        ).json()
        validate_total = time.perf_counter() - started
        assert verified["overall"] == "valid", verified

    pages = final.count(b"/Type /Page\n") or None
    middle = [t for times in sign_times for t in times[:-1]]  # approvals before the last
    last = [times[-1] for times in sign_times]
    sign_s = statistics.median(middle)
    floor = statistics.median(floors)
    validate_s = validate_total / len(verified["signatures"])
    return {
        "rounds": args.rounds,
        "approvers": len(chain),
        "pdf_pages": pages,
        "sign_s": round(sign_s, 4),
        "sign_last_s": round(statistics.median(last), 4),  # with the B-LTA archive step
        "pyhanko_sign_s": round(floor, 4),
        "sign_overhead_s": round(sign_s - floor, 4),
        "external_sign_s": round(statistics.median(external), 4),
        "validate_s": round(validate_s, 4),
        "signatures_verified": len(verified["signatures"]),
        "targets": {
            "overhead_under_0_1_s": sign_s - floor < 0.1,
            "validate_under_0_1_s": validate_s < 0.1,
        },
    }
