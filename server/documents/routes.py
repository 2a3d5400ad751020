"""HTTP API of agenda documents: upload, versions, order, readers, page images, the
recipient's watermarked copy, the agenda pack, search, receipts, tracing a leaked copy."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile
from starlette.responses import FileResponse, Response

from agenda.models import Document, DocumentVersion, Scope
from agenda.watermark import copy_identifier
from server.auth import CurrentPrincipal, require_roles
from server.deps import AppDatabase, ReadDB, WriteDB
from server.documents import copies, receipts, service
from server.documents.paper import Paper, not_modified
from server.documents.schemas import (
    AccessUpdate,
    DocumentOrder,
    DocumentOut,
    DocumentUpdate,
    ReaderRef,
    ReceiptMatrix,
    SearchHit,
    TraceOut,
)
from server.identity import Principal, Role
from server.meetings import service as meetings
from server.metrics import DOCUMENT_DOWNLOADS
from server.problems import Problem, field_error
from server.validation import IdPath

router = APIRouter(tags=["documents"])
M = TypeVar("M", bound=BaseModel)

# Upload routes take bodies up to HOINGHI_MAX_UPLOAD_MB (BodySizeLimit in server/app.py).
UPLOAD_PATHS = (
    r"/api/meetings/\d+/documents",
    r"/api/documents/\d+/versions",
    r"/api/documents/trace",
)


def pdf_form_schema(**fields: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI description of a multipart PDF upload ('file' and these fields)."""
    properties = {"file": {"type": "string", "format": "binary"}, **fields}
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": schema}},
        }
    }


PDF_FORM = pdf_form_schema(
    title={"type": "string", "maxLength": 300},
    agenda_item_id={"type": "integer"},
    scope={"type": "string", "enum": [s.value for s in Scope]},
)
PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}
Tracer = Annotated[Principal, Depends(require_roles(Role.SECRETARY, Role.ADMIN))]


def get_paper(request: Request) -> Paper:
    paper: Paper = request.app.state.paper
    return paper


AppPaper = Annotated[Paper, Depends(get_paper)]


async def pdf_form(request: Request) -> tuple[UploadFile, FormData]:
    """The uploaded file and the other fields; read only after the caller was admitted."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem(415, "unsupported_media_type", "send the PDF as multipart/form-data")
    form = await request.form(max_files=1, max_fields=10, max_part_size=64 * 1024)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        await form.close()
        raise field_error("file", "attach the PDF as the form field 'file'")
    return upload, form


def form_fields(form: FormData, model: type[M]) -> M:
    """The form's text fields beside the file, checked by ``model`` (422 naming a field)."""
    raw = {k: v for k, v in form.items() if k != "file" and isinstance(v, str) and v != ""}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise field_error(str(problem["loc"][0]), problem["msg"]) from exc


def _fields(form: FormData) -> dict[str, Any]:
    return form_fields(form, DocumentUpdate).model_dump(exclude_unset=True)


async def _out(db: ReadDB | WriteDB, document_id: int, principal: Principal) -> DocumentOut:
    _, document, reader, named = await service.meeting_of_document(db, document_id, principal)
    versions = (await service.versions_of(db, [document.id]))[document.id]
    return await service.document_out(db, document, versions, reader.organizer, named)


@router.post(
    "/api/meetings/{meeting_id}/documents",
    response_model=DocumentOut,
    status_code=201,
    openapi_extra=PDF_FORM,
    summary="Upload a document (PDF, multipart 'file'; optional title, agenda_item_id, scope)",
)
async def upload_document(
    meeting_id: IdPath, request: Request, principal: CurrentPrincipal, db: WriteDB, paper: AppPaper
) -> DocumentOut:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    service.require_editor(meeting, principal)
    await db.rollback()  # no transaction (nor SQLite's write lock) held while the file arrives
    upload, form = await pdf_form(request)
    try:
        fields = _fields(form)
        # Before the file is kept: a refusal after it would leave a blob with no document.
        await service.check_item(db, meeting_id, fields.get("agenda_item_id"))
        await db.rollback()
        received = await service.receive_pdf(paper, upload)
    finally:
        await form.close()
    meeting = await meetings.get_meeting(db, meeting_id, principal, for_update=True)
    document = await service.create_document(db, principal, meeting, received, fields)
    await db.commit()
    return await _out(db, document.id, principal)


@router.post(
    "/api/documents/{document_id}/versions",
    response_model=DocumentOut,
    status_code=201,
    openapi_extra=PDF_FORM,
    summary="Upload a new version of a document (earlier versions are kept)",
)
async def upload_version(
    document_id: IdPath,
    request: Request,
    principal: CurrentPrincipal,
    db: WriteDB,
    paper: AppPaper,
) -> DocumentOut:
    meeting, document, _, _ = await service.meeting_of_document(db, document_id, principal)
    service.require_editor(meeting, principal)
    await db.rollback()
    upload, form = await pdf_form(request)
    try:
        received = await service.receive_pdf(paper, upload)
    finally:
        await form.close()
    meeting, document, _, _ = await service.meeting_of_document(db, document_id, principal)
    service.require_editor(meeting, principal)
    # Two versions uploaded at once are numbered one after the other, not both n + 1.
    await db.execute(select(Document.id).where(Document.id == document.id).with_for_update())
    await service.add_version(db, principal, document, received)
    await db.commit()
    return await _out(db, document.id, principal)


@router.get(
    "/api/meetings/{meeting_id}/documents",
    response_model=list[DocumentOut],
    summary="The meeting's documents the caller may read, in agenda order",
)
async def list_documents(
    meeting_id: IdPath, principal: CurrentPrincipal, db: ReadDB
) -> list[DocumentOut]:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    shown = await service.readable(db, meeting, principal)
    return [
        await service.document_out(
            db, d, shown.versions[d.id], shown.reader.organizer, shown.named[d.id]
        )
        for d in shown.documents
    ]


@router.post(
    "/api/meetings/{meeting_id}/documents/order",
    response_model=list[DocumentOut],
    summary="Order the documents (positions count within each agenda item)",
)
async def order_documents(
    meeting_id: IdPath, body: DocumentOrder, principal: CurrentPrincipal, db: WriteDB
) -> list[DocumentOut]:
    meeting = await meetings.get_meeting(db, meeting_id, principal, for_update=True)
    await service.reorder(db, principal, meeting, body.document_ids)
    await db.commit()
    return await list_documents(meeting_id, principal, db)


@router.get("/api/documents/{document_id}", response_model=DocumentOut, summary="One document")
async def get_document(document_id: IdPath, principal: CurrentPrincipal, db: ReadDB) -> DocumentOut:
    return await _out(db, document_id, principal)


@router.patch(
    "/api/documents/{document_id}",
    response_model=DocumentOut,
    summary="Change title, agenda item or scope",
)
async def update_document(
    document_id: IdPath, body: DocumentUpdate, principal: CurrentPrincipal, db: WriteDB
) -> DocumentOut:
    meeting, document, _, _ = await service.meeting_of_document(db, document_id, principal)
    await service.update_document(
        db, principal, meeting, document, body.model_dump(exclude_unset=True)
    )
    await db.commit()
    return await _out(db, document_id, principal)


@router.put(
    "/api/documents/{document_id}/readers",
    response_model=DocumentOut,
    summary="The points and people named on the document (read when its scope is 'named')",
)
async def set_readers(
    document_id: IdPath, body: AccessUpdate, principal: CurrentPrincipal, db: WriteDB
) -> DocumentOut:
    meeting, document, _, _ = await service.meeting_of_document(db, document_id, principal)
    await service.set_readers(db, principal, meeting, document, body.point_ids, body.user_ids)
    await db.commit()
    return await _out(db, document_id, principal)


@router.get(
    "/api/documents/{document_id}/versions/{number}/pages/{page}.webp",
    response_class=FileResponse,
    responses={200: {"content": {"image/webp": {}}}},
    summary="A page as an image (WebP), width in pixels (rounded up to a step of 160)",
)
async def page_image(
    document_id: IdPath,
    number: IdPath,
    page: IdPath,
    request: Request,
    principal: CurrentPrincipal,
    db: ReadDB,
    database: AppDatabase,
    paper: AppPaper,
    width: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Response:
    _, document, reader, _ = await service.meeting_of_document(db, document_id, principal)
    version = await service.version_of(db, document, number)
    if page > version.pages:
        raise Problem(404, "not_found", f"version {number} has {version.pages} pages")
    await copies.release(db)
    recipient = receipts.recipient_of(principal)
    if not reader.organizer and paper.receipt_due(recipient, f"page:{version.id}"):
        async with database.writer() as writer:
            await receipts.record(writer, principal, [version.id], "page")
            await writer.commit()
    path, etag = await paper.page_image(version.sha256, page, width)
    if cached := not_modified(request, etag):
        return cached
    # The URL names the version: its image never changes.
    headers = {"ETag": etag, "Cache-Control": "private, max-age=604800, immutable"}
    return FileResponse(path, media_type="image/webp", headers=headers)


class CopyResponse(FileResponse):
    """A copy is tens of megabytes: sent in 1 MiB reads, a sixteenth of the awaits and
    system calls of Starlette's 64 KiB."""

    chunk_size = 1024 * 1024


def pdf_file(path: Any, sha256: str, filename: str, request: Request) -> Response:
    """A stored PDF by its digest: ETag, 304, Range, 1 MiB reads."""
    etag = f'"{sha256}"'
    if cached := not_modified(request, etag):
        return cached
    return CopyResponse(
        path,
        media_type="application/pdf",
        filename=filename,
        headers={"ETag": etag, "Cache-Control": "private, no-cache"},
    )


@router.get(
    "/api/documents/{document_id}/download",
    response_class=FileResponse,
    responses=PDF,
    summary="The caller's own watermarked copy (Range and ETag supported)",
)
async def download(
    document_id: IdPath,
    request: Request,
    principal: CurrentPrincipal,
    db: ReadDB,
    database: AppDatabase,
    paper: AppPaper,
    version: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> Response:
    meeting, document, _, _ = await service.meeting_of_document(db, document_id, principal)
    found = await service.version_of(db, document, version)
    issued, path = await copies.document_copy(db, database, paper, principal, meeting, found)
    await copies.release(db)
    recipient = receipts.recipient_of(principal)
    # A resumed download (Range) is not a new receipt, nor a repeat within a minute.
    if not request.headers.get("range") and paper.receipt_due(recipient, f"copy:{found.id}"):
        async with database.writer() as writer:
            await receipts.record(writer, principal, [found.id], "download")
            await writer.commit()
    name = f"tai-lieu-{document.id}-v{found.number}.pdf"
    DOCUMENT_DOWNLOADS.labels("copy").inc()
    return pdf_file(path, issued.sha256, name, request)


@router.get(
    "/api/meetings/{meeting_id}/pack.pdf",
    response_class=FileResponse,
    responses=PDF,
    summary="Every document the caller may read, in agenda order, after a cover page "
    "(watermarked for the caller)",
)
async def pack(
    meeting_id: IdPath,
    request: Request,
    principal: CurrentPrincipal,
    db: ReadDB,
    database: AppDatabase,
    paper: AppPaper,
) -> Response:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    shown = await service.readable(db, meeting, principal)
    issued, path = await copies.pack_copy(db, database, paper, principal, shown)
    await copies.release(db)
    recipient = receipts.recipient_of(principal)
    if not request.headers.get("range") and paper.receipt_due(recipient, f"pack:{issued.id}"):
        async with database.writer() as writer:
            version_ids = [shown.current(d).id for d in shown.documents]
            await receipts.record(writer, principal, version_ids, "pack")
            await writer.commit()
    DOCUMENT_DOWNLOADS.labels("pack").inc()
    return pdf_file(path, issued.sha256, f"tai-lieu-hop-{meeting_id}.pdf", request)


@router.get(
    "/api/meetings/{meeting_id}/search",
    response_model=list[SearchHit],
    summary="Pages of the meeting's documents containing the words (with or without diacritics)",
)
async def search(
    meeting_id: IdPath,
    principal: CurrentPrincipal,
    db: ReadDB,
    q: Annotated[str, Query(min_length=1, max_length=200)],
) -> list[SearchHit]:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    shown = await service.readable(db, meeting, principal)
    return await service.search(db, shown, q)


@router.get(
    "/api/meetings/{meeting_id}/receipts",
    response_model=ReceiptMatrix,
    summary="Who has which version of each document (organizers)",
)
async def receipt_matrix(
    meeting_id: IdPath, principal: CurrentPrincipal, db: ReadDB
) -> ReceiptMatrix:
    meeting = await meetings.get_meeting(db, meeting_id, principal)
    meetings.require_organizer(meeting, principal)
    shown = await service.readable(db, meeting, principal)
    return await receipts.matrix(db, shown)


@router.post(
    "/api/documents/trace",
    response_model=TraceOut,
    openapi_extra=PDF_FORM,
    summary="Whom a copy was issued to: upload the copy (secretaries, admins)",
)
async def trace(request: Request, principal: Tracer, db: ReadDB, paper: AppPaper) -> TraceOut:
    upload, form = await pdf_form(request)
    try:
        async with service.staged_pdf(paper, upload) as (staged, _):
            identifier = await paper.run(copy_identifier, staged.path)
    finally:
        await form.close()
    issued = await copies.trace(db, identifier) if identifier else None
    if issued is None:
        raise Problem(404, "not_a_copy", "this file is not a copy issued by hoinghi")
    meeting = await meetings.get_meeting(db, issued.meeting_id, principal)
    meetings.require_organizer(meeting, principal)
    kind, who = ("point", issued.point_id) if issued.point_id else ("user", issued.user_id)
    names = await service.reader_refs(db, {(kind, who or 0)})
    version = None
    document_id = None
    if issued.version_id is not None:
        found = await db.get(DocumentVersion, issued.version_id)
        if found is not None:
            version, document_id = found.number, found.document_id
    return TraceOut(
        identifier=issued.identifier,
        meeting_id=issued.meeting_id,
        document_id=document_id,
        version=version,
        pack=issued.pack_key is not None,
        recipient=names[0] if names else ReaderRef(kind=kind, id=who or 0, name=""),
        label=issued.label,
        issued_at=issued.issued_at,
    )
