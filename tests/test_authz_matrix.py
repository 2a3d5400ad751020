"""The authorization matrix: every HTTP route in the app's route table and every room command,
called by every kind of caller, against the expectations in tests/authz_table.py."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount, WebSocketRoute

from rooms.messages import COMMAND_TYPES
from server.app import create_app
from server.settings import Settings
from tests import pdfs
from tests.authz_table import (
    CALLERS,
    HTTP,
    KNOWN_DEVIATIONS,
    ROOM,
    ROOM_GRANTS,
    ROOM_ROLES,
    RoomContext,
    Route,
)
from tests.authz_world import World, build_world
from tests.conftest import LiveServer
from tests.province import Province
from tests.roomclient import RoomClient

# Error codes that say the frame itself was wrong: the matrix must never send one.
PROTOCOL_ERRORS = {
    "binary_frame", "frame_too_large", "malformed_json", "malformed_command", "unknown_type",
    "invalid_command", "unsupported_version", "rate_limited", "flooding",
}  # fmt: skip
# A refused socket: its close code as the HTTP status it stands for.
WS_CLOSE = {4401: 401, 4403: 403, 4404: 404}


def app_routes(settings: Settings) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route the app serves, "WS" for sockets."""
    app = create_app(settings)
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):  # /static: files, the same to everyone
            continue
        path = context.path_format or ""
        if isinstance(route, WebSocketRoute):
            yield "WS", path
            continue
        for method in sorted((context.methods or set()) - {"HEAD"}):
            yield method, path


def test_every_route_is_in_the_table(settings: Settings) -> None:
    served = list(app_routes(settings))
    missing = [f"{m} {p}" for m, p in served if (m, p) not in HTTP]
    assert not missing, f"add them to tests/authz_table.py HTTP: {missing}"
    gone = [f"{m} {p}" for m, p in HTTP if (m, p) not in set(served)]
    assert not gone, f"no such routes any more; remove them from tests/authz_table.py: {gone}"
    for key, route in HTTP.items():
        assert set(route.expect) == set(CALLERS), key


def test_every_room_command_is_in_the_table() -> None:
    missing = sorted(COMMAND_TYPES - set(ROOM))
    assert not missing, f"add them to tests/authz_table.py ROOM: {missing}"
    gone = sorted(set(ROOM) - COMMAND_TYPES)
    assert not gone, f"no such commands any more; remove them from ROOM: {gone}"


# -- calling a route ----------------------------------------------------------------------


async def _resolve(value: Any, world: World) -> Any:
    if callable(value):
        value = value(world)
    if inspect.isawaitable(value):
        value = await value
    return value


class Answer:
    """What a call came to: the status and the problem's code."""

    def __init__(self, status: int, code: str = "", detail: str = "") -> None:
        self.status, self.code, self.detail = status, code, detail

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        code = detail = ""
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            problem = json.loads(response.content)
            code, detail = problem.get("code", ""), problem.get("detail", "")
        return cls(response.status_code, code, detail)

    def __str__(self) -> str:
        return f"{self.status} {self.code} {self.detail}".strip()


def matches(expected: str, got: Answer) -> bool:
    if got.status >= 500:
        return False
    if expected == "ok":
        return got.status not in (401, 403, 404)
    if expected == "401":
        return got.status == 401
    if expected == "403":  # a socket's refusal says why: not_invited
        return got.status == 403 and got.code in ("forbidden", "not_invited")
    if expected == "hidden":
        return got.status == 404 and got.code == "not_found"
    status, code = expected.split()
    return got.status == int(status) and got.code == code


class Caller:
    """Calls one route as each caller, in the world, the way the table says: real ids in
    the path, the body, and objects of the route's own while no call has used them up."""

    def __init__(self, world: World, method: str, path: str, route: Route, **params: int) -> None:
        self.w, self.method, self.path, self.route = world, method, path, route
        self._own: dict[str, Any] | None = None  # the route's own objects, until used up
        self._params = params  # in place of the world's and the route's own

    async def call(self, caller: str, empty_body: bool = False) -> Answer:
        answer = await self._call(caller, empty_body)
        if 200 <= answer.status < 300:
            self._own = None  # it may have used them up (deleted, cancelled, withdrawn)
        return answer

    async def _call(self, caller: str, empty_body: bool) -> Answer:
        w, route = self.w, self.route
        if route.params is not None and self._own is None:
            self._own = await _resolve(route.params, w)
        params = w.params() | (self._own or {}) | self._params
        try:
            url = self.path.format(**params)
        except KeyError as unknown:
            raise AssertionError(f"{self.path}: give its entry params for {unknown}") from None
        query = {k: str(v).format(**params) for k, v in route.query.items()}
        headers = await w.fresh_session(caller) if route.fresh_session else w.headers[caller]
        w.client.cookies.clear()  # only the caller's own credentials go with the call
        if self.method == "WS":
            return await self._socket(params["meeting_id"], headers)
        kw: dict[str, Any] = {"params": query, "headers": headers}
        if empty_body:
            kw["json"] = {}
        elif route.upload == "pdf":
            kw["files"] = {"file": ("tai-lieu.pdf", pdfs.pdf(1), "application/pdf")}
        elif route.upload == "copy":
            kw["files"] = {"file": ("ban-sao.pdf", w.copy, "application/pdf")}
        elif route.raw is not None:
            kw["content"] = route.raw
            kw["headers"] = {**headers, "Content-Type": "application/timestamp-query"}
        elif route.body is not None:
            kw["json"] = await _resolve(route.body, w)
        async with w.client.stream(self.method, url, **kw) as response:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                return Answer(response.status_code)  # a stream: admitted, do not wait on it
            await response.aread()
            return Answer.of(response)

    async def _socket(self, meeting_id: int, headers: dict[str, str]) -> Answer:
        """Admitted: a lobby or welcome frame. Refused: an error, then a close whose code
        stands for 401, 403 or 404."""
        client = await RoomClient.open(self.w.p.ws_url, meeting_id, headers)
        try:
            if not headers:  # the server waits for an "auth" frame: send something else
                await client.send_raw('{"type": "ping", "id": "1"}')
            first = await client.wait_for(lambda f: f["type"] in ("lobby", "welcome", "error"))
            if first["type"] != "error":
                return Answer(101)
            close, _ = await client.wait_closed()
            return Answer(WS_CLOSE.get(close or 0, 500), first["code"])
        finally:
            await client.close()


async def test_every_route_answers_every_caller_as_the_table_says(
    live_server: LiveServer, live_province: Province
) -> None:
    world = await build_world(live_province, live_server.settings)
    wrong: list[str] = []
    try:
        for (method, path), route in HTTP.items():
            wrong += await _check_route(Caller(world, method, path, route))
        wrong += await _check_confidential(world)
        wrong += await _check_crossed_ids(world)
    finally:
        await world.database.dispose()
    assert not wrong, "\n".join(wrong)


async def _check_route(calls: Caller) -> list[str]:
    wrong: list[str] = []
    table = calls.route
    needed_a_body = False
    for caller in CALLERS:
        expected = table.expect[caller]
        got = await calls.call(caller)
        where = f"{calls.method} {calls.path} as {caller}"
        deviation = KNOWN_DEVIATIONS.get((calls.method, calls.path, caller))
        if deviation is not None:
            if matches(expected, got):
                wrong.append(f"{where}: fixed; remove it from KNOWN_DEVIATIONS")
            elif not matches(deviation[0], got):
                wrong.append(f"{where}: expected {expected} (known: {deviation[0]}), got {got}")
            continue
        if not matches(expected, got):
            wrong.append(f"{where}: expected {expected}, got {got}")
            continue
        # A refusal must not depend on the body: the same call with an empty one is
        # refused alike, unless the route reads the body first (body_first).
        if table.has_body and expected not in ("ok", "401"):
            empty = await calls.call(caller, empty_body=True)
            if table.body_first and empty.status in (415, 422):
                needed_a_body = True
            elif not matches(expected, empty):
                wrong.append(f"{where}, empty body: expected {expected}, got {empty}")
    if table.body_first and not needed_a_body:
        wrong.append(
            f"{calls.method} {calls.path}: refuses before reading the body; drop body_first"
        )
    return wrong


async def _check_confidential(world: World) -> list[str]:
    """A confidential meeting is seen by nobody but its own people: the coordinator, who sees
    the normal one to plan around it, is told this one does not exist, wherever an outsider
    is told so of the normal one."""
    wrong = []
    for (method, path), route in HTTP.items():
        about_a_meeting = "{meeting_id}" in path or path.startswith("/api/documents/{document_id}")
        if route.expect["outsider"] != "hidden" or not about_a_meeting:
            continue
        confidential = Caller(
            world, method, path, route,
            meeting_id=world.confidential, document_id=world.confidential_document,
        )  # fmt: skip
        got = await confidential.call("coordinator")
        if not matches("hidden", got):
            wrong.append(
                f"{method} {path} as coordinator, confidential: expected hidden, got {got}"
            )
    return wrong


async def _check_crossed_ids(world: World) -> list[str]:
    """The coordinator organizes the other meeting: through it, the objects of this one are
    not found (ids in the path) or refused (ids in the body), never changed."""
    w, other = world, world.other
    headers = w.headers["coordinator"]
    items = [i["id"] for i in await w.ok("GET", f"/api/meetings/{w.meeting}/agenda")]
    calls: list[tuple[str, str, dict[str, Any], str]] = [
        ("PATCH", f"/api/meetings/{other}/agenda/{w.item}", {"json": {"title": "Đổi"}}, "hidden"),
        ("DELETE", f"/api/meetings/{other}/agenda/{w.item}", {}, "hidden"),
        ("DELETE", f"/api/meetings/{other}/invitations/{w.invitation}", {}, "hidden"),
        (
            "PUT",
            f"/api/meetings/{other}/agenda/order",
            {"json": {"item_ids": items}},
            "422 validation_failed",
        ),
        (
            "POST",
            f"/api/meetings/{other}/documents/order",
            {"json": {"document_ids": [w.document]}},
            "422 validation_failed",
        ),
        (
            "POST",
            f"/api/meetings/{other}/documents",
            {
                "files": {"file": ("x.pdf", pdfs.pdf(1), "application/pdf")},
                "data": {"agenda_item_id": str(w.item)},
            },
            "422 validation_failed",
        ),
    ]
    wrong = []
    for method, url, kw, expected in calls:
        got = Answer.of(await w.client.request(method, url, headers=headers, **kw))
        if not matches(expected, got):
            wrong.append(f"{method} {url} as coordinator: expected {expected}, got {got}")
    return wrong


# -- room commands ------------------------------------------------------------------------


async def test_every_room_command_is_refused_or_allowed_by_role(live_province: Province) -> None:
    p = live_province
    mid, (point,) = await p.live_meeting(1, start=False, usernames=["official"])
    item = await p.client.post(
        f"/api/meetings/{mid}/agenda", headers=p.auth("secretary"), json={"title": "Báo cáo"}
    )
    document = await p.client.post(
        f"/api/meetings/{mid}/documents",
        headers=p.auth("secretary"),
        files={"file": ("to-trinh.pdf", pdfs.pdf(2), "application/pdf")},
    )
    assert document.status_code == 201, document.text
    assert (await p.step(mid, "start", role="chair")).status_code == 200
    credentials = {role: p.auth(role) for role in ROOM_ROLES if role != "point"}
    credentials["point"] = await p.device(point)
    clients: dict[str, RoomClient] = {}
    context = RoomContext({}, document.json()["id"], item.json()["id"])
    try:
        for role in ("chair", "secretary", "admin", "official", "point"):
            clients[role] = client = await RoomClient.open(p.ws_url, mid, credentials[role])
            welcome = await client.wait_for(lambda f: f["type"] == "welcome")
            assert welcome["you"]["role"] == role, welcome["you"]
            context.keys[role] = welcome["you"]["key"]
        wrong: list[str] = []
        for kind, command in ROOM.items():
            acked = False
            for role in ROOM_ROLES:
                fields = await _resolve_fields(command.fields(context, role))
                reply = await clients[role].send(kind, **fields)
                code = reply.get("code")
                where = f"{kind} by {role}"
                if reply["type"] == "ack":
                    acked = True
                if code in PROTOCOL_ERRORS:
                    wrong.append(f"{where}: the test sent a bad command: {reply}")
                elif role in command.allowed and code == command.refusal:
                    wrong.append(f"{where}: refused ({code}), but {role} may")
                elif role not in command.allowed and code != command.refusal:
                    wrong.append(f"{where}: expected {command.refusal}, got {reply}")
            if not acked:
                wrong.append(f"{kind}: no role got an ack; the sequence no longer reaches it")
        for role, kind, fields_of, expected in ROOM_GRANTS:
            reply = await clients[role].send(kind, **fields_of(context, role))
            if reply.get("code", reply["type"]) != expected:
                wrong.append(
                    f"{kind} by {role} (given by the state): expected {expected}, got {reply}"
                )
        assert not wrong, "\n".join(wrong)
    finally:
        for client in clients.values():
            await client.close()
        for media in context.media:
            await media.close()


async def _resolve_fields(value: Any) -> dict[str, Any]:
    if inspect.isawaitable(value):
        value = await value
    fields: dict[str, Any] = value
    return fields
