"""HTTP API of minutes: drafting and versions, the approval chain (PIN or external
signature), the signed document, verification of any PDF, certificates and trust."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.responses import FileResponse, Response

from agenda.approval import MinutesStatus
from agenda.minutes_models import (
    ApprovalStep,
    Minutes,
    MinutesVersion,
    SigningCertificate,
    TrustAnchor,
)
from agenda.minutes_pdf import render_minutes
from agenda.verify import verify_job
from agenda.workers import PaperFailed
from server import audit
from server.accounts.models import User
from server.auth import CurrentPrincipal, UserPrincipal, require_roles
from server.deps import AppDatabase, AppSettings, ReadDB, WriteDB
from server.documents.paper import Paper, not_modified
from server.documents.routes import AppPaper, pdf_form
from server.identity import Principal, Role
from server.meetings import access
from server.meetings import service as meetings
from server.meetings.models import Meeting
from server.minutes import certificates, service
from server.minutes.trust import TrustSource
from server.problems import Problem, field_error
from server.validation import DbId, IdPath

router = APIRouter(tags=["minutes"])
UPLOAD_PATHS = (r"/api/verify",)
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
PDF_HEADERS = {"Cache-Control": "private, no-cache"}


def get_trust(request: Request) -> TrustSource:
    source: TrustSource = request.app.state.trust
    return source


AppTrust = Annotated[TrustSource, Depends(get_trust)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MinutesCreate(Strict):
    sections: list[Section] | None = Field(None, max_length=500)
    decisions: list[Decision] | None = Field(None, max_length=500)


Line = Annotated[str, Field(max_length=2000)]
Text = Annotated[str, Field(max_length=100_000)]


class Section(Strict):
    heading: Line = ""
    text: Text = ""


class Decision(Strict):
    title: Line = ""
    result: Line = ""


class AgendaLine(Strict):
    position: int | str | None = None
    title: Line = ""
    presenter: Line | None = ""


class Attendance(Strict):
    points_present: list[Line] = Field(default_factory=list, max_length=5000)
    points_absent: list[Line] = Field(default_factory=list, max_length=5000)
    people: list[Line] = Field(default_factory=list, max_length=5000)


class MinutesContent(Strict):
    """What the minutes say: the fields the PDF lays out (unknown fields are refused)."""

    title: Line = ""
    meeting: dict[str, Line] = Field(default_factory=dict, max_length=20)
    attendance: Attendance = Field(default_factory=Attendance)
    agenda: list[AgendaLine] = Field(default_factory=list, max_length=500)
    decisions: list[Decision] = Field(default_factory=list, max_length=500)
    sections: list[Section] = Field(default_factory=list, max_length=500)


class VersionCreate(Strict):
    content: MinutesContent


class Submit(Strict):
    version: int = Field(ge=1)
    approvers: list[DbId] = Field(min_length=1, max_length=12)


class Approve(Strict):
    version: int = Field(ge=1)
    step: int = Field(ge=0, le=20)
    pin: str = Field(min_length=1, max_length=128)


class Reject(Strict):
    version: int = Field(ge=1)
    step: int = Field(ge=0, le=20)
    comment: str = Field(min_length=1, max_length=2000)


class Prepare(Strict):
    version: int = Field(ge=1)
    step: int = Field(ge=0, le=20)
    certificate_id: DbId | None = None


class Finish(Strict):
    session: str = Field(min_length=10, max_length=64)
    signature: str = Field(min_length=4, max_length=4096, description="base64")


class StepOut(BaseModel):
    version: int
    step: int
    approver_id: int
    approver_name: str
    outcome: str
    comment: str
    method: str
    at: datetime
    validation: list[dict[str, Any]] | None


class ApproverOut(BaseModel):
    id: int
    name: str
    signed: bool


class MinutesOut(BaseModel):
    id: int
    meeting_id: int
    status: str
    latest_version: int
    submitted_version: int | None
    approvers: list[ApproverOut]
    next_approver: int | None
    steps: list[StepOut]
    document_url: str | None
    document_pages: int | None  # pages of the document in approval (or final)
    final: bool


class VersionOut(BaseModel):
    number: int
    content: dict[str, Any]
    created_at: datetime
    frozen: bool


class PreparedOut(BaseModel):
    session: str
    to_sign: str  # base64 of the DER signed attributes
    summary: dict[str, Any]
    expires_at: datetime


class CertificateOut(BaseModel):
    id: int
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    server_held: bool
    locked: bool
    active: bool
    pem_url: str


class CertificateImport(Strict):
    certificate_pem: str = Field(min_length=50, max_length=20_000)


class CertificateIssue(Strict):
    pin: str = Field(min_length=1, max_length=128)
    key_kind: str = Field("ec", pattern="^(ec|rsa)$")
    password: str | None = Field(None, max_length=1024, description="yours, when for yourself")


class AnchorOut(BaseModel):
    id: int
    subject: str
    fingerprint: str
    root: bool


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
    from_: Annotated[int, Query(alias="from", ge=1)],
    to: Annotated[int, Query(ge=1)],
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


class AwaitingOut(BaseModel):
    meeting_id: int
    title: str
    version: int
    step: int
    url: str


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


@router.post(
    "/api/verify",
    summary="Verify every signature in a PDF (multipart field 'file')",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def verify(
    request: Request, principal: CurrentPrincipal, db: ReadDB, trust: AppTrust, paper: AppPaper
) -> dict[str, Any]:
    upload, form = await pdf_form(request)
    try:
        data = await upload.read(paper.max_upload_bytes + 1)
    finally:
        await form.close()
    if len(data) > paper.max_upload_bytes:
        raise Problem(413, "too_large", f"larger than {paper.settings.max_upload_mb} MB")
    if b"%PDF-" not in data[:1024]:
        raise Problem(422, "not_pdf", "the file is not a PDF")
    known = await trust.trust(db)
    pem = serialization.Encoding.PEM
    try:
        # Anyone's PDF: read in a paper-work process, bounded in memory and time.
        reports = await paper.workers.run(
            verify_job,
            data,
            [c.public_bytes(pem) for c in known.roots],
            [c.public_bytes(pem) for c in known.intermediates],
            [c.public_bytes(serialization.Encoding.DER) for c in known.crls],
        )
    except PaperFailed as exc:
        raise Problem(422, "pdf_unprocessable", f"the PDF could not be checked: {exc}") from exc
    except Exception as exc:  # pyHanko's reader on a damaged file
        raise Problem(
            422, "pdf_corrupt", f"the PDF could not be read: {type(exc).__name__}"
        ) from exc
    verdicts = {r["verdict"] for r in reports}
    overall = "unsigned" if not reports else ("valid" if verdicts == {"valid"} else "problem")
    return {"signatures": reports, "overall": overall}


# Certificates and trust


def _cert_out(row: SigningCertificate) -> CertificateOut:
    return CertificateOut(
        id=row.id,
        subject=row.subject,
        issuer=row.issuer,
        serial=row.serial,
        not_before=row.not_before,
        not_after=row.not_after,
        server_held=row.encrypted_key_pem is not None,
        locked=row.pin_failures >= certificates.MAX_PIN_FAILURES,
        active=row.active,
        pem_url=f"/api/users/{row.user_id}/certificates/{row.id}.pem",
    )


async def _user_for(db: WriteDB | ReadDB, user_id: int, principal: Principal) -> User:
    if principal.is_point or (principal.id != user_id and Role.ADMIN not in principal.roles):
        raise Problem(403, "forbidden", "an admin, or the user themselves")
    user = await db.get(User, user_id)
    if user is None:
        raise Problem(404, "not_found", f"user {user_id} not found")
    return user


@router.get(
    "/api/users/{user_id}/certificates",
    response_model=list[CertificateOut],
    summary="A user's signing certificates (admin, or the user)",
)
async def list_certificates(
    user_id: IdPath, principal: CurrentPrincipal, db: ReadDB
) -> list[CertificateOut]:
    await _user_for(db, user_id, principal)
    rows = await db.scalars(
        select(SigningCertificate)
        .where(SigningCertificate.user_id == user_id)
        .order_by(SigningCertificate.id)
    )
    return [_cert_out(r) for r in rows]


@router.post(
    "/api/users/{user_id}/certificates",
    response_model=CertificateOut,
    status_code=201,
    summary="Register a certificate whose key stays with the leader (admin)",
)
async def import_certificate(
    user_id: IdPath, body: CertificateImport, admin: Admin, db: WriteDB, trust: AppTrust
) -> CertificateOut:
    user = await _user_for(db, user_id, admin)
    row = await certificates.import_certificate(
        db, admin, user, body.certificate_pem, await trust.trust(db)
    )
    await db.commit()
    return _cert_out(row)


@router.post(
    "/api/users/{user_id}/certificates/issue",
    response_model=CertificateOut,
    status_code=201,
    summary="Issue a certificate from the built-in demo CA; the server keeps the key under "
    "the signing PIN (the user themselves, or an admin)",
)
async def issue_certificate(
    user_id: IdPath, body: CertificateIssue, principal: CurrentPrincipal, db: WriteDB,
    trust: AppTrust,
) -> CertificateOut:  # fmt: skip
    user = await _user_for(db, user_id, principal)
    await certificates.check_self_service(db, principal, user, body.password)
    row = await certificates.issue_with_pin(db, principal, user, body.pin, body.key_kind, trust)
    await db.commit()
    return _cert_out(row)


class PublicKeyRequest(Strict):
    public_key: str = Field(min_length=40, max_length=2000, description="base64 DER SPKI")
    password: str | None = Field(None, max_length=1024, description="yours, when for yourself")


@router.post(
    "/api/users/{user_id}/certificates/request",
    response_model=CertificateOut,
    status_code=201,
    summary="A certificate from the built-in demo CA for a public key whose private key "
    "stays with the user (e.g. a browser's WebCrypto key); the user themselves, or an admin",
)
async def request_certificate(
    user_id: IdPath, body: PublicKeyRequest, principal: CurrentPrincipal, db: WriteDB,
    trust: AppTrust,
) -> CertificateOut:  # fmt: skip
    user = await _user_for(db, user_id, principal)
    await certificates.check_self_service(db, principal, user, body.password)
    try:
        spki = base64.b64decode(body.public_key, validate=True)
    except ValueError as exc:
        raise field_error("public_key", "not base64") from exc
    row = await certificates.issue_for_public_key(db, principal, user, spki, trust)
    await db.commit()
    return _cert_out(row)


@router.get(
    "/api/users/{user_id}/certificates/{certificate_id}.pem",
    response_class=Response,
    summary="A signing certificate (PEM)",
)
async def certificate_pem(
    user_id: IdPath, certificate_id: IdPath, principal: CurrentPrincipal, db: ReadDB
) -> Response:
    await _user_for(db, user_id, principal)
    row = await db.get(SigningCertificate, certificate_id)
    if row is None or row.user_id != user_id:
        raise Problem(404, "not_found", f"certificate {certificate_id} not found")
    return Response(row.certificate_pem, media_type="application/x-pem-file")


@router.get("/api/trust-anchors", response_model=list[AnchorOut], summary="Trusted CAs (admin)")
async def list_anchors(_: Admin, db: ReadDB) -> list[AnchorOut]:
    rows = await db.scalars(select(TrustAnchor).order_by(TrustAnchor.id))
    return [
        AnchorOut(id=r.id, subject=r.subject, fingerprint=r.fingerprint, root=r.root) for r in rows
    ]


@router.post(
    "/api/trust-anchors",
    response_model=AnchorOut,
    status_code=201,
    summary="Trust a CA certificate (the government chain): a root, or an intermediate",
)
async def add_anchor(body: CertificateImport, admin: Admin, db: WriteDB) -> AnchorOut:
    cert = certificates.parse_pem(body.certificate_pem)
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise Problem(422, "certificate_unsuitable", "not a CA certificate")
    print_ = certificates.fingerprint(cert)
    if await db.scalar(select(TrustAnchor.id).where(TrustAnchor.fingerprint == print_)):
        raise Problem(409, "certificate_exists", "this CA is already trusted")
    row = TrustAnchor(
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        subject=cert.subject.rfc4514_string()[:500],
        fingerprint=print_,
        root=cert.subject == cert.issuer,
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db, admin, "trust.add", "trust_anchor", row.id, after={"subject": row.subject}
    )
    await db.commit()
    return AnchorOut(id=row.id, subject=row.subject, fingerprint=row.fingerprint, root=row.root)


# The built-in CA's public parts: its root (to install in viewers), its CRL, its TSA.


@router.get("/api/ca/root.pem", response_class=Response, summary="The built-in CA's root")
async def ca_root(trust: AppTrust) -> Response:
    ca = trust.ca()
    if ca is None:
        raise Problem(404, "no_ca", "the built-in CA is not set up")
    pem = ca.root.public_bytes(serialization.Encoding.PEM)
    return Response(pem, media_type="application/x-pem-file")


@router.get("/api/ca/crl", response_class=Response, summary="The built-in CA's CRL (DER)")
async def ca_crl(trust: AppTrust) -> Response:
    ca = trust.ca()
    if ca is None:
        raise Problem(404, "no_ca", "the built-in CA is not set up")
    return Response(
        trust.crl(ca).public_bytes(serialization.Encoding.DER), media_type="application/pkix-crl"
    )


@router.post(
    "/api/ca/tsa",
    response_class=Response,
    summary="RFC 3161 timestamps from the built-in CA (demo) for a signed-in person's "
    "signing tools: application/timestamp-query; a few a second per person",
)
async def ca_tsa(request: Request, principal: UserPrincipal, trust: AppTrust) -> Response:
    stamper = trust.timestamper() if not trust.settings.tsa_url else None
    if stamper is None:
        raise Problem(404, "no_ca", "the built-in timestamp service is not available")
    if not trust.may_timestamp(principal.id):
        raise Problem(
            429,
            "too_many_requests",
            "too many timestamps; wait a moment",
            headers={"Retry-After": "1"},
        )
    body = await request.body()
    try:
        query = tsp.TimeStampReq.load(body)
        _ = query.native  # parse fully: refuse junk here, not deep in the signer
    except Exception as exc:
        raise Problem(400, "bad_request", "not an RFC 3161 timestamp request") from exc
    answer = stamper.request_tsa_response(query)  # type: ignore[attr-defined]
    return Response(answer.dump(), media_type="application/timestamp-reply")
