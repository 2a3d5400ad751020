"""HTTP API of written opinions: send a request, attach documents, answer, follow the
answers, change the deadline, close, export, and the reminders a messaging gateway sends."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, Response

from agenda.opinion_report import render_opinion_report
from server.auth import CurrentPrincipal
from server.db import utcnow
from server.deps import AppDatabase, AppSettings, ReadDB, WriteDB
from server.documents.copies import release
from server.documents.routes import (
    PDF,
    AppPaper,
    form_fields,
    pdf_file,
    pdf_form,
    pdf_form_schema,
)
from server.documents.service import receive_pdf
from server.metrics import DOCUMENT_DOWNLOADS
from server.opinions import export, rules, service
from server.opinions.schemas import (
    AnswerIn,
    DeadlineChange,
    DocumentFields,
    OpinionCreate,
    OpinionDocumentOut,
    OpinionList,
    OpinionOut,
    RecipientOut,
    ReminderList,
    RemindersRecorded,
    RemindersSent,
)
from server.problems import not_found
from server.validation import IdPath, IdQuery, Limit

router = APIRouter(prefix="/api/opinions", tags=["written opinions"])

UPLOAD_PATHS = (r"/api/opinions/\d+/documents",)
PDF_FORM = pdf_form_schema(title={"type": "string", "maxLength": 300})
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


async def _out(db: ReadDB | WriteDB, request_id: int, principal: CurrentPrincipal) -> OpinionOut:
    request, mine = await service.get_request(db, request_id, principal)
    return await service.request_out(db, principal, request, mine, utcnow())


@router.get("", response_model=OpinionList, summary="Requests I manage or must answer")
async def list_requests(
    principal: CurrentPrincipal,
    db: ReadDB,
    settings: AppSettings,
    phase: Annotated[rules.Phase | None, Query()] = None,
    limit: Limit = 200,
) -> OpinionList:
    items = await service.summaries(
        db, principal, utcnow(), settings.reminder_lead_hours, phase, limit
    )
    return OpinionList(items=items)


@router.post(
    "",
    response_model=OpinionOut,
    status_code=201,
    summary="Send a question to points and people, with a deadline (secretary, chair)",
)
async def create_request(
    body: OpinionCreate, principal: CurrentPrincipal, db: WriteDB
) -> OpinionOut:
    request = await service.create(db, principal, body, utcnow())
    await db.commit()
    return await _out(db, request.id, principal)


@router.get(
    "/reminders",
    response_model=ReminderList,
    summary="Reminders due now: unanswered recipients near the deadline (for a messaging "
    "gateway; secretary, chair, admin)",
)
async def reminders(
    principal: CurrentPrincipal,
    db: ReadDB,
    settings: AppSettings,
    request_id: IdQuery = None,
) -> ReminderList:
    service.require_manager(principal)
    items = await service.reminders_due(db, utcnow(), settings.reminder_lead_hours, request_id)
    return ReminderList(items=items)


@router.post(
    "/reminders/sent",
    response_model=RemindersRecorded,
    summary="Record the reminders a gateway has sent (they are not listed as due again)",
)
async def reminders_sent(
    body: RemindersSent, principal: CurrentPrincipal, db: WriteDB
) -> RemindersRecorded:
    recorded, already = await service.record_reminders(
        db, principal, body.items, body.via, utcnow()
    )
    await db.commit()
    return RemindersRecorded(recorded=recorded, already=already)


@router.get("/{request_id}", response_model=OpinionOut, summary="A request, and my answer")
async def get_request(
    request_id: IdPath, principal: CurrentPrincipal, db: ReadDB, database: AppDatabase
) -> OpinionOut:
    request, mine = await service.get_request(db, request_id, principal)
    if any(r.first_seen_at is None for r in mine):
        # A short write of its own: viewing must not hold SQLite's single writer.
        async with database.writer() as writer:
            _, fresh = await service.get_request(writer, request_id, principal)
            await service.mark_seen(writer, fresh, utcnow())
            await writer.commit()
        await release(db)  # a new read transaction sees the write
        request, mine = await service.get_request(db, request_id, principal)
    return await service.request_out(db, principal, request, mine, utcnow())


@router.put(
    "/{request_id}/answer",
    response_model=RecipientOut,
    summary="Answer (option and comment), or change my answer until the deadline",
)
async def answer(
    request_id: IdPath, body: AnswerIn, principal: CurrentPrincipal, db: WriteDB
) -> RecipientOut:
    request, mine = await service.get_request(db, request_id, principal, for_update=True)
    recipient = await service.answer(db, principal, request, mine, body, utcnow())
    await db.commit()
    reminders = await service.reminders_sent(db, [recipient.id])
    return service.recipient_out(recipient, request.options, reminders[recipient.id])


@router.patch(
    "/{request_id}",
    response_model=OpinionOut,
    summary="Change the deadline (extend, or reopen a request whose deadline passed)",
)
async def change_deadline(
    request_id: IdPath, body: DeadlineChange, principal: CurrentPrincipal, db: WriteDB
) -> OpinionOut:
    request, _ = await service.get_request(db, request_id, principal, for_update=True)
    await service.change_deadline(db, principal, request, body.deadline, utcnow())
    await db.commit()
    return await _out(db, request_id, principal)


@router.post(
    "/{request_id}/send",
    response_model=OpinionOut,
    summary="Send a draft to its recipients (after its documents are attached)",
)
async def send(request_id: IdPath, principal: CurrentPrincipal, db: WriteDB) -> OpinionOut:
    request, _ = await service.get_request(db, request_id, principal, for_update=True)
    await service.send(db, principal, request, utcnow())
    await db.commit()
    return await _out(db, request_id, principal)


@router.post("/{request_id}/close", response_model=OpinionOut, summary="Close before the deadline")
async def close(request_id: IdPath, principal: CurrentPrincipal, db: WriteDB) -> OpinionOut:
    request, _ = await service.get_request(db, request_id, principal, for_update=True)
    await service.close(db, principal, request, utcnow())
    await db.commit()
    return await _out(db, request_id, principal)


@router.post(
    "/{request_id}/documents",
    response_model=OpinionDocumentOut,
    status_code=201,
    openapi_extra=PDF_FORM,
    summary="Attach a PDF (multipart 'file', optional 'title'); checked like agenda documents",
)
async def add_document(
    request_id: IdPath, request: Request, principal: CurrentPrincipal, db: WriteDB, paper: AppPaper
) -> OpinionDocumentOut:
    found, _ = await service.get_request(db, request_id, principal)
    service.require_manager(principal)
    service.require_open(found, utcnow(), "add a document")
    await db.rollback()  # no transaction (nor SQLite's write lock) held while the file arrives
    upload, form = await pdf_form(request)
    try:
        title = form_fields(form, DocumentFields).title
        received = await receive_pdf(paper, upload)
    finally:
        await form.close()
    found, _ = await service.get_request(db, request_id, principal, for_update=True)
    document = await service.add_document(
        db,
        principal,
        found,
        title=title or received.facts.title or Path(received.filename).stem,
        filename=received.filename,
        sha256=received.stored.digest,
        size=received.stored.size,
        pages=received.facts.pages,
        now=utcnow(),
    )
    await db.commit()
    return service.document_out(document)


@router.get(
    "/{request_id}/documents/{document_id}",
    response_class=FileResponse,
    responses=PDF,
    summary="A document sent with the request (ETag and Range supported)",
)
async def download_document(
    request_id: IdPath,
    document_id: IdPath,
    request: Request,
    principal: CurrentPrincipal,
    db: ReadDB,
    paper: AppPaper,
) -> Response:
    await service.get_request(db, request_id, principal)
    document = next(
        (d for d in await service.documents_of(db, request_id) if d.id == document_id), None
    )
    if document is None:
        raise not_found(f"document {document_id}")
    DOCUMENT_DOWNLOADS.labels("opinion").inc()
    return pdf_file(paper.blobs.path(document.sha256), document.sha256, document.filename, request)


@router.get(
    "/{request_id}/export.csv",
    response_class=Response,
    responses=CSV,
    summary="Every recipient's answer as CSV (UTF-8, opens in Excel)",
)
async def export_csv(
    request_id: IdPath, principal: CurrentPrincipal, db: ReadDB, settings: AppSettings
) -> Response:
    request, _ = await service.get_request(db, request_id, principal)
    service.require_manager(principal)
    recipients = await service.recipients_of(db, request_id)
    return Response(
        export.as_csv(request, recipients, settings.timezone),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="y-kien-{request_id}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/{request_id}/export.pdf",
    response_class=Response,
    responses=PDF,
    summary="The printable report: counts, every answer and comment, who has not answered",
)
async def export_pdf(
    request_id: IdPath,
    principal: CurrentPrincipal,
    db: ReadDB,
    settings: AppSettings,
    paper: AppPaper,
) -> Response:
    request, _ = await service.get_request(db, request_id, principal)
    service.require_manager(principal)
    recipients = await service.recipients_of(db, request_id)
    report = export.as_report(request, recipients, settings.timezone, utcnow())
    await release(db)  # no connection held while the report is drawn
    data = await paper.run(render_opinion_report, report)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="y-kien-{request_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )
