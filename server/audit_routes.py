"""HTTP API of the audit trail (admin; a secretary for the meetings they organize)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from server.audit import AuditEntry, verify_chain
from server.auth import AdminPrincipal, require_roles
from server.db import count_rows
from server.deps import ReadDB
from server.identity import Principal, Role
from server.meetings.access import is_organizer
from server.meetings.service import get_meeting
from server.problems import Problem
from server.validation import IdQuery, Limit, Offset

router = APIRouter(prefix="/api/audit", tags=["audit"])

AuditReader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SECRETARY))]


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor_kind: str
    actor_id: int | None
    actor_name: str
    action: str
    entity: str
    entity_id: int | None
    meeting_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    total: int


class ChainCheck(BaseModel):
    intact: bool
    first_broken_id: int | None


@router.get("", response_model=AuditPage, summary="Audit entries, newest first")
async def list_entries(
    principal: AuditReader,
    db: ReadDB,
    meeting: Annotated[IdQuery, Query(description="only this meeting's entries")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AuditPage:
    if Role.ADMIN not in principal.roles:
        if meeting is None:
            raise Problem(403, "forbidden", "a secretary reads the audit of one meeting: meeting=")
        if not is_organizer(await get_meeting(db, meeting, principal), principal):
            raise Problem(403, "forbidden", "only the audit of meetings you organize")
    query = select(AuditEntry)
    if meeting is not None:
        query = query.where(AuditEntry.meeting_id == meeting)
    total = await count_rows(db, query)
    rows = await db.execute(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    items = [AuditEntryOut.model_validate(e, from_attributes=True) for e in rows.scalars()]
    return AuditPage(items=items, total=total)


@router.get("/verify", response_model=ChainCheck, summary="Check the hash chain (admin)")
async def verify(_: AdminPrincipal, db: ReadDB) -> ChainCheck:
    broken = await verify_chain(db)
    return ChainCheck(intact=broken is None, first_broken_id=broken)
