"""Watermarked copies: each recipient's own copy of a document version or of the agenda
pack, made once (in the paper-work processes) and served again from the cache; and
tracing a leaked copy back to whom it was issued."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from agenda.models import DocumentVersion, IssuedCopy
from agenda.pack import OTHER_DOCUMENTS, PackDocument, PackSection, build_pack
from agenda.watermark import issue_copy
from server.accounts.models import User
from server.db import Database, utcnow
from server.documents.paper import Paper
from server.documents.service import Readable
from server.identity import Principal
from server.meetings.models import AgendaItem, Meeting
from server.network.models import ConferencePoint, Unit
from server.problems import Problem


def local_time(paper: Paper, moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(paper.settings.timezone)).strftime("%d/%m/%Y %H:%M")


async def recipient_label(db: AsyncSession, principal: Principal) -> str:
    """ "<unit> / <point or person>", as the watermark names the recipient."""
    if principal.is_point:
        row = (
            await db.execute(
                select(ConferencePoint.name, Unit.name.label("unit"))
                .join(Unit, Unit.id == ConferencePoint.unit_id)
                .where(ConferencePoint.id == principal.id)
            )
        ).one()
    else:
        row = (
            await db.execute(
                select(User.full_name.label("name"), Unit.name.label("unit"))
                .outerjoin(Unit, Unit.id == User.unit_id)
                .where(User.id == principal.id)
            )
        ).one()
    return f"{row.unit} / {row.name}" if row.unit else row.name


def _own(principal: Principal) -> ColumnElement[bool]:
    if principal.is_point:
        return IssuedCopy.point_id == principal.id
    return IssuedCopy.user_id == principal.id


async def release(db: AsyncSession) -> None:
    """Give the read session's connection back before slow paper work: a burst of cold
    downloads each holding a pooled connection while a worker watermarks would empty the
    pool and stall every request that needs the database (rows already loaded are kept)."""
    db.expunge_all()
    await db.rollback()


def copy_path(paper: Paper, identifier: str) -> Path:
    return paper.blobs.derived_path("copies", f"{identifier}.pdf")


async def _issue(
    db: AsyncSession,
    database: Database,
    paper: Paper,
    principal: Principal,
    meeting: Meeting,
    source: Path,
    existing: IssuedCopy | None,
    **key: object,
) -> tuple[IssuedCopy, Path]:
    """The recipient's copy: the cached one, or a new one made now. The watermarking runs
    outside any write transaction (it takes a while); only its record is written."""
    if existing is not None and copy_path(paper, existing.identifier).is_file():
        return existing, copy_path(paper, existing.identifier)
    if existing is None:
        issued_at = utcnow()
        label = f"{await recipient_label(db, principal)} — {local_time(paper, issued_at)}"
        existing = IssuedCopy(
            identifier=secrets.token_hex(8),
            meeting_id=meeting.id,
            point_id=principal.id if principal.is_point else None,
            user_id=principal.id if principal.is_user else None,
            label=label[:400],
            issued_at=issued_at,
            **key,
        )
    await release(db)
    temp = paper.blobs.temp_path(".pdf")
    try:
        digest, size = await paper.run(
            issue_copy, str(source), str(temp), existing.label, existing.identifier
        )
        target = paper.blobs.put_derived_file(temp, "copies", f"{existing.identifier}.pdf")
    finally:
        temp.unlink(missing_ok=True)
    existing.sha256, existing.bytes = digest, size
    async with database.writer() as writer:
        existing = await writer.merge(existing)
        await writer.commit()
    return existing, target


async def document_copy(
    db: AsyncSession,
    database: Database,
    paper: Paper,
    principal: Principal,
    meeting: Meeting,
    version: DocumentVersion,
) -> tuple[IssuedCopy, Path]:
    recipient = f"{principal.kind.value}-{principal.id}"
    async with paper.making(f"v{version.id}-{recipient}"):
        existing = await db.scalar(
            select(IssuedCopy)
            .where(IssuedCopy.version_id == version.id, _own(principal))
            .order_by(IssuedCopy.id.desc())
            .limit(1)
        )
        return await _issue(
            db, database, paper, principal, meeting, paper.blobs.path(version.sha256), existing,
            version_id=version.id,
        )  # fmt: skip


async def pack_sections(db: AsyncSession, paper: Paper, shown: Readable) -> list[PackSection]:
    items = await db.scalars(
        select(AgendaItem)
        .where(AgendaItem.meeting_id == shown.meeting.id)
        .order_by(AgendaItem.position, AgendaItem.id)
    )
    sections = {item.id: PackSection(item.position, item.title) for item in items}
    other = PackSection(None, OTHER_DOCUMENTS)
    for document in shown.documents:
        version = shown.current(document)
        section = sections.get(document.agenda_item_id or 0, other)
        section.documents.append(
            PackDocument(document.title, paper.blobs.path(version.sha256), version.pages)
        )
    ordered = list(sections.values())
    return [*ordered, other] if other.documents else ordered


def _pack_key(title: str, when: str, sections: list[PackSection]) -> str:
    content = [
        title,
        when,
        [[s.heading, [[d.title, d.path.name, d.pages] for d in s.documents]] for s in sections],
    ]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


async def pack_copy(
    db: AsyncSession, database: Database, paper: Paper, principal: Principal, shown: Readable
) -> tuple[IssuedCopy, Path]:
    meeting = shown.meeting
    if not shown.documents:
        raise Problem(404, "no_documents", "the meeting has no documents for you yet")
    sections = await pack_sections(db, paper, shown)
    when = local_time(paper, meeting.starts_at)
    key = _pack_key(meeting.title, when, sections)
    base = paper.blobs.derived_path("packs", f"{key}.pdf")
    async with paper.making(f"pack-{key}"):
        if not base.is_file():
            await release(db)
            temp = paper.blobs.temp_path(".pdf")
            try:
                await paper.run(build_pack, meeting.title, when, sections, temp)
                paper.blobs.put_derived_file(temp, "packs", f"{key}.pdf")
            finally:
                temp.unlink(missing_ok=True)
    recipient = f"{principal.kind.value}-{principal.id}"
    async with paper.making(f"pack-{key}-{recipient}"):
        existing = await db.scalar(
            select(IssuedCopy)
            .where(IssuedCopy.pack_key == key, _own(principal))
            .order_by(IssuedCopy.id.desc())
            .limit(1)
        )
        return await _issue(db, database, paper, principal, meeting, base, existing, pack_key=key)


async def trace(db: AsyncSession, identifier: str) -> IssuedCopy | None:
    return await db.scalar(select(IssuedCopy).where(IssuedCopy.identifier == identifier))
