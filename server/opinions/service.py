"""Written opinions: who manages and who answers a request, sending it, answering,
changing the deadline, closing, and the reminders due. Rules about time and counting are
in ``rules``; this module keeps them in the database."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.accounts.models import User
from server.identity import Principal, Role
from server.meetings.invitations import resolve_points, resolve_users
from server.network.models import ConferencePoint
from server.network.service import unit_ref
from server.opinions import rules
from server.opinions.models import (
    OpinionDocument,
    OpinionRecipient,
    OpinionReminder,
    OpinionRequest,
)
from server.opinions.schemas import (
    AnswerIn,
    OpinionCreate,
    OpinionDocumentOut,
    OpinionOut,
    OpinionSummary,
    RecipientOut,
    ReminderOut,
    ReminderSent,
)
from server.problems import Problem, field_error, not_found

# The province office: they send requests, follow the answers, export them.
MANAGER_ROLES = frozenset({Role.SECRETARY, Role.CHAIR, Role.ADMIN})
SENDER_ROLES = frozenset({Role.SECRETARY, Role.CHAIR})
# People of a commune who may answer for their commune's point.
POINT_ANSWER_ROLES = frozenset({Role.OFFICIAL, Role.CHAIR, Role.SECRETARY})


def is_manager(principal: Principal) -> bool:
    return principal.is_user and principal.has_any(MANAGER_ROLES)


def answerable(principal: Principal) -> ColumnElement[bool]:
    """The recipients the caller answers for: themselves, and (for a commune's officials)
    their unit's conference points."""
    if principal.is_point:
        return OpinionRecipient.point_id == principal.id
    own = OpinionRecipient.user_id == principal.id
    if principal.unit_id is not None and principal.has_any(POINT_ANSWER_ROLES):
        points = select(ConferencePoint.id).where(ConferencePoint.unit_id == principal.unit_id)
        return or_(own, OpinionRecipient.point_id.in_(points))
    return own


def require_manager(principal: Principal) -> None:
    if not is_manager(principal):
        raise Problem(403, "forbidden", "only a secretary, a chair or an admin")


def require_open(request: OpinionRequest, now: datetime, doing: str) -> None:
    """Still taking answers (a draft takes documents, not answers: see ``require_sent``)."""
    if request.closed_at is not None:
        raise Problem(409, "opinion_closed", f"cannot {doing}: the request was closed")
    if now >= request.deadline:
        raise Problem(409, "opinion_closed", f"cannot {doing}: the deadline has passed")


async def create(
    db: AsyncSession, principal: Principal, body: OpinionCreate, now: datetime
) -> OpinionRequest:
    if not (principal.is_user and principal.has_any(SENDER_ROLES)):
        raise Problem(403, "forbidden", "only a secretary or a chair sends a request")
    if body.deadline <= now:
        raise field_error("deadline", "must be in the future")
    point_ids = await resolve_points(db, body.recipients)
    user_ids = await resolve_users(db, body.recipients.usernames)
    if not point_ids and not user_ids:
        raise field_error("recipients", "the units named have no enabled conference point")
    request = OpinionRequest(
        title=body.title,
        question=body.question,
        options=list(body.options),
        created_by_id=principal.id,
        created_at=now,
        sent_at=None if body.draft else now,
        deadline=body.deadline,
    )
    db.add(request)
    await db.flush()
    db.add_all(OpinionRecipient(request_id=request.id, point_id=p) for p in sorted(point_ids))
    db.add_all(OpinionRecipient(request_id=request.id, user_id=u) for u in sorted(user_ids))
    await audit.record(
        db,
        principal,
        "opinion.create",
        "opinion_request",
        request.id,
        after={
            "title": request.title,
            "deadline": request.deadline.isoformat(),
            "draft": body.draft,
            "point_ids": sorted(point_ids),
            "user_ids": sorted(user_ids),
        },
    )
    return request


async def get_request(
    db: AsyncSession, request_id: int, principal: Principal, *, for_update: bool = False
) -> tuple[OpinionRequest, list[OpinionRecipient]]:
    """The request and the recipients the caller answers for; 404 to anyone who neither
    manages nor answers it (hidden is the same as absent)."""
    query = select(OpinionRequest).where(OpinionRequest.id == request_id)
    if for_update:
        query = query.with_for_update(of=OpinionRequest)
    request = (await db.execute(query)).unique().scalar_one_or_none()
    if request is None:
        raise not_found(f"opinion request {request_id}")
    mine = list(
        (
            await db.execute(
                select(OpinionRecipient)
                .where(OpinionRecipient.request_id == request_id, answerable(principal))
                .order_by(OpinionRecipient.id)
            )
        )
        .unique()
        .scalars()
    )
    if (not mine or request.sent_at is None) and not is_manager(principal):
        raise not_found(f"opinion request {request_id}")
    return request, mine


async def answer(
    db: AsyncSession,
    principal: Principal,
    request: OpinionRequest,
    mine: list[OpinionRecipient],
    body: AnswerIn,
    now: datetime,
) -> OpinionRecipient:
    """Give or change an answer; allowed until the deadline or the close."""
    if not mine:
        raise Problem(403, "not_a_recipient", "this request was not sent to you")
    if request.sent_at is None:
        raise Problem(409, "opinion_draft", "cannot answer: the request has not been sent yet")
    require_open(request, now, "answer")
    if body.option >= len(request.options):
        raise Problem(
            422, "invalid_option", f"choose an option from 0 to {len(request.options) - 1}"
        )
    if body.recipient_id is not None:
        chosen = next((r for r in mine if r.id == body.recipient_id), None)
        if chosen is None:
            raise field_error("recipient_id", "you do not answer for this recipient", 403)
    elif len(mine) == 1:
        chosen = mine[0]
    else:
        raise field_error("recipient_id", "you answer for several recipients: name which")
    before = {"option": chosen.option, "comment": chosen.comment} if chosen.answered_at else None
    chosen.option = body.option
    chosen.comment = body.comment
    chosen.answered_at = now
    chosen.answered_by_user_id = principal.id if principal.is_user else None
    chosen.answered_by_name = principal.shown_name[:200]
    chosen.first_seen_at = chosen.first_seen_at or now
    await audit.record(
        db,
        principal,
        "opinion.answer",
        "opinion_request",
        request.id,
        before=before,
        after={"recipient_id": chosen.id, "option": body.option, "comment": body.comment},
    )
    return chosen


async def change_deadline(
    db: AsyncSession,
    principal: Principal,
    request: OpinionRequest,
    deadline: datetime,
    now: datetime,
) -> None:
    """Extend (or bring forward) the deadline; a request whose deadline passed is open
    again until the new one. Not after the request was closed."""
    require_manager(principal)
    if request.closed_at is not None:
        raise Problem(409, "opinion_closed", "cannot change the deadline: the request was closed")
    if deadline <= now:
        raise field_error("deadline", "must be in the future")
    before = request.deadline
    request.deadline = deadline
    await audit.record(
        db,
        principal,
        "opinion.deadline",
        "opinion_request",
        request.id,
        before={"deadline": before.isoformat()},
        after={"deadline": deadline.isoformat()},
    )


async def send(
    db: AsyncSession, principal: Principal, request: OpinionRequest, now: datetime
) -> None:
    """Send a draft: from now its recipients see it and may answer."""
    require_manager(principal)
    if request.sent_at is not None:
        raise Problem(409, "opinion_sent", "the request was sent already")
    require_open(request, now, "send")
    request.sent_at = now
    await audit.record(db, principal, "opinion.send", "opinion_request", request.id)


async def close(
    db: AsyncSession, principal: Principal, request: OpinionRequest, now: datetime
) -> None:
    require_manager(principal)
    if request.closed_at is not None:
        raise Problem(409, "opinion_closed", "the request is closed already")
    request.closed_at = min(now, request.deadline)
    request.closed_by_id = principal.id
    await audit.record(db, principal, "opinion.close", "opinion_request", request.id)


async def mark_seen(db: AsyncSession, mine: list[OpinionRecipient], now: datetime) -> bool:
    """Record when each recipient first opened the request; whether anything changed."""
    unseen = [r for r in mine if r.first_seen_at is None]
    for recipient in unseen:
        recipient.first_seen_at = now
    return bool(unseen)


async def add_document(
    db: AsyncSession,
    principal: Principal,
    request: OpinionRequest,
    *,
    title: str,
    filename: str,
    sha256: str,
    size: int,
    pages: int,
    now: datetime,
) -> OpinionDocument:
    require_manager(principal)
    require_open(request, now, "add a document")
    last = await db.scalar(
        select(func.max(OpinionDocument.position)).where(OpinionDocument.request_id == request.id)
    )
    document = OpinionDocument(
        request_id=request.id,
        position=(last or 0) + 1,
        title=title[:300],
        filename=filename,
        sha256=sha256,
        bytes=size,
        pages=pages,
        uploaded_at=now,
    )
    db.add(document)
    await db.flush()
    await audit.record(
        db,
        principal,
        "opinion.document",
        "opinion_request",
        request.id,
        after={"document_id": document.id, "title": document.title, "sha256": sha256},
    )
    return document


async def documents_of(db: AsyncSession, request_id: int) -> list[OpinionDocument]:
    rows = await db.scalars(
        select(OpinionDocument)
        .where(OpinionDocument.request_id == request_id)
        .order_by(OpinionDocument.position)
    )
    return list(rows)


async def recipients_of(db: AsyncSession, request_id: int) -> list[OpinionRecipient]:
    """Every recipient, points first by unit, then people by name."""
    rows = await db.execute(
        select(OpinionRecipient)
        .outerjoin(ConferencePoint, ConferencePoint.id == OpinionRecipient.point_id)
        .outerjoin(User, User.id == OpinionRecipient.user_id)
        .where(OpinionRecipient.request_id == request_id)
        .order_by(
            OpinionRecipient.point_id.is_(None),
            ConferencePoint.name,
            User.full_name,
            OpinionRecipient.id,
        )
    )
    return list(rows.unique().scalars())


async def reminders_sent(db: AsyncSession, recipient_ids: list[int]) -> dict[int, list[int]]:
    sent: dict[int, list[int]] = defaultdict(list)
    if recipient_ids:
        rows = await db.execute(
            select(OpinionReminder.recipient_id, OpinionReminder.lead_hours).where(
                OpinionReminder.recipient_id.in_(recipient_ids)
            )
        )
        for recipient_id, hours in rows.all():
            sent[recipient_id].append(hours)
    return sent


def recipient_name(recipient: OpinionRecipient) -> str:
    if recipient.point is not None:
        return recipient.point.name
    assert recipient.user is not None
    return recipient.user.full_name


def recipient_unit(recipient: OpinionRecipient) -> Any:
    if recipient.point is not None:
        return recipient.point.unit
    assert recipient.user is not None
    return recipient.user.unit


def recipient_out(
    recipient: OpinionRecipient, options: list[str], reminders: list[int]
) -> RecipientOut:
    unit = recipient_unit(recipient)
    return RecipientOut(
        id=recipient.id,
        kind="point" if recipient.point_id is not None else "user",
        point_id=recipient.point_id,
        user_id=recipient.user_id,
        name=recipient_name(recipient),
        unit=unit_ref(unit) if unit is not None else None,
        option=recipient.option,
        option_text=options[recipient.option] if recipient.option is not None else None,
        comment=recipient.comment,
        answered_at=recipient.answered_at,
        answered_by=recipient.answered_by_name,
        first_seen_at=recipient.first_seen_at,
        reminders_sent=sorted(reminders, reverse=True),
    )


def document_out(document: OpinionDocument) -> OpinionDocumentOut:
    return OpinionDocumentOut(
        id=document.id,
        title=document.title,
        filename=document.filename,
        bytes=document.bytes,
        pages=document.pages,
        sha256=document.sha256,
        uploaded_at=document.uploaded_at,
    )


async def request_out(
    db: AsyncSession,
    principal: Principal,
    request: OpinionRequest,
    mine: list[OpinionRecipient],
    now: datetime,
) -> OpinionOut:
    manager = is_manager(principal)
    everyone = await recipients_of(db, request.id) if manager else mine
    sent = await reminders_sent(db, [r.id for r in everyone])
    shown = [recipient_out(r, request.options, sent[r.id]) for r in everyone]
    own = {r.id for r in mine}
    return OpinionOut(
        id=request.id,
        title=request.title,
        question=request.question,
        options=list(request.options),
        deadline=request.deadline,
        created_at=request.created_at,
        created_by=request.created_by.full_name,
        sent_at=request.sent_at,
        closed_at=request.closed_at,
        phase=rules.phase(request.deadline, request.closed_at, now, request.sent_at is not None),
        manager=manager,
        documents=[document_out(d) for d in await documents_of(db, request.id)],
        mine=[r for r in shown if r.id in own],
        recipients=shown if manager else None,
        count=(
            rules.count(request.options, (r.option for r in everyone), len(everyone)).as_dict()
            if manager
            else None
        ),
    )


async def summaries(
    db: AsyncSession,
    principal: Principal,
    now: datetime,
    lead_hours: tuple[int, ...],
    phase: rules.Phase | None,
    limit: int,
) -> list[OpinionSummary]:
    """The requests the caller manages or answers, open ones first (nearest deadline
    first), then closed ones (latest first)."""
    mine_rows = (
        await db.execute(
            select(OpinionRecipient.request_id, OpinionRecipient.answered_at).where(
                answerable(principal)
            )
        )
    ).all()
    to_answer: dict[int, int] = defaultdict(int)
    asked: dict[int, int] = defaultdict(int)
    for request_id, answered_at in mine_rows:
        to_answer[request_id] += answered_at is None
        asked[request_id] += 1
    manager = is_manager(principal)
    query = select(OpinionRequest)
    if not manager:
        query = query.where(OpinionRequest.id.in_(list(asked)), OpinionRequest.sent_at.is_not(None))
    is_open = OpinionRequest.closed_at.is_(None) & (OpinionRequest.deadline > now)
    if phase is rules.Phase.OPEN:
        query = query.where(is_open)
    elif phase is rules.Phase.CLOSED:
        query = query.where(~is_open)
    # A province sends a few hundred requests a year: sorted here, not in SQL.
    requests = sorted((await db.execute(query)).unique().scalars(), key=lambda r: _order(r, now))
    requests = requests[:limit]
    totals: dict[int, tuple[int, int]] = {}
    if manager and requests:
        rows = await db.execute(
            select(
                OpinionRecipient.request_id,
                func.count(),
                func.count(OpinionRecipient.answered_at),
            )
            .where(OpinionRecipient.request_id.in_([r.id for r in requests]))
            .group_by(OpinionRecipient.request_id)
        )
        totals = {request_id: (n, answered) for request_id, n, answered in rows.all()}
    items = []
    for request in requests:
        current = rules.phase(request.deadline, request.closed_at, now, request.sent_at is not None)
        pending = to_answer.get(request.id, 0)
        due = (
            rules.reminder_due(request.deadline, now, lead_hours)
            if pending and current is rules.Phase.OPEN
            else None
        )
        n, answered = totals.get(request.id, (None, None))
        items.append(
            OpinionSummary(
                id=request.id,
                title=request.title,
                deadline=request.deadline,
                phase=current,
                closed_at=request.closed_at,
                created_by=request.created_by.full_name,
                asked=asked.get(request.id, 0),
                recipients=n,
                answered=answered,
                to_answer=pending,
                reminder_hours=due,
            )
        )
    return items


def _order(request: OpinionRequest, now: datetime) -> tuple[int, float]:
    if rules.phase(request.deadline, request.closed_at, now) is rules.Phase.OPEN:
        return (0, request.deadline.timestamp())
    return (1, -request.deadline.timestamp())


async def reminders_due(
    db: AsyncSession,
    now: datetime,
    lead_hours: tuple[int, ...],
    request_id: int | None = None,
) -> list[ReminderOut]:
    """Unanswered recipients of open requests whose next reminder is due now, for a
    messaging gateway (SMS, mail) to send; it reports back what it sent."""
    if not lead_hours:
        return []
    horizon = now + timedelta(hours=max(lead_hours))
    query = (
        select(OpinionRecipient, OpinionRequest)
        .join(OpinionRequest, OpinionRequest.id == OpinionRecipient.request_id)
        .where(
            OpinionRequest.sent_at.is_not(None),
            OpinionRequest.closed_at.is_(None),
            OpinionRequest.deadline > now,
            OpinionRequest.deadline <= horizon,
            OpinionRecipient.answered_at.is_(None),
        )
        .order_by(OpinionRequest.deadline, OpinionRequest.id, OpinionRecipient.id)
    )
    if request_id is not None:
        query = query.where(OpinionRequest.id == request_id)
    rows = (await db.execute(query)).unique().all()
    sent = await reminders_sent(db, [recipient.id for recipient, _ in rows])
    items = []
    for recipient, request in rows:
        due = rules.reminder_due(request.deadline, now, lead_hours, sent[recipient.id])
        if due is None:
            continue
        unit = recipient_unit(recipient)
        items.append(
            ReminderOut(
                request_id=request.id,
                title=request.title,
                deadline=request.deadline,
                recipient_id=recipient.id,
                kind="point" if recipient.point_id is not None else "user",
                name=recipient_name(recipient),
                username=recipient.user.username if recipient.user is not None else None,
                unit=unit_ref(unit) if unit is not None else None,
                lead_hours=due,
                hours_left=round((request.deadline - now).total_seconds() / 3600, 2),
            )
        )
    return items


async def record_reminders(
    db: AsyncSession, principal: Principal, items: list[ReminderSent], via: str, now: datetime
) -> tuple[int, int]:
    """Record reminders the gateway sent; (recorded, already recorded). Unknown recipients
    are refused, all or nothing."""
    require_manager(principal)
    wanted = {(i.recipient_id, i.lead_hours) for i in items}
    ids = sorted({recipient_id for recipient_id, _ in wanted})
    known = set(await db.scalars(select(OpinionRecipient.id).where(OpinionRecipient.id.in_(ids))))
    unknown = [i for i, item in enumerate(items) if item.recipient_id not in known]
    if unknown:
        errors = [
            {
                "field": f"items[{i}].recipient_id",
                "message": f"no recipient {items[i].recipient_id}",
            }
            for i in unknown
        ]
        raise Problem(422, "validation_failed", errors[0]["message"], errors=errors)
    rows = await db.execute(
        select(OpinionReminder.recipient_id, OpinionReminder.lead_hours).where(
            OpinionReminder.recipient_id.in_(ids)
        )
    )
    existing = {(recipient_id, hours) for recipient_id, hours in rows.all()}
    new = sorted(wanted - existing)
    db.add_all(OpinionReminder(recipient_id=r, lead_hours=h, via=via, sent_at=now) for r, h in new)
    return len(new), len(wanted) - len(new)
