"""Minutes of a meeting: drafting from the meeting's records, versions and their diff,
submission for approval, approvals signed with a server-held key or an external one,
rejection, and the final archive. The order of steps is agenda/approval.py's; this module
loads and stores its state and does the I/O around each step."""

from __future__ import annotations

import base64
import difflib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from agenda import approval, signing
from agenda.approval import MinutesStatus, Workflow, WorkflowError
from agenda.blobs import BlobStore
from agenda.minutes_models import (
    ApprovalStep,
    Minutes,
    MinutesVersion,
    SigningCertificate,
    SigningSession,
)
from agenda.minutes_pdf import Approver, render_minutes
from agenda.verify import verify_pdf
from rooms.attendance import presences
from rooms.store import EventStore
from server import audit
from server.accounts.models import User
from server.db import Database, utcnow
from server.identity import Principal, Role
from server.meetings import service as meetings
from server.meetings.agenda import list_items
from server.meetings.lifecycle import MeetingStatus
from server.meetings.models import Invitation, Meeting
from server.metrics import SIGNING
from server.minutes import certificates
from server.minutes.trust import TrustSource
from server.network.models import ConferencePoint, Unit
from server.problems import Problem, field_error

SESSION_MINUTES = 10


def workflow_of(row: Minutes) -> Workflow:
    return Workflow(
        status=row.status,
        latest_version=row.latest_version,
        submitted_version=row.submitted_version,
        approvers=tuple(row.approvers or ()),
        signed=row.signed,
        rejected_version=row.rejected_version,
    )


def store_workflow(row: Minutes, state: Workflow) -> None:
    row.status = state.status
    row.latest_version = state.latest_version
    row.submitted_version = state.submitted_version
    row.approvers = list(state.approvers)
    row.signed = state.signed
    row.rejected_version = state.rejected_version


def refused(error: WorkflowError) -> Problem:
    return Problem(error.status, error.code, error.message, status_now=error.state.status.value)


async def minutes_of(db: AsyncSession, meeting: Meeting, *, for_update: bool = False) -> Minutes:
    query = select(Minutes).where(Minutes.meeting_id == meeting.id)
    if for_update:
        query = query.with_for_update()
    row = await db.scalar(query)
    if row is None:
        raise Problem(404, "not_found", f"meeting {meeting.id} has no minutes yet")
    return row


async def draft_content(
    db: AsyncSession, database: Database, meeting: Meeting, zone: ZoneInfo
) -> dict[str, Any]:
    """The minutes as far as the meeting's own records tell them: the secretary edits from
    there (free sections, decisions)."""
    log = await EventStore(database).since(meeting.id, 0)
    found, _ = presences(log)
    attended = {p.id for p in found if p.kind == "point"}
    points = (
        await db.execute(
            select(ConferencePoint.id, ConferencePoint.name)
            .join(Invitation, Invitation.point_id == ConferencePoint.id)
            .where(Invitation.meeting_id == meeting.id)
            .order_by(ConferencePoint.name)
        )
    ).all()
    host = await db.get(Unit, meeting.host_unit_id)

    def when(moment: Any) -> str:
        return moment.astimezone(zone).strftime("%H:%M ngày %d/%m/%Y")

    return {
        "title": f"BIÊN BẢN {meeting.title.upper()}",
        "meeting": {
            "title": meeting.title,
            "time": f"{when(meeting.started_at or meeting.starts_at)} – "
            f"{when(meeting.ended_at or meeting.ends_at)}",
            "place": host.name if host else "",
            "chair": meeting.chair.full_name,
            "secretary": meeting.secretary.full_name,
        },
        "attendance": {
            "points_present": [name for i, name in points if i in attended],
            "points_absent": [name for i, name in points if i not in attended],
            "people": sorted({p.name for p in found if p.kind == "user"}),
        },
        "agenda": [
            {"position": i.position, "title": i.title, "presenter": i.presenter_name}
            for i in await list_items(db, meeting.id)
        ],
        "decisions": [
            {
                "title": e.data["question"],
                "result": vote_result_text(e.data["result"], e.data.get("present")),
            }
            for e in log
            if e.kind == "poll.closed"
        ],
        "sections": [{"heading": "Nội dung", "text": ""}],
    }


def vote_result_text(result: dict[str, Any], present: int | None = None) -> str:
    """ "Tán thành 150/204 (73,53%); Không tán thành 30/204 (14,71%); … — thông qua"."""
    eligible = result["eligible"]
    parts = [
        f"{option} {count}/{eligible} ({str(pct).replace('.', ',')}%)"
        for option, count, pct in zip(
            result["options"], result["counts"], result["pct_of_eligible"], strict=True
        )
    ]
    if result.get("not_voted"):
        parts.append(f"không biểu quyết được ghi nhận: {result['not_voted']}")
    if present:
        parts.append(f"có mặt khi biểu quyết: {present}, có quyền biểu quyết: {eligible}")
    verdict = "thông qua" if result["passed"] else "không thông qua"
    rule = RULE_WORDS.get(result.get("rule", ""), "")
    return "; ".join(parts) + f" — {verdict}" + (f" ({rule})" if rule else "")


# The rule that decided, as the minutes say it.
RULE_WORDS = {
    "majority_of_eligible": "quá nửa tổng số có quyền biểu quyết",
    "majority_of_cast": "quá nửa số phiếu biểu quyết",
    "two_thirds_of_eligible": "từ hai phần ba tổng số có quyền biểu quyết",
}


async def create(
    db: AsyncSession,
    database: Database,
    principal: Principal,
    meeting: Meeting,
    zone: ZoneInfo,
    overrides: dict[str, Any],
) -> Minutes:
    meetings.require_organizer(meeting, principal)
    if meeting.status in (MeetingStatus.DRAFT, MeetingStatus.CANCELLED):
        raise Problem(409, "meeting_not_held", "minutes are drafted for a meeting that was held")
    if await db.scalar(select(Minutes.id).where(Minutes.meeting_id == meeting.id)):
        raise Problem(409, "minutes_exist", "the meeting has minutes: add a version instead")
    row = Minutes(meeting_id=meeting.id, approvers=[])
    db.add(row)
    await db.flush()
    content = {**await draft_content(db, database, meeting, zone), **overrides}
    await add_version(db, principal, meeting, row, content)
    return row


async def add_version(
    db: AsyncSession, principal: Principal, meeting: Meeting, row: Minutes, content: dict[str, Any]
) -> MinutesVersion:
    meetings.require_organizer(meeting, principal)
    try:
        state, _ = approval.draft(workflow_of(row))
    except WorkflowError as error:
        raise refused(error) from error
    store_workflow(row, state)
    version = MinutesVersion(
        minutes_id=row.id,
        number=state.latest_version,
        content=content,
        created_by_id=principal.id,
    )
    db.add(version)
    await db.flush()
    await audit.record(
        db, principal, "minutes.version", "minutes", row.id,
        meeting_id=meeting.id, after={"version": version.number},
    )  # fmt: skip
    return version


async def version_of(db: AsyncSession, row: Minutes, number: int) -> MinutesVersion:
    version = await db.scalar(
        select(MinutesVersion).where(
            MinutesVersion.minutes_id == row.id, MinutesVersion.number == number
        )
    )
    if version is None:
        raise Problem(404, "not_found", f"the minutes have no version {number}")
    return version


def readable_lines(content: dict[str, Any]) -> list[str]:
    """The content as lines a person compares: one field or paragraph per line."""
    lines = [f"Tiêu đề: {content.get('title', '')}"]
    for key, value in (content.get("meeting") or {}).items():
        lines.append(f"{key}: {value}")
    attendance = content.get("attendance") or {}
    for key in ("points_present", "points_absent", "people"):
        lines.append(f"{key}: {', '.join(attendance.get(key, []))}")
    for item in content.get("agenda", []):
        lines.append(f"Mục {item.get('position')}: {item.get('title')}")
    for decision in content.get("decisions", []):
        lines.append(f"Quyết định: {decision.get('title')} — {decision.get('result')}")
    for section in content.get("sections", []):
        lines.append(f"## {section.get('heading', '')}")
        lines.extend(str(section.get("text", "")).splitlines())
    return lines


def diff(old: MinutesVersion, new: MinutesVersion) -> str:
    return "\n".join(
        difflib.unified_diff(
            readable_lines(old.content),
            readable_lines(new.content),
            fromfile=f"phiên bản {old.number}",
            tofile=f"phiên bản {new.number}",
            lineterm="",
        )
    )


async def approver_list(db: AsyncSession, meeting: Meeting, ids: list[int]) -> list[Approver]:
    users = {u.id: u for u in await db.scalars(select(User).where(User.id.in_(ids)))}
    if missing := [i for i in ids if i not in users]:
        raise field_error("approvers", f"no such users: {missing}")
    people = []
    for user_id in ids:
        user = users[user_id]
        if not user.active or not ({Role.CHAIR, Role.SECRETARY} & set(user.roles)):
            raise field_error(
                "approvers", f"{user.full_name} cannot approve minutes (chair or secretary role)"
            )
        role = "Chủ trì" if user_id == meeting.chair_id else (
            "Thư ký" if user_id == meeting.secretary_id else "Lãnh đạo"
        )  # fmt: skip
        people.append(Approver(user.full_name, role))
    return people


async def submit(
    db: AsyncSession,
    blobs: BlobStore,
    principal: Principal,
    meeting: Meeting,
    row: Minutes,
    number: int,
    approver_ids: list[int],
) -> None:
    meetings.require_organizer(meeting, principal)
    try:
        state, _ = approval.submit(workflow_of(row), number, approver_ids)
    except WorkflowError as error:
        raise refused(error) from error
    version = await version_of(db, row, number)
    people = await approver_list(db, meeting, approver_ids)
    pdf, boxes = render_minutes(version.content, people)
    frozen = blobs.put_bytes(signing.add_signature_fields(pdf, boxes))
    version.frozen_pdf = frozen.digest
    row.current_pdf = frozen.digest
    store_workflow(row, state)
    await audit.record(
        db, principal, "minutes.submit", "minutes", row.id, meeting_id=meeting.id,
        after={"version": number, "approvers": approver_ids, "pdf": frozen.digest},
    )  # fmt: skip


def _require_person(principal: Principal) -> None:
    # Points and users are numbered apart: a point's id may equal an approver's.
    if not principal.is_user:
        raise Problem(403, "forbidden", "minutes are approved by people, not conference points")


def _check_turn(row: Minutes, principal: Principal, number: int, step: int) -> Workflow:
    _require_person(principal)
    try:
        state, _ = approval.approve(workflow_of(row), principal.id, number, step)
    except WorkflowError as error:
        raise refused(error) from error
    return state


@dataclass(frozen=True)
class Turn:
    """An approver's turn as read before signing: the signature is stored only if the
    minutes are still exactly as they were (nobody signed, rejected or withdrew since)."""

    meeting_id: int
    minutes_id: int
    number: int
    step: int
    base_pdf: str  # the document the signature was made on
    final: bool  # this signature completes the chain


def _turn(meeting: Meeting, row: Minutes, principal: Principal, number: int, step: int) -> Turn:
    state = _check_turn(row, principal, number, step)
    return Turn(
        meeting.id,
        row.id,
        number,
        step,
        row.current_pdf or "",
        state.status is MinutesStatus.FINAL,
    )


async def _validated(pdf: bytes, trust: signing.Trust, final: bool) -> tuple[bytes, list[Any]]:
    """Archive the last signature (B-LTA) and validate every signature; nothing is stored
    unless all are valid."""
    if final:
        pdf = await signing.archive(pdf, trust)
    reports = await verify_pdf(pdf, trust)
    bad = [r for r in reports if r.verdict not in ("valid",)]
    if bad:
        SIGNING.labels("any", "not_valid").inc()
        raise Problem(
            422,
            "signature_not_valid",
            f"the signed document did not validate: {bad[0].field}: {bad[0].verdict_en}",
        )
    return pdf, reports


async def _store_signed(
    database: Database,
    blobs: BlobStore,
    principal: Principal,
    turn: Turn,
    cert_row_id: int,
    method: str,
    pdf: bytes,
    reports: list[Any],
    session_token: str | None = None,
) -> None:
    """Store a signed document and the step, in a short write transaction after the slow
    signing (the writer is not held while timestamps are fetched and signatures checked:
    on SQLite that would stall the live rooms' events)."""
    stored = blobs.put_bytes(pdf)
    async with database.writer() as db:
        meeting = await meetings.get_meeting(db, turn.meeting_id, principal)
        row = await minutes_of(db, meeting, for_update=True)
        if row.id != turn.minutes_id or (row.current_pdf or "") != turn.base_pdf:
            raise Problem(
                409, "minutes_changed", "the minutes changed while you signed; reload and retry"
            )
        state = _check_turn(row, principal, turn.number, turn.step)
        row.current_pdf = stored.digest
        if turn.final:
            row.final_pdf = stored.digest
        store_workflow(row, state)
        if session_token is not None:
            await db.execute(delete(SigningSession).where(SigningSession.token == session_token))
        db.add(
            ApprovalStep(
                minutes_id=row.id,
                version=turn.number,
                step=turn.step,
                approver_id=principal.id,
                outcome="signed",
                method=method,
                certificate_id=cert_row_id,
                pdf_sha256=stored.digest,
                validation=[r.as_dict() for r in reports],
            )
        )
        await db.flush()
        await audit.record(
            db, principal, "minutes.approve", "minutes", row.id, meeting_id=meeting.id,
            after={"version": turn.number, "step": turn.step, "method": method,
                   "pdf": stored.digest, "final": turn.final},
        )  # fmt: skip
        await db.commit()
    SIGNING.labels(method, "signed").inc()


async def approve_with_pin(
    db: AsyncSession,
    database: Database,
    blobs: BlobStore,
    source: TrustSource,
    principal: Principal,
    meeting_id: int,
    number: int,
    step: int,
    pin: str,
) -> None:
    """Sign with the key the server holds, unlocked by the PIN. ``db`` is a read session:
    what is checked is read, the signature made, then stored by ``_store_signed``."""
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await minutes_of(db, meeting)
    turn = _turn(meeting, row, principal, number, step)
    cert_row = await certificates.usable_certificate(db, principal.id, None, held=True)
    trust = await source.trust(db)
    db.expunge_all()
    await db.rollback()  # nothing held while the key is unlocked and the document signed
    key = await certificates.unlock_key(database, cert_row, pin)
    cert = certificates.certificate_of(cert_row)
    # No separate certificate check: the validation after embedding refuses an expired,
    # revoked or untrusted certificate before anything is stored.
    if trust.timestamper is None:
        raise Problem(409, "no_timestamp_service", "no timestamp service is configured")
    current = blobs.path(turn.base_pdf).read_bytes()
    pdf = await signing.sign_with_key(current, step, cert, key, trust, principal.shown_name)
    pdf, reports = await _validated(pdf, trust, turn.final)
    await _store_signed(database, blobs, principal, turn, cert_row.id, "server_key", pdf, reports)


async def prepare_external(
    db: AsyncSession,
    blobs: BlobStore,
    source: TrustSource,
    principal: Principal,
    row: Minutes,
    number: int,
    step: int,
    certificate_id: int | None,
) -> tuple[SigningSession, dict[str, Any]]:
    _check_turn(row, principal, number, step)
    # A key the server holds is used with the PIN, not here: the client cannot sign with it.
    cert_row = await certificates.usable_certificate(db, principal.id, certificate_id, held=False)
    cert = certificates.certificate_of(cert_row)
    trust = await source.trust(db)
    await certificates.check_certificate(cert, trust)
    if trust.timestamper is None:
        raise Problem(409, "no_timestamp_service", "no timestamp service is configured")
    current = blobs.path(row.current_pdf or "").read_bytes()
    prepared = await signing.prepare_external(current, step, cert, trust, principal.shown_name)
    stored = blobs.put_bytes(prepared.prepared_pdf)
    session = SigningSession(
        token=secrets.token_urlsafe(24),
        minutes_id=row.id,
        version=number,
        step=step,
        approver_id=principal.id,
        certificate_id=cert_row.id,
        to_sign=prepared.to_sign,
        document_digest=prepared.document_digest,
        reserved_start=prepared.reserved_start,
        reserved_end=prepared.reserved_end,
        prepared_pdf=stored.digest,
        expires_at=utcnow() + timedelta(minutes=SESSION_MINUTES),
    )
    db.add(session)
    await db.flush()
    summary = {
        "document": f"minutes {row.id}, version {number}",
        "step": step + 1,
        "of": len(row.approvers),
        "signer": cert.subject.rfc4514_string(),
        "document_sha256": prepared.document_digest.hex(),
    }
    return session, summary


async def finish_external(
    db: AsyncSession,
    database: Database,
    blobs: BlobStore,
    source: TrustSource,
    principal: Principal,
    meeting_id: int,
    token: str,
    signature_b64: str,
) -> None:
    """Embed the signature the approver made with their own key (``db``: a read session;
    stored by ``_store_signed``)."""
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await minutes_of(db, meeting)
    session = await db.scalar(select(SigningSession).where(SigningSession.token == token))
    if session is None or session.approver_id != principal.id or session.minutes_id != row.id:
        raise Problem(404, "not_found", "no such signing session")
    if session.expires_at < utcnow():
        async with database.writer() as writer:
            await writer.execute(delete(SigningSession).where(SigningSession.token == token))
            await writer.commit()
        raise Problem(410, "session_expired", "the prepared signature expired; prepare again")
    turn = _turn(meeting, row, principal, session.version, session.step)
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except ValueError as exc:
        raise field_error("signature", "not base64") from exc
    cert_row = await db.get(SigningCertificate, session.certificate_id)
    assert cert_row is not None
    cert = certificates.certificate_of(cert_row)
    trust = await source.trust(db)
    prepared = signing.Prepared(
        to_sign=session.to_sign,
        document_digest=session.document_digest,
        reserved_start=session.reserved_start,
        reserved_end=session.reserved_end,
        prepared_pdf=blobs.path(session.prepared_pdf).read_bytes(),
    )
    db.expunge_all()
    await db.rollback()  # nothing held while the signature is embedded and checked
    try:
        pdf = await signing.finish_external(prepared, cert, signature, trust)
    except signing.SigningError as exc:
        raise Problem(422, exc.code, exc.message) from exc
    pdf, reports = await _validated(pdf, trust, turn.final)
    await _store_signed(
        database, blobs, principal, turn, cert_row.id, "external", pdf, reports, token
    )


async def reject(
    db: AsyncSession,
    principal: Principal,
    meeting: Meeting,
    row: Minutes,
    number: int,
    step: int,
    comment: str,
) -> None:
    _require_person(principal)
    try:
        state, event = approval.reject(workflow_of(row), principal.id, number, step, comment)
    except WorkflowError as error:
        raise refused(error) from error
    store_workflow(row, state)
    row.current_pdf = None
    db.add(
        ApprovalStep(
            minutes_id=row.id,
            version=number,
            step=step,
            approver_id=principal.id,
            outcome="rejected",
            comment=event.comment,
        )
    )
    await audit.record(
        db, principal, "minutes.reject", "minutes", row.id, meeting_id=meeting.id,
        after={"version": number, "step": step, "comment": event.comment},
    )  # fmt: skip


def content_json(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False)


async def withdraw(db: AsyncSession, principal: Principal, meeting: Meeting, row: Minutes) -> None:
    meetings.require_organizer(meeting, principal)
    try:
        state, event = approval.withdraw(workflow_of(row))
    except WorkflowError as error:
        raise refused(error) from error
    store_workflow(row, state)
    row.current_pdf = None
    await audit.record(
        db, principal, "minutes.withdraw", "minutes", row.id, meeting_id=meeting.id,
        after={"version": event.version, "signatures_dropped": event.signed},
    )  # fmt: skip
