"""Documents of a meeting: adding them and their versions, what each reader sees, order,
named readers, and search in their pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from agenda.blobs import Staged, Stored, TooLarge
from agenda.models import Document, DocumentAccess, DocumentPage, DocumentVersion, Scope
from agenda.pdfcheck import PdfFacts, PdfRefused, inspect_pdf
from server import audit
from server.accounts.models import User
from server.documents.access import Reader, named_readers, reader_of
from server.documents.paper import Paper
from server.documents.schemas import DocumentOut, ReaderRef, SearchHit, VersionOut
from server.identity import Principal
from server.meetings import service as meetings
from server.meetings.lifecycle import OPEN_STATUSES
from server.meetings.models import AgendaItem, Classification, Meeting
from server.network.models import ConferencePoint
from server.problems import Problem, field_error, not_found
from server.textfold import fold


@dataclass(frozen=True)
class Upload:
    """A PDF received, checked and stored in the blob store."""

    stored: Stored
    filename: str
    facts: PdfFacts


@asynccontextmanager
async def staged_pdf(paper: Paper, upload: UploadFile) -> AsyncIterator[tuple[Staged, PdfFacts]]:
    """An uploaded file in the store's staging area, if it is a PDF we accept (else 4xx).
    Nothing is kept unless the caller commits the staged file."""
    with paper.blobs.staging(limit=paper.max_upload_bytes) as staged:
        try:
            await anyio.to_thread.run_sync(staged.copy_from, upload.file)
        except TooLarge as exc:
            raise Problem(
                413, "too_large", f"the file is larger than {paper.settings.max_upload_mb} MB"
            ) from exc
        await anyio.to_thread.run_sync(staged.close)
        if staged.size == 0:
            raise Problem(422, "not_pdf", "the file is empty")
        try:
            facts = await inspect_pdf(
                staged.path,
                paper.settings.max_pdf_pages,
                seconds=paper.settings.pdf_parse_seconds,
                memory_mb=paper.settings.pdf_parse_memory_mb,
            )
        except PdfRefused as refused:
            raise Problem(refused.status, refused.code, refused.reason) from refused
        yield staged, facts


async def receive_pdf(paper: Paper, upload: UploadFile) -> Upload:
    """Store an uploaded PDF in the blob store (the same bytes are kept once)."""
    filename = Path(upload.filename or "tai-lieu.pdf").name[:255] or "tai-lieu.pdf"
    async with staged_pdf(paper, upload) as (staged, facts):
        stored = await anyio.to_thread.run_sync(staged.commit)
    return Upload(stored, filename, facts)


def require_editor(meeting: Meeting, principal: Principal) -> None:
    meetings.require_organizer(meeting, principal)
    meetings.require_status(meeting, OPEN_STATUSES, "change the meeting's documents")


async def check_item(db: AsyncSession, meeting_id: int, item_id: int | None) -> None:
    if item_id is None:
        return
    item = await db.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting_id:
        raise field_error("agenda_item_id", f"meeting {meeting_id} has no agenda item {item_id}")


async def add_version(
    db: AsyncSession, principal: Principal, document: Document, upload: Upload
) -> DocumentVersion:
    last = await db.scalar(
        select(func.max(DocumentVersion.number)).where(DocumentVersion.document_id == document.id)
    )
    version = DocumentVersion(
        document_id=document.id,
        number=(last or 0) + 1,
        sha256=upload.stored.digest,
        bytes=upload.stored.size,
        pages=upload.facts.pages,
        filename=upload.filename,
        uploaded_by_id=principal.id if principal.is_user else None,
    )
    db.add(version)
    await db.flush()
    await db.execute(
        insert(DocumentPage),
        [
            {"version_id": version.id, "number": n, "text": text, "search_key": fold(text)}
            for n, text in enumerate(upload.facts.texts, start=1)
        ],
    )
    await audit.record(
        db,
        principal,
        "document.version",
        "document",
        document.id,
        meeting_id=document.meeting_id,
        after={"version": version.number, "sha256": version.sha256, "pages": version.pages},
    )
    return version


async def create_document(
    db: AsyncSession,
    principal: Principal,
    meeting: Meeting,
    upload: Upload,
    fields: dict[str, Any],
) -> Document:
    require_editor(meeting, principal)
    item_id = fields.get("agenda_item_id")
    await check_item(db, meeting.id, item_id)
    default_scope = (
        Scope.NAMED if meeting.classification is Classification.CONFIDENTIAL else Scope.INVITED
    )
    last = await db.scalar(
        select(func.max(Document.position)).where(
            Document.meeting_id == meeting.id, _same_item(item_id)
        )
    )
    title = fields.get("title") or upload.facts.title or Path(upload.filename).stem
    document = Document(
        meeting_id=meeting.id,
        agenda_item_id=item_id,
        position=(last or 0) + 1,
        title=title[:300],
        scope=fields.get("scope") or default_scope,
        created_by_id=principal.id if principal.is_user else None,
    )
    db.add(document)
    await db.flush()
    await audit.record(
        db,
        principal,
        "document.add",
        "document",
        document.id,
        meeting_id=meeting.id,
        after={"title": document.title, "scope": document.scope.value, "agenda_item_id": item_id},
    )
    await add_version(db, principal, document, upload)
    return document


def _same_item(item_id: int | None) -> Any:
    return (
        Document.agenda_item_id.is_(None) if item_id is None else Document.agenda_item_id == item_id
    )


async def versions_of(
    db: AsyncSession, document_ids: list[int]
) -> dict[int, list[DocumentVersion]]:
    rows = await db.scalars(
        select(DocumentVersion)
        .where(DocumentVersion.document_id.in_(document_ids))
        .order_by(DocumentVersion.document_id, DocumentVersion.number)
    )
    found: dict[int, list[DocumentVersion]] = {i: [] for i in document_ids}
    for row in rows:
        found[row.document_id].append(row)
    return found


async def ordered_documents(db: AsyncSession, meeting_id: int) -> list[Document]:
    """The meeting's documents in agenda order: by item position, then unattached ones."""
    rows = await db.execute(
        select(Document, AgendaItem.position)
        .outerjoin(AgendaItem, AgendaItem.id == Document.agenda_item_id)
        .where(Document.meeting_id == meeting_id)
    )
    pairs = [(row[0], row[1]) for row in rows]
    pairs.sort(key=lambda pair: (pair[1] is None, pair[1] or 0, pair[0].position, pair[0].id))
    return [document for document, _ in pairs]


@dataclass(frozen=True)
class Readable:
    """The documents of a meeting one reader may read, with their versions."""

    meeting: Meeting
    reader: Reader
    documents: list[Document]
    versions: dict[int, list[DocumentVersion]]
    named: dict[int, set[tuple[str, int]]]

    def current(self, document: Document) -> DocumentVersion:
        return self.versions[document.id][-1]


async def readable(db: AsyncSession, meeting: Meeting, principal: Principal) -> Readable:
    reader = await reader_of(db, meeting, principal)
    documents = await ordered_documents(db, meeting.id)
    ids = [d.id for d in documents]
    named = await named_readers(db, ids)
    shown = [d for d in documents if reader.may_read(d, named[d.id])]
    versions = await versions_of(db, [d.id for d in shown])
    return Readable(meeting, reader, shown, versions, named)


async def meeting_of_document(
    db: AsyncSession, document_id: int, principal: Principal
) -> tuple[Meeting, Document, Reader, set[tuple[str, int]]]:
    """The document if the principal may read it: 404 if they may not see its meeting,
    403 if they see the meeting but the document is not theirs."""
    document = await db.get(Document, document_id)
    if document is None:
        raise not_found(f"document {document_id}")
    meeting = await meetings.get_meeting(db, document.meeting_id, principal)
    reader = await reader_of(db, meeting, principal)
    named = (await named_readers(db, [document.id]))[document.id]
    if not reader.may_read(document, named):
        raise Problem(403, "forbidden", "this document is not shared with you")
    return meeting, document, reader, named


async def version_of(db: AsyncSession, document: Document, number: int | None) -> DocumentVersion:
    query = select(DocumentVersion).where(DocumentVersion.document_id == document.id)
    if number is None:
        query = query.order_by(DocumentVersion.number.desc()).limit(1)
    else:
        query = query.where(DocumentVersion.number == number)
    version = await db.scalar(query)
    if version is None:
        raise not_found(f"version {number} of document {document.id}")
    return version


async def reader_refs(db: AsyncSession, named: set[tuple[str, int]]) -> list[ReaderRef]:
    point_ids = [i for kind, i in named if kind == "point"]
    user_ids = [i for kind, i in named if kind == "user"]
    refs: list[ReaderRef] = []
    if point_ids:
        rows = await db.execute(
            select(ConferencePoint.id, ConferencePoint.name).where(
                ConferencePoint.id.in_(point_ids)
            )
        )
        refs += [ReaderRef(kind="point", id=r.id, name=r.name) for r in rows]
    if user_ids:
        rows = await db.execute(select(User.id, User.full_name).where(User.id.in_(user_ids)))
        refs += [ReaderRef(kind="user", id=r.id, name=r.full_name) for r in rows]
    return sorted(refs, key=lambda ref: (ref.kind, ref.name))


async def document_out(
    db: AsyncSession,
    document: Document,
    versions: list[DocumentVersion],
    organizer: bool,
    named: set[tuple[str, int]],
) -> DocumentOut:
    current = versions[-1]
    return DocumentOut(
        id=document.id,
        meeting_id=document.meeting_id,
        title=document.title,
        agenda_item_id=document.agenda_item_id,
        position=document.position,
        scope=document.scope,
        current_version=current.number,
        pages=current.pages,
        versions=[
            VersionOut(
                number=v.number,
                pages=v.pages,
                bytes=v.bytes,
                sha256=v.sha256,
                filename=v.filename,
                uploaded_at=v.uploaded_at,
                uploaded_by_id=v.uploaded_by_id,
            )
            for v in versions
        ],
        readers=await reader_refs(db, named)
        if organizer and document.scope is Scope.NAMED
        else None,
        download_url=f"/api/documents/{document.id}/download?version={current.number}",
        pages_url=f"/api/documents/{document.id}/versions/{current.number}/pages/",
    )


async def update_document(
    db: AsyncSession,
    principal: Principal,
    meeting: Meeting,
    document: Document,
    changes: dict[str, Any],
) -> None:
    require_editor(meeting, principal)
    before = {
        "title": document.title,
        "scope": document.scope.value,
        "agenda_item_id": document.agenda_item_id,
    }
    if "title" in changes and not changes["title"]:
        raise field_error("title", "may not be empty")
    if "agenda_item_id" in changes and changes["agenda_item_id"] != document.agenda_item_id:
        await check_item(db, meeting.id, changes["agenda_item_id"])
        last = await db.scalar(
            select(func.max(Document.position)).where(
                Document.meeting_id == meeting.id, _same_item(changes["agenda_item_id"])
            )
        )
        document.agenda_item_id = changes["agenda_item_id"]
        document.position = (last or 0) + 1
    if changes.get("title"):
        document.title = changes["title"]
    if changes.get("scope"):
        document.scope = changes["scope"]
    await db.flush()
    after = {
        "title": document.title,
        "scope": document.scope.value,
        "agenda_item_id": document.agenda_item_id,
    }
    old, new = audit.changes(before, after)
    if new:
        await audit.record(
            db, principal, "document.update", "document", document.id,
            meeting_id=meeting.id, before=old, after=new,
        )  # fmt: skip


async def reorder(
    db: AsyncSession, principal: Principal, meeting: Meeting, document_ids: list[int]
) -> None:
    """Set the order of documents; positions count within each agenda item."""
    require_editor(meeting, principal)
    documents = {d.id: d for d in await ordered_documents(db, meeting.id)}
    if sorted(document_ids) != sorted(documents):
        raise field_error("document_ids", "list every document of the meeting exactly once")
    counters: dict[int | None, int] = {}
    for document_id in document_ids:
        document = documents[document_id]
        counters[document.agenda_item_id] = counters.get(document.agenda_item_id, 0) + 1
        document.position = counters[document.agenda_item_id]
    await db.flush()
    await audit.record(
        db, principal, "document.reorder", "meeting", meeting.id,
        meeting_id=meeting.id, after={"order": document_ids},
    )  # fmt: skip


async def set_readers(
    db: AsyncSession,
    principal: Principal,
    meeting: Meeting,
    document: Document,
    point_ids: list[int],
    user_ids: list[int],
) -> None:
    require_editor(meeting, principal)
    point_ids, user_ids = sorted(set(point_ids)), sorted(set(user_ids))
    if point_ids:
        known = set(
            await db.scalars(select(ConferencePoint.id).where(ConferencePoint.id.in_(point_ids)))
        )
        if missing := [i for i in point_ids if i not in known]:
            raise field_error("point_ids", f"no such points: {missing[:10]}")
    if user_ids:
        known = set(await db.scalars(select(User.id).where(User.id.in_(user_ids))))
        if missing := [i for i in user_ids if i not in known]:
            raise field_error("user_ids", f"no such users: {missing[:10]}")
    await db.execute(delete(DocumentAccess).where(DocumentAccess.document_id == document.id))
    rows = [{"document_id": document.id, "point_id": i, "user_id": None} for i in point_ids]
    rows += [{"document_id": document.id, "point_id": None, "user_id": i} for i in user_ids]
    if rows:
        await db.execute(insert(DocumentAccess), rows)
    await audit.record(
        db, principal, "document.readers", "document", document.id,
        meeting_id=meeting.id, after={"point_ids": point_ids, "user_ids": user_ids},
    )  # fmt: skip


SNIPPET = 80


async def search(db: AsyncSession, shown: Readable, query: str, limit: int = 50) -> list[SearchHit]:
    """Pages of the current versions the reader may read containing every word of the
    query, diacritics or not; pages that match with the diacritics as typed come first."""
    words = fold(query).split()
    current = {shown.current(d).id: d for d in shown.documents}
    if not words or not current:
        return []
    where = [DocumentPage.version_id.in_(list(current))]
    for word in words[:10]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(DocumentPage.search_key.like(f"%{escaped}%", escape="\\"))
    rows = await db.execute(
        select(DocumentPage.version_id, DocumentPage.number, DocumentPage.text)
        .where(*where)
        .order_by(DocumentPage.version_id, DocumentPage.number)
        .limit(1000)
    )
    exact = query.strip().casefold()
    hits: list[tuple[bool, SearchHit]] = []
    for version_id, number, text in rows:
        document = current[version_id]
        hits.append(
            (
                exact not in " ".join(text.casefold().split()),
                SearchHit(
                    document_id=document.id,
                    title=document.title,
                    version=shown.current(document).number,
                    page=number,
                    snippet=snippet(text, words[0]),
                ),
            )
        )
    hits.sort(key=lambda pair: pair[0])  # stable: agenda order within each group
    return [hit for _, hit in hits[:limit]]


def snippet(text: str, folded_word: str) -> str:
    """The text around the first place ``folded_word`` occurs, diacritics as written."""
    folded_chars = [fold(ch) or " " for ch in text]
    folded = "".join(c[:1] for c in folded_chars)
    at = folded.find(folded_word)
    if at < 0:
        return " ".join(text[: SNIPPET * 2].split())
    start, end = max(0, at - SNIPPET), min(len(text), at + len(folded_word) + SNIPPET)
    return (
        ("…" if start else "")
        + " ".join(text[start:end].split())
        + ("…" if end < len(text) else "")
    )
