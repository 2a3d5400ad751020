"""Distribution receipts: which version of each document every recipient has, and the
secretary's matrix of recipients x documents."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from agenda.models import Receipt, Scope
from server.accounts.models import User
from server.db import utcnow
from server.documents.schemas import (
    ReceiptCell,
    ReceiptDocument,
    ReceiptMatrix,
    ReceiptRow,
)
from server.documents.service import Readable
from server.identity import Principal
from server.meetings.models import Invitation
from server.network.models import ConferencePoint, Unit


def recipient_of(principal: Principal) -> tuple[str, int]:
    return (principal.kind.value, principal.id)


async def record(db: AsyncSession, principal: Principal, version_ids: list[int], via: str) -> None:
    """The principal has these versions (first time: recorded as ``via``); now is the last
    time they opened them. Safe against concurrent requests of the same recipient."""
    if not version_ids:
        return
    now = utcnow()
    column = "point_id" if principal.is_point else "user_id"
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Receipt).values(
        [
            {
                "version_id": v,
                column: principal.id,
                "first_at": now,
                "first_via": via,
                "last_at": now,
            }
            for v in sorted(set(version_ids))
        ]
    )
    statement = statement.on_conflict_do_update(
        index_elements=["version_id", column], set_={"last_at": statement.excluded.last_at}
    )
    await db.execute(statement)


async def matrix(db: AsyncSession, shown: Readable) -> ReceiptMatrix:
    """Invited points and people x the documents; those missing current versions first."""
    meeting_id = shown.meeting.id
    documents = shown.documents
    version_ids = {v.id: (d.id, v.number) for d in documents for v in shown.versions[d.id]}
    receipts = await db.scalars(select(Receipt).where(Receipt.version_id.in_(list(version_ids))))
    held: dict[tuple[str, int, int], Receipt] = {}  # (kind, id, document) -> newest receipt
    for receipt in receipts:
        document_id, number = version_ids[receipt.version_id]
        kind, who = (
            ("point", receipt.point_id)
            if receipt.point_id is not None
            else ("user", receipt.user_id)
        )
        key = (kind, who or 0, document_id)
        if key not in held or version_ids[held[key].version_id][1] < number:
            held[key] = receipt
    points = await db.execute(
        select(ConferencePoint.id, ConferencePoint.name, Unit.name.label("unit"))
        .join(Invitation, Invitation.point_id == ConferencePoint.id)
        .join(Unit, Unit.id == ConferencePoint.unit_id)
        .where(Invitation.meeting_id == meeting_id)
    )
    users = await db.execute(
        select(User.id, User.full_name.label("name"), Unit.name.label("unit"))
        .join(Invitation, Invitation.user_id == User.id)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .where(Invitation.meeting_id == meeting_id)
    )
    recipients = [("point", r.id, r.name, r.unit) for r in points]
    recipients += [("user", r.id, r.name, r.unit or "") for r in users]
    rows: list[ReceiptRow] = []
    for kind, who, name, unit in recipients:
        cells = []
        for document in documents:
            current = shown.current(document).number
            has = held.get((kind, who, document.id))
            held_number = version_ids[has.version_id][1] if has else None
            shared = document.scope is Scope.INVITED or (kind, who) in shown.named[document.id]
            cells.append(
                ReceiptCell(
                    document_id=document.id,
                    shared=shared,
                    version=held_number,
                    current=held_number == current,
                    first_at=has.first_at if has else None,
                    last_at=has.last_at if has else None,
                )
            )
        missing = sum(cell.shared and not cell.current for cell in cells)
        rows.append(
            ReceiptRow(kind=kind, id=who, name=name, unit=unit, missing=missing, cells=cells)
        )
    rows.sort(key=lambda row: (-row.missing, row.kind != "point", row.unit, row.name))
    return ReceiptMatrix(
        documents=[
            ReceiptDocument(id=d.id, title=d.title, current_version=shown.current(d).number)
            for d in documents
        ],
        rows=rows,
    )
