"""HTTP API of minutes: drafting and versions, the approval chain (PIN or external
signature), the signed document."""

from __future__ import annotations

import asyncio
import base64
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from starlette.responses import FileResponse, Response

from agenda.approval import MinutesStatus
from agenda.minutes_models import (
    ApprovalStep,
    Minutes,
    MinutesVersion,
)
from agenda.minutes_pdf import render_minutes
from server.accounts.models import User
from server.auth import CurrentPrincipal
from server.deps import AppDatabase, AppSettings, ReadDB, WriteDB
from server.documents.paper import Paper, not_modified
from server.documents.routes import AppPaper
from server.identity import Principal
from server.meetings import access
from server.meetings import service as meetings
from server.meetings.models import Meeting
from server.minutes import service
from server.minutes.schemas import (
    Approve,
    ApproverOut,
    AwaitingOut,
    Finish,
    MinutesCreate,
    MinutesOut,
    Prepare,
    PreparedOut,
    Reject,
    StepOut,
    Submit,
    VersionCreate,
    VersionOut,
)
from server.minutes.trust import AppTrust
from server.problems import Problem, field_error
from server.validation import MAX_ID, IdPath

router = APIRouter(tags=["minutes"])
PDF_HEADERS = {"Cache-Control": "private, no-cache"}


def _may_read_drafts(meeting: Meeting, principal: Principal, row: Any) -> bool:
    """Drafts, versions, comments and the document in approval are for the organizers and
    the approvers; everyone who sees the meeting reads the minutes once final."""
    return access.is_organizer(meeting, principal) or (
        principal.is_user and principal.id in (row.approvers or [])
    )


def _require_drafts(meeting: Meeting, principal: Principal, row: Any) -> None:
    if not _may_read_drafts(meeting, principal, row):
        raise Problem(403, "forbidden", "the minutes are not final yet")


def _require_final_or_drafts(meeting: Meeting, principal: Principal, row: Any) -> None:
    if row.final_pdf is None:
        _require_drafts(meeting, principal, row)


async def _out(db: ReadDB | WriteDB, row: Any, paper: Paper) -> MinutesOut:
    workflow = service.workflow_of(row)
    steps = list(
        await db.scalars(
            select(ApprovalStep).where(ApprovalStep.minutes_id == row.id).order_by(ApprovalStep.id)
        )
    )
    people = {*workflow.approvers, *(s.approver_id for s in steps)}
    users = {u.id: u.full_name for u in await db.scalars(select(User).where(User.id.in_(people)))}
    digest = row.final_pdf or row.current_pdf
    pages = await asyncio.to_thread(paper.page_count, digest) if digest else None
    return MinutesOut(
        id=row.id,
        meeting_id=row.meeting_id,
        status=row.status.value,
        latest_version=row.latest_version,
        submitted_version=row.submitted_version,
        approvers=[
            ApproverOut(id=i, name=users.get(i, ""), signed=n < workflow.signed)
            for n, i in enumerate(workflow.approvers)
        ],
        next_approver=workflow.next_approver,
        steps=[
            StepOut(
                version=s.version,
                step=s.step,
                approver_id=s.approver_id,
                approver_name=users.get(s.approver_id, ""),
                outcome=s.outcome,
                comment=s.comment,
                method=s.method,
                at=s.at,
                validation=s.validation,
            )
            for s in steps
        ],
        document_url=f"/api/meetings/{row.meeting_id}/minutes/document.pdf"
        if row.current_pdf
        else None,
        document_pages=pages,
        final=row.final_pdf is not None,
    )


@router.post(
    "/api/meetings/{meeting_id}/minutes",
    response_model=MinutesOut,
    status_code=201,
    summary="Draft the minutes from the meeting's records (version 1)",
)
async def create_minutes(
    meeting_id: IdPath,
    body: MinutesCreate,
    principal: CurrentPrincipal,
    db: WriteDB,
    database: AppDatabase,
    settings: AppSettings,
    paper: AppPaper,
) -> MinutesOut:
    meeting = await meetings.get_meeting(db, meeting_id, principal, for_update=True)
    overrides = body.model_dump(exclude_none=True)
    row = await service.create(
        db, database, principal, meeting, ZoneInfo(settings.timezone), overrides
    )
    await db.commit()
    return await _out(db, row, paper)


@router.get("/api/meetings/{meeting_id}/minutes", response_model=MinutesOut, summary="Minutes")
async def get_minutes(
    meeting_id: IdPath, principal: CurrentPrincipal, db: ReadDB, paper: AppPaper
) -> MinutesOut:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await service.minutes_of(db, meeting)
    _require_final_or_drafts(meeting, principal, row)
    return await _out(db, row, paper)


@router.post(
    "/api/meetings/{meeting_id}/minutes/versions",
    response_model=VersionOut,
    status_code=201,
    summary="Save a new version (while a draft)",
)
async def add_version(
    meeting_id: IdPath, body: VersionCreate, principal: CurrentPrincipal, db: WriteDB
) -> VersionOut:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await service.minutes_of(db, meeting, for_update=True)
    content = body.content.model_dump()
    if len(service.content_json(content)) > 500_000:
        raise field_error("content", "the minutes are too long (500,000 characters)")
    version = await service.add_version(db, principal, meeting, row, content)
    await db.commit()
    return _version_out(version)


def _version_out(version: MinutesVersion) -> VersionOut:
    return VersionOut(
        number=version.number,
        content=version.content,
        created_at=version.created_at,
        frozen=version.frozen_pdf is not None,
    )


@router.get(
    "/api/meetings/{meeting_id}/minutes/versions",
    response_model=list[VersionOut],
    summary="Every version, oldest first",
)
async def list_versions(
    meeting_id: IdPath, principal: CurrentPrincipal, db: ReadDB
) -> list[VersionOut]:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await service.minutes_of(db, meeting)
    _require_drafts(meeting, principal, row)
    versions = await db.scalars(
        select(MinutesVersion)
        .where(MinutesVersion.minutes_id == row.id)
        .order_by(MinutesVersion.number)
    )
    return [_version_out(v) for v in versions]


@router.get(
    "/api/meetings/{meeting_id}/minutes/diff",
    summary="What changed between two versions, line by line (unified diff)",
)
async def diff_versions(
    meeting_id: IdPath,
    principal: CurrentPrincipal,
    db: ReadDB,
    # Bounded as every id is: 2**63 reached SQLite's driver (OverflowError, 500).
    from_: Annotated[int, Query(alias="from", ge=1, le=MAX_ID)],
    to: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> dict[str, Any]:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await service.minutes_of(db, meeting)
    _require_drafts(meeting, principal, row)
    old, new = await service.version_of(db, row, from_), await service.version_of(db, row, to)
    return {"from": from_, "to": to, "diff": service.diff(old, new)}


@router.get(
    "/api/meetings/{meeting_id}/minutes/versions/{number}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="A version as PDF (a draft's preview, or the version as frozen for approval)",
)
async def version_pdf(
    meeting_id: IdPath,
    number: IdPath,
    principal: CurrentPrincipal,
    db: ReadDB,
    paper: AppPaper,
) -> Response:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await service.minutes_of(db, meeting)
    _require_drafts(meeting, principal, row)
    version = await service.version_of(db, row, number)
    if version.frozen_pdf:
        data = paper.blobs.path(version.frozen_pdf).read_bytes()
    else:
        data, _ = render_minutes(version.content, [])
    return Response(data, media_type="application/pdf", headers=PDF_HEADERS)


@router.get(
    "/api/meetings/{meeting_id}/minutes/document.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="The document in approval, with the signatures so far (final: the legal record)",
)
async def document_pdf(
    meeting_id: IdPath, principal: CurrentPrincipal, db: ReadDB, paper: AppPaper
) -> Response:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await service.minutes_of(db, meeting)
    _require_final_or_drafts(meeting, principal, row)
    if not row.current_pdf:
        raise Problem(404, "not_found", "the minutes have not been submitted")
    digest = row.final_pdf or row.current_pdf
    return Response(
        paper.blobs.path(digest).read_bytes(),
        media_type="application/pdf",
        headers={
            **PDF_HEADERS,
            "ETag": f'"{digest}"',
            "Content-Disposition": f'attachment; filename="bien-ban-hop-{meeting_id}.pdf"',
        },
    )


@router.get(
    "/api/meetings/{meeting_id}/minutes/document/pages/{page}.webp",
    response_class=Response,
    responses={200: {"content": {"image/webp": {}}}},
    summary="A page of the document in approval as an image (for reading before signing)",
)
async def document_page(
    meeting_id: IdPath,
    page: IdPath,
    request: Request,
    principal: CurrentPrincipal,
    db: ReadDB,
    paper: AppPaper,
    width: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Response:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await service.minutes_of(db, meeting)
    _require_final_or_drafts(meeting, principal, row)
    digest = row.final_pdf or row.current_pdf
    if not digest:
        raise Problem(404, "not_found", "the minutes have not been submitted")
    count = await asyncio.to_thread(paper.page_count, digest)
    if page > count:
        raise Problem(404, "not_found", f"the document has {count} pages")
    path, etag = await paper.page_image(digest, page, width)
    if cached := not_modified(request, etag):
        return cached
    # The URL stays while the document gains signatures: revalidated each time (the ETag
    # names the document's state).
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    return FileResponse(path, media_type="image/webp", headers=headers)


@router.post(
    "/api/meetings/{meeting_id}/minutes/submit",
    response_model=MinutesOut,
    summary="Submit a version for approval by the listed approvers, in order (freezes it)",
)
async def submit(
    meeting_id: IdPath, body: Submit, principal: CurrentPrincipal, db: WriteDB, paper: AppPaper
) -> MinutesOut:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await service.minutes_of(db, meeting, for_update=True)
    await service.submit(db, paper.blobs, principal, meeting, row, body.version, body.approvers)
    await db.commit()
    return await _out(db, row, paper)


@router.post(
    "/api/meetings/{meeting_id}/minutes/approve",
    response_model=MinutesOut,
    summary="Approve: sign with the key the server holds for you, unlocked by your PIN",
)
async def approve(
    meeting_id: IdPath,
    body: Approve,
    principal: CurrentPrincipal,
    db: ReadDB,
    database: AppDatabase,
    paper: AppPaper,
    trust: AppTrust,
) -> MinutesOut:
    await service.approve_with_pin(
        db, database, paper.blobs, trust, principal, meeting_id, body.version, body.step, body.pin
    )
    return await _current(db, meeting_id, principal, paper)


async def _current(db: ReadDB, meeting_id: int, principal: Principal, paper: Paper) -> MinutesOut:
    """The minutes as stored now (after a signature stored in its own transaction)."""
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    return await _out(db, await service.minutes_of(db, meeting), paper)


@router.post(
    "/api/meetings/{meeting_id}/minutes/external/prepare",
    response_model=PreparedOut,
    summary="Approve with your own key (step 1): the bytes to sign",
)
async def prepare(
    meeting_id: IdPath,
    body: Prepare,
    principal: CurrentPrincipal,
    db: WriteDB,
    paper: AppPaper,
    trust: AppTrust,
) -> PreparedOut:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await service.minutes_of(db, meeting, for_update=True)
    session, summary = await service.prepare_external(
        db, paper.blobs, trust, principal, row, body.version, body.step, body.certificate_id
    )
    await db.commit()
    return PreparedOut(
        session=session.token,
        to_sign=base64.b64encode(session.to_sign).decode(),
        summary=summary,
        expires_at=session.expires_at,
    )


@router.post(
    "/api/meetings/{meeting_id}/minutes/external/finish",
    response_model=MinutesOut,
    summary="Approve with your own key (step 2): the signature (base64; ECDSA r||s or DER)",
)
async def finish(
    meeting_id: IdPath,
    body: Finish,
    principal: CurrentPrincipal,
    db: ReadDB,
    database: AppDatabase,
    paper: AppPaper,
    trust: AppTrust,
) -> MinutesOut:
    await service.finish_external(
        db, database, paper.blobs, trust, principal, meeting_id, body.session, body.signature
    )
    return await _current(db, meeting_id, principal, paper)


@router.post(
    "/api/meetings/{meeting_id}/minutes/reject",
    response_model=MinutesOut,
    summary="Reject with a comment: the minutes return to draft",
)
async def reject(
    meeting_id: IdPath, body: Reject, principal: CurrentPrincipal, db: WriteDB, paper: AppPaper
) -> MinutesOut:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await service.minutes_of(db, meeting, for_update=True)
    await service.reject(db, principal, meeting, row, body.version, body.step, body.comment)
    await db.commit()
    return await _out(db, row, paper)


@router.post(
    "/api/meetings/{meeting_id}/minutes/withdraw",
    response_model=MinutesOut,
    summary="Take the minutes back from approval (organizers): back to draft",
)
async def withdraw(
    meeting_id: IdPath, principal: CurrentPrincipal, db: WriteDB, paper: AppPaper
) -> MinutesOut:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    row = await service.minutes_of(db, meeting, for_update=True)
    await service.withdraw(db, principal, meeting, row)
    await db.commit()
    return await _out(db, row, paper)


@router.get(
    "/api/minutes/awaiting",
    response_model=list[AwaitingOut],
    summary="Minutes waiting for the caller's approval now (it is their turn)",
)
async def awaiting(principal: CurrentPrincipal, db: ReadDB) -> list[AwaitingOut]:
    if not principal.is_user:
        return []
    rows = await db.execute(
        select(Minutes, Meeting.title)
        .join(Meeting, Meeting.id == Minutes.meeting_id)
        .where(Minutes.status == MinutesStatus.IN_APPROVAL, access.visible_to(principal))
        .order_by(Minutes.updated_at)
    )
    found = []
    for row, title in rows:
        workflow = service.workflow_of(row)
        if workflow.next_approver == principal.id and workflow.submitted_version is not None:
            found.append(
                AwaitingOut(
                    meeting_id=row.meeting_id,
                    title=title,
                    version=workflow.submitted_version,
                    step=workflow.signed,
                    url=f"/meetings/{row.meeting_id}?view=approval",
                )
            )
    return found
