"""Who may call what: the expected outcome of every HTTP route and every room command for
every kind of caller. tests/test_authz_matrix.py checks the app against it; a route or a
command missing here fails that test.

Callers (tests/authz_world.py builds them):

- ``anonymous``: no credentials;
- ``point``: the invited conference point, by its device token;
- ``official``: an official invited by name;
- ``operator``: the operator of the invited point's commune;
- ``secretary``, ``chair``: the meeting's own (the secretary created it);
- ``admin``;
- ``outsider``, ``outsider_point``: an official and a point of another commune, invited to
  another meeting only;
- ``coordinator``: a secretary who runs that other meeting: holds the role, sees the
  province's normal meetings to plan around them, organizes none of these.

Outcomes: ``ok`` (admitted: any answer but 401, 403 or 404, never 5xx), ``401``, ``403``
(code ``forbidden``; a socket's ``not_invited``), ``hidden`` (404: the caller may not know
the object exists), or ``"<status> <code>"`` for a refusal with its own code
(``409 not_an_approver``).

The expectations come from docs/api.md, meetings.md, documents.md, minutes.md,
opinions.md, operations.md and protocol.md, not from what the code happens to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rooms.media.client import MediaClient
from tests.authz_world import PIN, World, public_key, timestamp_query

CALLERS = (
    "anonymous",
    "outsider_point",
    "outsider",
    "coordinator",
    "point",
    "official",
    "operator",
    "secretary",
    "chair",
    "admin",
)


def outcomes(default: str, **by_caller: str) -> dict[str, str]:
    return {caller: by_caller.get(caller, default) for caller in CALLERS}


PUBLIC = outcomes("ok")
SIGNED_IN = outcomes("ok", anonymous="401")
PEOPLE = outcomes("ok", anonymous="401", point="403", outsider_point="403")
POINTS = outcomes("403", anonymous="401", point="ok", outsider_point="ok")


# The account role of the callers not named after theirs.
ROLE_OF = {"outsider": "official", "coordinator": "secretary"}


def roles(*allowed: str) -> dict[str, str]:
    """For whoever holds one of the roles (points hold none)."""
    ok = [c for c in CALLERS if ROLE_OF.get(c, c) in allowed]
    return outcomes("403", anonymous="401", **dict.fromkeys(ok, "ok"))


def seen(**by_caller: str) -> dict[str, str]:
    """A meeting's object: whoever sees the meeting, but it is hidden from the outsiders."""
    return outcomes("ok", anonymous="401", outsider="hidden", outsider_point="hidden") | by_caller


# The meeting's chair and secretary, and admins; the coordinator sees the meeting, no more.
ORGANIZERS = seen(point="403", official="403", operator="403", coordinator="403")
STAFF = roles("admin", "secretary", "chair", "operator")  # who runs the network
# Documents open to the invited: the coordinator sees the meeting, not its documents.
READERS = seen(coordinator="403")
NOT_APPROVER = "409 not_an_approver"
APPROVAL = seen(
    point="403",  # people approve minutes, not points
    official=NOT_APPROVER,
    operator=NOT_APPROVER,
    secretary=NOT_APPROVER,
    coordinator=NOT_APPROVER,
    admin=NOT_APPROVER,
)
# An opinion request: its recipients (the point, the official) and its managers (any
# secretary, the coordinator too, any chair, admins) see it; nobody else learns it exists.
OPINION = outcomes(
    "ok", anonymous="401", operator="hidden", outsider="hidden", outsider_point="hidden"
)
OPINION_MANAGERS = OPINION | {"point": "403", "official": "403"}


Body = Any  # JSON, or a function of the world giving it (possibly awaitable)


@dataclass(frozen=True)
class Route:
    """A route's expected outcome per caller, and what a meaningful call to it sends.

    Path parameters name the world's objects (World.params: the meeting, its document, the
    invited point...); ``query`` values may name them too (``"{meeting_id}"``).
    """

    expect: dict[str, str]
    body: Body = None
    query: dict[str, Any] = field(default_factory=dict)
    upload: str = ""  # "pdf": a small PDF as multipart 'file'; "copy": the official's copy
    raw: bytes | None = None  # a non-JSON body
    # Path parameters of the route's own (a World method): made again after a call that
    # succeeded, since it may have used them up (deleted, cancelled, withdrawn).
    params: Callable[[World], Any] | None = None
    fresh_session: bool = False  # the call ends the caller's session
    # The route decides who may call it only after it has read the body, so an empty one
    # gets 422 (or 415) where a valid one gets the refusal (the test checks both).
    body_first: bool = False

    @property
    def has_body(self) -> bool:
        return self.body is not None or bool(self.upload) or self.raw is not None


MINUTES_CONTENT = {"title": "Biên bản", "sections": [{"heading": "Kết luận", "text": "Thông qua."}]}

HTTP: dict[tuple[str, str], Route] = {
    # -- operations
    ("GET", "/openapi.json"): Route(PUBLIC),
    ("GET", "/healthz"): Route(PUBLIC),
    ("GET", "/readyz"): Route(PUBLIC),
    # Served to this host without a token (HOINGHI_METRICS_TOKEN unset): the tests run here.
    ("GET", "/metrics"): Route(PUBLIC),
    # -- signing in, and one's own account
    ("POST", "/api/auth/login"): Route(
        PUBLIC,
        body=lambda w: {"username": "official", "password": w.p.accounts["official"].password},
    ),
    ("POST", "/api/auth/point-login"): Route(
        PUBLIC, body=lambda w: {"device_token": w.headers["point"]["Authorization"].split()[1]}
    ),
    ("POST", "/api/auth/logout"): Route(SIGNED_IN, fresh_session=True),
    ("GET", "/api/me"): Route(SIGNED_IN),
    # An empty body: the check that the caller is a person comes first; a real change
    # would end every session of the caller.
    ("POST", "/api/me/password"): Route(PEOPLE, body={}),
    # -- accounts (admin); the directory is for whoever picks a chair or a secretary
    ("GET", "/api/users"): Route(roles("admin")),
    ("GET", "/api/users/directory"): Route(roles("admin", "secretary", "chair")),
    ("GET", "/api/users/{user_id}"): Route(roles("admin")),
    ("POST", "/api/users"): Route(
        roles("admin"),
        body=lambda w: {
            "username": w.name("nguoi-moi"),
            "full_name": "Người mới",
            "password": "mat-khau-moi-dai-du",
            "roles": ["official"],
        },
    ),
    ("PATCH", "/api/users/{user_id}"): Route(roles("admin"), body={"full_name": "Cán bộ xã"}),
    # -- units and points
    ("GET", "/api/units"): Route(PEOPLE),
    ("POST", "/api/units"): Route(
        roles("admin"),
        body=lambda w: {"code": w.name("don-vi"), "name": "Đơn vị mới", "kind": "department"},
    ),
    ("PATCH", "/api/units/{unit_id}"): Route(roles("admin"), body={"name": "Xã Tân Phú"}),
    ("GET", "/api/points"): Route(STAFF),
    ("GET", "/api/points/stream"): Route(STAFF),
    ("GET", "/api/points/me"): Route(POINTS),
    ("POST", "/api/points/me/heartbeat"): Route(POINTS, body={"link_stats": {"rtt_ms": 38}}),
    # A point reads itself at /api/points/me, not here.
    ("GET", "/api/points/{point_id}"): Route(STAFF),
    ("POST", "/api/points"): Route(
        roles("admin"),
        body=lambda w: {"name": w.name("Điểm cầu mới"), "unit_id": w.p.units["xa-tan-phu"]},
    ),
    ("PATCH", "/api/points/{point_id}"): Route(
        roles("admin"), body={"location": "Hội trường tầng 2"}, params=lambda w: w.spare_point()
    ),
    ("DELETE", "/api/points/{point_id}"): Route(roles("admin"), params=lambda w: w.fresh_point()),
    ("POST", "/api/points/{point_id}/rotate-token"): Route(
        roles("admin"), params=lambda w: w.spare_point()
    ),
    ("POST", "/api/points/{point_id}/kiosk-link"): Route(
        roles("admin"), params=lambda w: w.spare_point()
    ),
    # -- network health (docs/operations.md)
    ("GET", "/api/network/health"): Route(STAFF),
    ("GET", "/api/points/{point_id}/health"): Route(STAFF | {"point": "ok"}),
    # The staff see every alert; a meeting's organizers its own (named); the meeting is
    # hidden from the outsider.
    # Officials never (403); the staff see the alerts of meetings they may see.
    ("GET", "/api/alerts"): Route(STAFF, query={"meeting_id": "{meeting_id}"}),
    ("POST", "/api/points/me/self-test"): Route(
        POINTS, body={"camera": True, "microphone": True, "network": True}
    ),
    ("GET", "/api/points/{point_id}/self-tests"): Route(STAFF | {"point": "ok"}),
    ("GET", "/api/meetings/{meeting_id}/readiness"): Route(
        seen(point="403", official="403", coordinator="403")
    ),
    # -- calendars
    ("GET", "/api/meetings/{meeting_id}.ics"): Route(seen()),
    ("POST", "/api/calendar/feed"): Route(SIGNED_IN),
    ("DELETE", "/api/calendar/feed"): Route(SIGNED_IN),
    # The secret URL is the credential.
    ("GET", "/api/calendar/{token}.ics"): Route(PUBLIC, params=lambda w: w.fresh_feed()),
    # -- meetings (docs/meetings.md)
    ("GET", "/api/meetings"): Route(SIGNED_IN),
    ("POST", "/api/meetings"): Route(roles("secretary", "admin"), body=World.meeting_body),
    ("GET", "/api/meetings/{meeting_id}"): Route(seen()),
    ("PATCH", "/api/meetings/{meeting_id}"): Route(
        ORGANIZERS, body={"description": "Đánh giá tình hình tháng 11"}
    ),
    # Each step on a meeting of its own in the step's starting status. A draft is seen only
    # by its organizers.
    ("POST", "/api/meetings/{meeting_id}/schedule"): Route(
        seen(
            point="hidden", official="hidden", operator="hidden", coordinator="hidden", chair="403"
        ),
        params=lambda w: w.fresh_meeting("draft"),
    ),
    ("POST", "/api/meetings/{meeting_id}/start"): Route(
        ORGANIZERS | {"admin": "403"},
        params=lambda w: w.fresh_meeting("scheduled"),
    ),
    ("POST", "/api/meetings/{meeting_id}/end"): Route(
        ORGANIZERS | {"admin": "403"},
        params=lambda w: w.fresh_meeting("live"),
    ),
    # Without approved minutes only an admin closes.
    ("POST", "/api/meetings/{meeting_id}/close"): Route(
        ORGANIZERS | {"secretary": "403", "chair": "403"},
        params=lambda w: w.fresh_meeting("ended"),
    ),
    ("POST", "/api/meetings/{meeting_id}/cancel"): Route(
        ORGANIZERS | {"chair": "403"},
        params=lambda w: w.fresh_meeting("scheduled"),
    ),
    ("GET", "/api/meetings/{meeting_id}/agenda"): Route(seen()),
    ("POST", "/api/meetings/{meeting_id}/agenda"): Route(
        ORGANIZERS, body={"title": "Mục mới"}, body_first=True
    ),
    ("PUT", "/api/meetings/{meeting_id}/agenda/order"): Route(
        ORGANIZERS, body=lambda w: w.agenda_order(), body_first=True
    ),
    ("PATCH", "/api/meetings/{meeting_id}/agenda/{item_id}"): Route(
        ORGANIZERS, body={"planned_minutes": 20}
    ),
    ("DELETE", "/api/meetings/{meeting_id}/agenda/{item_id}"): Route(
        ORGANIZERS, params=lambda w: w.fresh_item()
    ),
    ("GET", "/api/meetings/{meeting_id}/invitations"): Route(seen()),
    ("POST", "/api/meetings/{meeting_id}/invitations"): Route(
        ORGANIZERS, body=lambda w: {"point_ids": [w.spare_points[1]]}, body_first=True
    ),
    # One's own invitation: those who have none are told it does not exist.
    ("PUT", "/api/meetings/{meeting_id}/invitations/me"): Route(
        seen(**dict.fromkeys(("operator", "coordinator", "secretary", "chair", "admin"), "hidden")),
        body={"state": "accepted", "note": "12 đại biểu"},
        body_first=True,
    ),
    ("DELETE", "/api/meetings/{meeting_id}/invitations/{invitation_id}"): Route(
        ORGANIZERS, params=lambda w: w.fresh_invitation()
    ),
    ("GET", "/api/meetings/{meeting_id}/attendance"): Route(ORGANIZERS),
    # docs/media.md: recordings answer to whoever may see the meeting.
    ("GET", "/api/meetings/{meeting_id}/recordings"): Route(seen()),
    ("GET", "/api/meetings/{meeting_id}/recordings/{number}.webm"): Route(seen()),
    ("GET", "/api/meetings/{meeting_id}/links"): Route(ORGANIZERS),
    # -- agenda documents (docs/documents.md): organizers manage, invited read
    ("POST", "/api/meetings/{meeting_id}/documents"): Route(ORGANIZERS, upload="pdf"),
    ("POST", "/api/documents/{document_id}/versions"): Route(ORGANIZERS, upload="pdf"),
    ("GET", "/api/meetings/{meeting_id}/documents"): Route(seen()),
    ("POST", "/api/meetings/{meeting_id}/documents/order"): Route(
        ORGANIZERS, body=lambda w: w.document_order(), body_first=True
    ),
    ("GET", "/api/documents/{document_id}"): Route(READERS),
    ("PATCH", "/api/documents/{document_id}"): Route(
        ORGANIZERS, body={"title": "Báo cáo tình hình (sửa)"}
    ),
    ("PUT", "/api/documents/{document_id}/readers"): Route(
        ORGANIZERS, body={"point_ids": [], "user_ids": []}
    ),
    ("GET", "/api/documents/{document_id}/versions/{number}/pages/{page}.webp"): Route(READERS),
    ("GET", "/api/documents/{document_id}/download"): Route(READERS),
    # A pack of what the caller may read; the coordinator may read nothing of it.
    ("GET", "/api/meetings/{meeting_id}/pack.pdf"): Route(seen(coordinator="404 no_documents")),
    ("GET", "/api/meetings/{meeting_id}/search"): Route(seen(), query={"q": "Trang"}),
    ("GET", "/api/meetings/{meeting_id}/receipts"): Route(ORGANIZERS),
    # Whom a leaked copy was issued to: secretaries and admins.
    # The copy is of a meeting the coordinator does not organize (known once it is read).
    ("POST", "/api/documents/trace"): Route(
        roles("secretary", "admin") | {"coordinator": "403"}, upload="copy", body_first=True
    ),
    # -- minutes (docs/minutes.md), of the held meeting: version 2 in approval by the chair.
    # Until final, drafts and the document are for the organizers and the approvers.
    ("POST", "/api/meetings/{meeting_id}/minutes"): Route(
        ORGANIZERS, body={}, params=World.held_meeting
    ),
    ("GET", "/api/meetings/{meeting_id}/minutes"): Route(ORGANIZERS, params=World.held_meeting),
    ("POST", "/api/meetings/{meeting_id}/minutes/versions"): Route(
        ORGANIZERS, body={"content": MINUTES_CONTENT}, params=World.held_meeting, body_first=True
    ),
    ("GET", "/api/meetings/{meeting_id}/minutes/versions"): Route(
        ORGANIZERS, params=World.held_meeting
    ),
    ("GET", "/api/meetings/{meeting_id}/minutes/diff"): Route(
        ORGANIZERS, query={"from": 1, "to": 2}, params=World.held_meeting
    ),
    ("GET", "/api/meetings/{meeting_id}/minutes/versions/{number}.pdf"): Route(
        ORGANIZERS, params=World.held_meeting
    ),
    ("GET", "/api/meetings/{meeting_id}/minutes/document.pdf"): Route(
        ORGANIZERS, params=World.held_meeting
    ),
    ("GET", "/api/meetings/{meeting_id}/minutes/document/pages/{page}.webp"): Route(
        ORGANIZERS, params=World.held_meeting
    ),
    ("POST", "/api/meetings/{meeting_id}/minutes/submit"): Route(
        ORGANIZERS,
        body=lambda w: {"version": 2, "approvers": [w.chair_id]},
        params=World.held_meeting,
        body_first=True,
    ),
    # The chair's step is 0: step 1 is refused as stale (409) before any signing, so the
    # chain stays as it is for the calls after.
    ("POST", "/api/meetings/{meeting_id}/minutes/approve"): Route(
        APPROVAL,
        body={"version": 2, "step": 1, "pin": PIN},
        params=World.held_meeting,
        body_first=True,
    ),
    ("POST", "/api/meetings/{meeting_id}/minutes/external/prepare"): Route(
        APPROVAL, body={"version": 2, "step": 0}, params=World.held_meeting, body_first=True
    ),
    # The chair's prepared session with a signature that does not verify (422); to anyone
    # else another approver's signing session does not exist.
    ("POST", "/api/meetings/{meeting_id}/minutes/external/finish"): Route(
        APPROVAL | {c: "hidden" for c in CALLERS if APPROVAL[c] in ("403", NOT_APPROVER)},
        body=lambda w: {"session": w.signing_session, "signature": "AAAAAAAA"},
        params=World.held_meeting,
        body_first=True,
    ),
    ("POST", "/api/meetings/{meeting_id}/minutes/reject"): Route(
        APPROVAL,
        body={"version": 2, "step": 1, "comment": "Bổ sung ý kiến"},
        params=World.held_meeting,
        body_first=True,
    ),
    ("POST", "/api/meetings/{meeting_id}/minutes/withdraw"): Route(
        ORGANIZERS, params=lambda w: w.minutes_in_approval()
    ),
    ("GET", "/api/minutes/awaiting"): Route(SIGNED_IN),
    ("POST", "/api/verify"): Route(SIGNED_IN, upload="pdf"),
    # -- certificates: the user themselves (the chair here) or an admin
    ("GET", "/api/users/{user_id}/certificates"): Route(
        roles("chair", "admin"), params=World.chair_user
    ),
    ("POST", "/api/users/{user_id}/certificates"): Route(
        roles("admin"),
        body=lambda w: {"certificate_pem": w.certificate_pem},
        params=World.chair_user,
    ),
    ("POST", "/api/users/{user_id}/certificates/issue"): Route(
        roles("chair", "admin"),
        body=lambda w: {"pin": PIN, "password": w.p.accounts["chair"].password},
        params=World.chair_user,
        body_first=True,
    ),
    ("POST", "/api/users/{user_id}/certificates/request"): Route(
        roles("chair", "admin"),
        body=lambda w: {"public_key": public_key(), "password": w.p.accounts["chair"].password},
        params=World.chair_user,
        body_first=True,
    ),
    ("GET", "/api/users/{user_id}/certificates/{certificate_id}.pem"): Route(
        roles("chair", "admin"), params=World.chair_user
    ),
    ("GET", "/api/trust-anchors"): Route(roles("admin")),
    ("POST", "/api/trust-anchors"): Route(
        roles("admin"), body=lambda w: {"certificate_pem": w.ca_root_pem}
    ),
    # The built-in CA's public parts: validators fetch them.
    ("GET", "/api/ca/root.pem"): Route(PUBLIC),
    ("GET", "/api/ca/crl"): Route(PUBLIC),
    ("POST", "/api/ca/tsa"): Route(PEOPLE, raw=timestamp_query()),
    # -- written opinions (docs/opinions.md)
    ("GET", "/api/opinions"): Route(SIGNED_IN),
    ("POST", "/api/opinions"): Route(
        roles("secretary", "chair"), body=World.opinion_body, body_first=True
    ),
    ("GET", "/api/opinions/reminders"): Route(roles("secretary", "chair", "admin")),
    ("POST", "/api/opinions/reminders/sent"): Route(
        roles("secretary", "chair", "admin"),
        body=lambda w: {"items": [{"recipient_id": w.opinion_recipient, "lead_hours": 24}]},
        body_first=True,
    ),
    ("GET", "/api/opinions/{request_id}"): Route(OPINION),
    ("PUT", "/api/opinions/{request_id}/answer"): Route(
        OPINION
        | dict.fromkeys(("secretary", "coordinator", "chair", "admin"), "403 not_a_recipient"),
        body={"option": 0, "comment": "Nhất trí"},
        body_first=True,
    ),
    ("PATCH", "/api/opinions/{request_id}"): Route(
        OPINION_MANAGERS,
        body=World.later_deadline,
        body_first=True,
    ),
    ("POST", "/api/opinions/{request_id}/close"): Route(
        OPINION_MANAGERS, params=lambda w: w.fresh_opinion()
    ),
    # The world's request is sent already: the office gets 409 opinion_sent, others 403.
    ("POST", "/api/opinions/{request_id}/send"): Route(OPINION_MANAGERS),
    ("POST", "/api/opinions/{request_id}/documents"): Route(OPINION_MANAGERS, upload="pdf"),
    ("GET", "/api/opinions/{request_id}/documents/{document_id}"): Route(
        OPINION, params=World.opinion_document_params
    ),
    ("GET", "/api/opinions/{request_id}/export.csv"): Route(OPINION_MANAGERS),
    ("GET", "/api/opinions/{request_id}/export.pdf"): Route(OPINION_MANAGERS),
    # -- audit: admins; a secretary for a meeting they organize
    ("GET", "/api/audit"): Route(
        roles("admin", "secretary") | {"coordinator": "403"}, query={"meeting": "{meeting_id}"}
    ),
    ("GET", "/api/audit/verify"): Route(roles("admin")),
    # -- the live room's socket (docs/protocol.md): admitted means a lobby or welcome frame.
    # The operator sees the meeting but is not invited: 4403 not_invited.
    ("WS", "/ws/meetings/{meeting_id}"): Route(seen(operator="403", coordinator="403")),
    # -- media
    ("GET", "/api/media/ice-servers"): Route(SIGNED_IN),
    ("GET", "/api/media/workers"): Route(roles("admin")),
    ("POST", "/api/media/loopback"): Route(SIGNED_IN, body={}),
    # -- the web client's pages: shells that sign in by themselves
    ("GET", "/"): Route(PUBLIC),
    ("GET", "/signin"): Route(PUBLIC),
    ("GET", "/kiosk"): Route(PUBLIC),
    ("GET", "/network"): Route(PUBLIC),
    ("GET", "/meetings/new"): Route(PUBLIC),
    ("GET", "/meetings/{meeting_id}"): Route(PUBLIC),
    ("GET", "/meetings/{meeting_id}/room"): Route(PUBLIC),
    ("GET", "/api/client-config"): Route(PUBLIC),
}


# Where the code does not (yet) do what the docs say: (method, path, caller) -> (what it
# does, why it is wrong). The matrix accepts exactly that and fails once it is fixed.
KNOWN_DEVIATIONS: dict[tuple[str, str, str], tuple[str, str]] = {}


# -- the room's commands (docs/protocol.md), by room role ---------------------------------

ROOM_ROLES = ("point", "official", "admin", "secretary", "chair")


@dataclass
class RoomContext:
    """What commands point at in the live room: its members, its document and agenda item."""

    keys: dict[str, str]  # room role -> member key
    document: int
    item: int
    media: list[Any] = field(default_factory=list)  # media clients to close afterwards

    def other(self, role: str) -> str:
        """A member other than the sender: what a command about someone else targets."""
        return self.keys["official" if role == "point" else "point"]

    async def offer(self) -> dict[str, str]:
        client = MediaClient(thumbnails=1)  # asks for the organizers' thumbnails too
        self.media.append(client)
        return {"sdp": await client.offer()}


Fields = Callable[[RoomContext, str], Any]


@dataclass(frozen=True)
class Command:
    allowed: frozenset[str]
    fields: Fields = lambda c, role: {}
    refusal: str = "not_allowed"  # the code that refuses a role


def may(*room_roles: str) -> frozenset[str]:
    return frozenset(room_roles)


EVERYONE = may(*ROOM_ROLES)
CHAIR = may("chair")
ORGANIZERS_IN_ROOM = may("chair", "secretary")
WATCHERS = may("chair", "secretary", "admin")

# Sent in this order, each to every role in ROOM_ROLES order: the state one command leaves
# is what the next finds (hands raised before they are lowered, a poll open before a
# ballot). A refusal for the role comes before any rule about the state, so a role that may
# act can still be answered with a rule's code (``queue_empty``): it counts as allowed.
ROOM: dict[str, Command] = {
    "ping": Command(EVERYONE),
    "chat": Command(EVERYONE, lambda c, r: {"text": "Xin chào", "to": "organizers"}),
    "raise_hand": Command(may("point", "official")),
    # Someone else's hand: the chair's. (One's own: anyone with a hand up.)
    "lower_hand": Command(CHAIR, lambda c, r: {"target": c.other(r)}),
    "grant_floor": Command(CHAIR, lambda c, r: {"target": c.keys["point"], "seconds": 60}),
    "next_floor": Command(CHAIR),
    "revoke_floor": Command(CHAIR),
    "mute": Command(CHAIR, lambda c, r: {"target": c.other(r)}),
    # Someone else: the chair. (Oneself: anyone the chair has not muted.)
    "unmute": Command(CHAIR, lambda c, r: {"target": c.other(r)}),
    "mute_all": Command(CHAIR),
    "unmute_all": Command(CHAIR),
    "set_presenter": Command(CHAIR, lambda c, r: {"target": None}),
    # The chair, the secretary, and the presenter the chair names (ROOM_GRANTS).
    "present": Command(ORGANIZERS_IN_ROOM, lambda c, r: {"document_id": c.document, "page": 1}),
    "turn_page": Command(ORGANIZERS_IN_ROOM, lambda c, r: {"page": 2}),
    "stop_presenting": Command(ORGANIZERS_IN_ROOM),
    "set_agenda_item": Command(ORGANIZERS_IN_ROOM, lambda c, r: {"item_id": c.item}),
    "open_roll_call": Command(ORGANIZERS_IN_ROOM),
    "answer_roll_call": Command(may("point"), lambda c, r: {"head_count": 12}),
    "close_roll_call": Command(ORGANIZERS_IN_ROOM),
    "open_poll": Command(ORGANIZERS_IN_ROOM, lambda c, r: {"question": "Thông qua dự toán?"}),
    # A poll of points: the point present when it opened votes, nobody else.
    "cast_ballot": Command(
        may("point"), lambda c, r: {"poll": 1, "option": 0}, refusal="not_eligible"
    ),
    "close_poll": Command(ORGANIZERS_IN_ROOM, lambda c, r: {"poll": 1}),
    "start_recording": Command(CHAIR),
    "stop_recording": Command(CHAIR),
    # Media: an offer with a thumbnail m-line is for those who watch every point.
    "offer": Command(WATCHERS, lambda c, r: c.offer(), refusal="forbidden"),
    "candidate": Command(
        EVERYONE,
        lambda c, r: {
            "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        },
    ),
    "thumbnails": Command(WATCHERS, lambda c, r: {"page": 0}, refusal="no_thumbnails"),
}

# Rights the room's state gives, beyond the role: the presenter the chair names, a poll of
# people, one's own hand. Sent after ROOM, in order: (role, command, fields, the answer:
# "ack" or the error code).
ROOM_GRANTS: list[tuple[str, str, Fields, str]] = [
    ("chair", "set_presenter", lambda c, r: {"target": c.keys["official"]}, "ack"),
    ("official", "present", lambda c, r: {"document_id": c.document, "page": 1}, "ack"),
    ("official", "turn_page", lambda c, r: {"page": 2}, "ack"),
    ("point", "turn_page", lambda c, r: {"page": 1}, "not_allowed"),
    ("official", "stop_presenting", lambda c, r: {}, "ack"),
    ("chair", "set_presenter", lambda c, r: {"target": None}, "ack"),
    ("official", "present", lambda c, r: {"document_id": c.document, "page": 1}, "not_allowed"),
    ("secretary", "open_poll", lambda c, r: {"question": "Bầu thư ký?", "voters": "people"}, "ack"),
    ("official", "cast_ballot", lambda c, r: {"poll": 2, "option": 1}, "ack"),
    ("chair", "cast_ballot", lambda c, r: {"poll": 2, "option": 0}, "ack"),
    ("point", "cast_ballot", lambda c, r: {"poll": 2, "option": 0}, "not_eligible"),
    ("admin", "cast_ballot", lambda c, r: {"poll": 2, "option": 0}, "not_eligible"),
    ("secretary", "close_poll", lambda c, r: {"poll": 2}, "ack"),
    ("point", "raise_hand", lambda c, r: {}, "ack"),
    ("point", "lower_hand", lambda c, r: {}, "ack"),
]
