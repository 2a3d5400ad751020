"""Fuzzing the HTTP API with schemathesis, from the app's own /openapi.json.

Every operation gets requests generated from its schema — valid ones and broken ones —
anonymously and as a signed-in secretary, against the app in this process on SQLite, with
a demo province, meetings in several states, a document and an agenda item in it. Path
parameters are often swapped for ids that exist, so requests reach past the 404s. Whatever
is sent, the server must not answer 5xx, a 4xx must be a problem with a ``code``, and a
2xx must match the response schema the API publishes (docs/fuzzing.md).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from server.accounts.service import create_user
from server.app import create_app
from server.db import Database
from server.demo import seed_demo
from server.identity import Role
from server.media_loopback import MAX_LOOPBACKS
from tests import pdfs
from tests.conftest import PASSWORD, test_settings
from tests.fuzzing import SCALE, fuzz_settings
from tests.province import tomorrow_at

# Examples per operation and caller (times HOINGHI_FUZZ_SCALE in the deep profile), and
# SCHEMATHESIS_MAX_EXAMPLES to set it outright.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "0")) or 12 * SCALE
REQUEST_SECONDS = 20
STREAM_SECONDS = 1


@dataclass
class Stage:
    """The app, signed-in tokens by role, and ids that exist by path parameter name: those
    that requests may use, and spares for the operations that end or remove things (so a
    cancelled meeting does not leave every later operation a 409)."""

    app: Any  # the FastAPI app, as schemathesis' ASGI client takes it
    tokens: dict[str, str]
    ids: dict[str, list[Any]] = field(default_factory=dict)
    spares: dict[str, list[Any]] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


# Operations that end or remove what they name: they get the spare ids.
DESTRUCTIVE = ("/cancel", "/end", "/close", "/start")


async def _seed(url: str) -> None:
    database = Database(url)
    try:
        async with database.writer() as session:
            for role in Role:
                await create_user(
                    session,
                    username=role.value,
                    full_name=f"Người dùng {role.value}",
                    password=PASSWORD,
                    roles={role},
                )
            await seed_demo(session)  # keeps the accounts above (tests/province.py)
            await session.commit()
    finally:
        await database.dispose()


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _stage_meetings(http: Any, stage: Stage) -> None:
    """A draft meeting with agenda items, a scheduled one with a document and invited
    points, a live one, and a spare scheduled one."""
    admin, secretary = stage.auth("admin"), stage.auth("secretary")
    units = _ok(http.get("/api/units", headers=admin))
    codes: dict[str, int] = {}
    stack = list(units)
    while stack:
        node = stack.pop()
        codes[node["code"]] = node["id"]
        stack.extend(node["children"])
    points = _ok(http.get("/api/points", params={"unit_id": codes["xa-tan-phu"]}, headers=admin))
    point_ids = sorted(p["id"] for p in points["items"])[:2]
    users = {
        r: _ok(http.get("/api/me", headers=stage.auth(r)))["user"]["id"]
        for r in ("chair", "official")
    }
    meetings = []
    for n, title in enumerate(["Giao ban tháng 12", "Kỳ họp thứ 5", "Họp trực tuyến", "Dự phòng"]):
        starts = tomorrow_at(8 + 2 * n)
        body = {
            "title": title,
            "host_unit_id": codes["hoa-son"],
            "chair_id": users["chair"],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
        }
        meetings.append(_ok(http.post("/api/meetings", json=body, headers=secretary), 201)["id"])
    draft, scheduled, live, spare = meetings
    items = [
        _ok(http.post(f"/api/meetings/{draft}/agenda", json={"title": t}, headers=secretary), 201)
        for t in ("Báo cáo tình hình", "Dự toán ngân sách")
    ]
    invitations = []
    for mid in (scheduled, live, spare):
        invite = {"point_ids": point_ids, "usernames": ["official"]}
        _ok(http.post(f"/api/meetings/{mid}/invitations", json=invite, headers=secretary))
        _ok(http.post(f"/api/meetings/{mid}/schedule", headers=secretary))
        listed = _ok(http.get(f"/api/meetings/{mid}/invitations", headers=secretary))
        invitations.append([i["id"] for i in listed["items"]])
    document = _ok(
        http.post(
            f"/api/meetings/{scheduled}/documents",
            files={"file": ("bao-cao.pdf", pdfs.pdf(2), "application/pdf")},
            headers=secretary,
        ),
        201,
    )
    _ok(http.post(f"/api/meetings/{live}/start", headers=stage.auth("chair")))
    stage.ids.update(
        meeting_id=[draft, scheduled, live],
        item_id=[items[0]["id"]],
        document_id=[document["id"]],
        number=[1],
        page=[1, 2],
        point_id=point_ids,
        unit_id=[codes["hoa-son"], codes["xa-tan-phu"]],
        user_id=[users["chair"], users["official"]],
        invitation_id=invitations[0] + invitations[1],
    )
    stage.spares.update(meeting_id=[spare], item_id=[items[1]["id"]], invitation_id=invitations[2])


@pytest.fixture(scope="module")
def stage(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    tmp = tmp_path_factory.mktemp("fuzz-api")
    shutil.copy(sqlite_template, tmp / "hoinghi.sqlite3")
    url = f"sqlite+aiosqlite:///{tmp / 'hoinghi.sqlite3'}"
    asyncio.run(_seed(url))
    settings = test_settings(url, tmp, pdf_parse_seconds=5, paper_workers=1)
    stage = Stage(create_app(settings), {})
    try:
        with asgi.get_client(stage.app) as http:  # starts the app's lifespan, kept until the end
            for role in Role:
                login = {"username": role.value, "password": PASSWORD}
                stage.tokens[role.value] = _ok(http.post("/api/auth/login", json=login))["token"]
            login = {"username": "secretary", "password": PASSWORD}
            stage.tokens["disposable"] = _ok(http.post("/api/auth/login", json=login))["token"]
            _stage_meetings(http, stage)
        yield stage
    finally:
        asgi.shutdown_lifespans()


def _ids_for(stage: Stage, operation: Any) -> dict[str, list[Any]]:
    destructive = operation.method.upper() == "DELETE" or operation.path.endswith(DESTRUCTIVE)
    return {**stage.ids, **stage.spares} if destructive else stage.ids


@pytest.fixture(scope="module")
def api(stage: Stage) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", stage.app)

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        """Half the time, ids that exist instead of generated ones."""
        ids = _ids_for(stage, context.operation)
        known = {k: st.sampled_from(ids[k]) for k in path_parameters or () if k in ids}
        if not known:
            return st.just(path_parameters)
        generated = {k: st.just(v) for k, v in (path_parameters or {}).items()}
        return st.just(path_parameters) | st.fixed_dictionaries({**generated, **known})

    return schema


def test_ids_past_a_database_integer_are_refused(stage: Stage) -> None:
    """Found by fuzzing: 2**63 in a list of ids reached SQLite's driver (OverflowError, 500)."""
    [document], [meeting] = stage.ids["document_id"], stage.ids["meeting_id"][1:2]
    with asgi.get_client(stage.app) as http:
        for body in ({"point_ids": [2**63]}, {"user_ids": [1, -(2**63) - 1]}, {"point_ids": [0]}):
            refused = http.put(
                f"/api/documents/{document}/readers", json=body, headers=stage.auth("secretary")
            )
            assert refused.status_code == 422, refused.text
            assert refused.json()["code"] == "validation_failed"
        refused = http.post(
            f"/api/meetings/{meeting}/documents/order",
            json={"document_ids": [2**63]},
            headers=stage.auth("secretary"),
        )
        assert refused.status_code == 422, refused.text


def test_minutes_versions_past_a_database_integer_are_refused(stage: Stage) -> None:
    """Found by fuzzing (as the admin, with more examples): ``to=2**63`` reached SQLite."""
    meeting = stage.ids["meeting_id"][2]  # the live one: minutes are for meetings held
    with asgi.get_client(stage.app) as http:
        made = http.post(f"/api/meetings/{meeting}/minutes", json={}, headers=stage.auth("admin"))
        assert made.status_code in (201, 409), made.text  # 409: the fuzzing made them first
        refused = http.get(
            f"/api/meetings/{meeting}/minutes/diff",
            params={"from": 1, "to": 2**63},
            headers=stage.auth("admin"),
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "validation_failed"


def test_junk_offers_take_no_loopback_slot(stage: Stage) -> None:
    """Found by fuzzing: aiortc reads any text as an offer of nothing, so junk was answered
    and held one of the four echo peers for a minute; the fifth request got 503."""
    with asgi.get_client(stage.app) as http:
        for n in range(MAX_LOOPBACKS + 1):
            junk = {"type": "offer", "sdp": f"\x1e\xad junk {n} that is no SDP"}
            refused = http.post("/api/media/loopback", json=junk, headers=stage.auth("secretary"))
            assert refused.status_code == 422, refused.text
            assert refused.json()["code"] == "bad_offer"


def _problem_has_a_code(ctx: Any, response: Any, case: Any) -> bool | None:
    if 400 <= response.status_code < 500 and response.content:
        content_type = response.headers.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        if "json" in content_type:
            body = response.json()
            assert isinstance(body, dict) and isinstance(body.get("code"), str), body
    return None


def _check(case: Any, response: Any) -> None:
    checks: list[Any] = [not_a_server_error, _problem_has_a_code]
    if 200 <= response.status_code < 300:
        checks.append(response_schema_conformance)
    case.validate_response(response, checks=checks)


def _fuzz(operation: Any, headers: dict[str, str]) -> None:
    """EXAMPLES requests to one operation, valid and not, each checked."""
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    # An event stream never ends: what it sends in a second is enough to check.
    responses = operation.definition.raw.get("responses", {}).values()
    streams = any("text/event-stream" in r.get("content", {}) for r in responses)
    seconds = STREAM_SECONDS if streams else REQUEST_SECONDS

    @fuzz_settings(min(EXAMPLES, 4) if streams else EXAMPLES)
    @given(case=cases)
    def requests(case: Any) -> None:
        _check(case, case.call(headers=headers, timeout=seconds))

    requests()


# The admin last: it may disable accounts and points the others use.
@pytest.mark.parametrize("caller", ["anonymous", "secretary", "admin"])
def test_no_operation_answers_with_a_server_error(
    caller: str, stage: Stage, api: Any, subtests: Any
) -> None:
    for result in api.get_all_operations():
        operation = result.ok()
        headers = {} if caller == "anonymous" else stage.auth(caller)
        if operation.label == "POST /api/auth/logout" and headers:
            headers = stage.auth("disposable")  # signing out must not end the run's session
        with subtests.test(msg=f"{caller}: {operation.label}"):
            _fuzz(operation, headers)
