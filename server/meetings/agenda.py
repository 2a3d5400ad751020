"""A meeting's agenda items: ordered, edited while the meeting has not ended."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.accounts.models import User
from server.identity import Principal
from server.meetings.lifecycle import OPEN_STATUSES
from server.meetings.models import AgendaItem, Meeting
from server.meetings.schemas import AgendaItemCreate, AgendaItemOut, AgendaItemUpdate
from server.meetings.service import require_organizer, require_status
from server.problems import field_error, not_found

FIELDS = ("title", "presenter_name", "presenter_id", "planned_minutes")


def item_out(item: AgendaItem) -> AgendaItemOut:
    return AgendaItemOut(
        id=item.id,
        position=item.position,
        title=item.title,
        presenter_name=item.presenter_name,
        presenter_id=item.presenter_id,
        planned_minutes=item.planned_minutes,
    )


def _snapshot(item: AgendaItem) -> dict[str, object]:
    return {name: getattr(item, name) for name in ("position", *FIELDS)}


async def list_items(db: AsyncSession, meeting_id: int) -> list[AgendaItem]:
    return (await items_of(db, [meeting_id])).get(meeting_id, [])


async def items_of(db: AsyncSession, meeting_ids: list[int]) -> dict[int, list[AgendaItem]]:
    """The agenda of each meeting, in order, in one query."""
    rows = await db.execute(
        select(AgendaItem)
        .where(AgendaItem.meeting_id.in_(meeting_ids))
        .order_by(AgendaItem.meeting_id, AgendaItem.position, AgendaItem.id)
    )
    agendas: dict[int, list[AgendaItem]] = {}
    for item in rows.scalars():
        agendas.setdefault(item.meeting_id, []).append(item)
    return agendas


async def _check_presenter(db: AsyncSession, presenter_id: int | None) -> None:
    if presenter_id is not None and await db.get(User, presenter_id) is None:
        raise field_error("presenter_id", f"no user {presenter_id}")


def _editable(meeting: Meeting, principal: Principal) -> None:
    require_organizer(meeting, principal)
    require_status(meeting, OPEN_STATUSES, "change the agenda")


async def add_item(
    db: AsyncSession, principal: Principal, meeting: Meeting, body: AgendaItemCreate
) -> AgendaItem:
    _editable(meeting, principal)
    await _check_presenter(db, body.presenter_id)
    last = (
        await db.execute(
            select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id)
        )
    ).scalar_one()
    item = AgendaItem(meeting_id=meeting.id, position=(last or 0) + 1, **body.model_dump())
    db.add(item)
    await db.flush()
    await audit.record(
        db,
        principal,
        "agenda.add",
        "agenda_item",
        item.id,
        meeting_id=meeting.id,
        after=_snapshot(item),
    )
    return item


async def get_item(db: AsyncSession, meeting: Meeting, item_id: int) -> AgendaItem:
    item = await db.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        raise not_found(f"agenda item {item_id}")
    return item


async def update_item(
    db: AsyncSession,
    principal: Principal,
    meeting: Meeting,
    item_id: int,
    body: AgendaItemUpdate,
) -> AgendaItem:
    _editable(meeting, principal)
    item = await get_item(db, meeting, item_id)
    changes = body.model_dump(exclude_unset=True)
    for required in ("title", "planned_minutes"):
        if required in changes and changes[required] is None:
            raise field_error(required, "may not be null")
    if "presenter_id" in changes:
        await _check_presenter(db, changes["presenter_id"])
    before = _snapshot(item)
    for name, value in changes.items():
        setattr(item, name, value if value is not None or name == "presenter_id" else "")
    await db.flush()
    old, new = audit.changes(before, _snapshot(item))
    if new:
        await audit.record(
            db,
            principal,
            "agenda.update",
            "agenda_item",
            item.id,
            meeting_id=meeting.id,
            before=old,
            after=new,
        )
    return item


async def delete_item(
    db: AsyncSession, principal: Principal, meeting: Meeting, item_id: int
) -> None:
    _editable(meeting, principal)
    item = await get_item(db, meeting, item_id)
    before = _snapshot(item)
    await db.delete(item)
    await db.flush()
    # Keep positions 1..n without holes: they are the numbers printed in the agenda.
    for position, rest in enumerate(await list_items(db, meeting.id), start=1):
        rest.position = position
    await db.flush()
    await audit.record(
        db,
        principal,
        "agenda.delete",
        "agenda_item",
        item_id,
        meeting_id=meeting.id,
        before=before,
    )


async def reorder(
    db: AsyncSession, principal: Principal, meeting: Meeting, item_ids: list[int]
) -> list[AgendaItem]:
    _editable(meeting, principal)
    items = await list_items(db, meeting.id)
    if sorted(item_ids) != sorted(i.id for i in items):
        raise field_error("item_ids", "list every agenda item of the meeting exactly once")
    by_id = {i.id: i for i in items}
    before = [i.id for i in items]
    for position, item_id in enumerate(item_ids, start=1):
        by_id[item_id].position = position
    await db.flush()
    if before != item_ids:
        await audit.record(
            db,
            principal,
            "agenda.reorder",
            "meeting",
            meeting.id,
            meeting_id=meeting.id,
            before={"order": before},
            after={"order": item_ids},
        )
    return [by_id[i] for i in item_ids]
