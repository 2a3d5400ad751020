"""Units and conference points: queries and changes shared by the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from server.db import utcnow
from server.network.models import ConferencePoint, Unit, UnitKind
from server.network.schemas import PointOut, UnitNode, UnitRef
from server.problems import Problem, not_found
from server.sessions import revoke_all
from server.textfold import like_pattern
from server.tokens import new_device_token, token_hash

# Province first, then its departments, then the commune-level units.
KIND_ORDER = case({UnitKind.PROVINCE: 0, UnitKind.DEPARTMENT: 1}, value=Unit.kind, else_=2)


# A point is online when it is enabled and was heard from within online_seconds. The rule
# exists twice, for a loaded point and as SQL for filtering and counting; keep them together.
def is_online(point: ConferencePoint, now: datetime, online_seconds: int) -> bool:
    since = now - timedelta(seconds=online_seconds)
    return point.enabled and point.last_seen_at is not None and point.last_seen_at > since


def online_clause(now: datetime, online_seconds: int) -> ColumnElement[bool]:
    since = now - timedelta(seconds=online_seconds)
    return ConferencePoint.enabled.is_(True) & (ConferencePoint.last_seen_at > since)


def unit_ref(unit: Unit) -> UnitRef:
    return UnitRef(id=unit.id, code=unit.code, name=unit.name, kind=unit.kind)


def point_out(point: ConferencePoint, now: datetime, online_seconds: int) -> PointOut:
    return PointOut(
        id=point.id,
        name=point.name,
        location=point.location,
        unit=unit_ref(point.unit),
        enabled=point.enabled,
        online=is_online(point, now, online_seconds),
        last_seen_at=point.last_seen_at,
        last_link_stats=point.last_link_stats,
        reported_stats=point.reported_stats,
        reported_at=point.reported_at,
    )


async def get_unit(db: AsyncSession, unit_id: int) -> Unit:
    unit = await db.get(Unit, unit_id)
    if unit is None:
        raise not_found(f"unit {unit_id}")
    return unit


async def find_unit(db: AsyncSession, code: str) -> Unit | None:
    return (await db.execute(select(Unit).where(Unit.code == code))).scalar_one_or_none()


async def unit_by_code(db: AsyncSession, code: str) -> Unit:
    unit = await find_unit(db, code)
    if unit is None:
        raise not_found(f"unit {code!r}")
    return unit


async def unit_tree(db: AsyncSession) -> list[UnitNode]:
    units = (await db.execute(select(Unit).order_by(KIND_ORDER, Unit.name))).scalars().all()
    counts = dict(
        (
            await db.execute(
                select(ConferencePoint.unit_id, func.count()).group_by(ConferencePoint.unit_id)
            )
        ).all()
    )
    nodes = {
        u.id: UnitNode(
            id=u.id,
            code=u.code,
            name=u.name,
            kind=u.kind,
            parent_id=u.parent_id,
            point_count=counts.get(u.id, 0),
        )
        for u in units
    }
    roots: list[UnitNode] = []
    for node in nodes.values():
        parent = nodes.get(node.parent_id) if node.parent_id is not None else None
        (parent.children if parent else roots).append(node)
    return roots


async def unit_and_descendants(db: AsyncSession, *unit_ids: int) -> set[int]:
    """The units' ids with the ids of every unit below them (the tree is small: ~100s of rows)."""
    children: dict[int, list[int]] = {}
    for child_id, parent_id in (await db.execute(select(Unit.id, Unit.parent_id))).all():
        if parent_id is not None:
            children.setdefault(parent_id, []).append(child_id)
    found, stack = set(unit_ids), list(unit_ids)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


async def check_parent(db: AsyncSession, unit_id: int | None, parent_id: int | None) -> None:
    """Refuse a parent that does not exist or would make a cycle."""
    seen = {unit_id} if unit_id is not None else set()
    current = parent_id
    while current is not None:
        if current in seen:
            raise Problem(409, "unit_cycle", "a unit cannot be its own ancestor")
        seen.add(current)
        parent = await db.get(Unit, current)
        if parent is None:
            raise not_found(f"parent unit {current}")
        current = parent.parent_id


@dataclass(frozen=True)
class PointFilter:
    unit_id: int | None = None
    q: str | None = None
    enabled: bool | None = None
    online: bool | None = None


async def list_points(
    db: AsyncSession, where: PointFilter, online_seconds: int, limit: int, offset: int
) -> tuple[list[ConferencePoint], int, int]:
    """One page of points, the number matching, and how many of those are online."""
    now = utcnow()
    query = select(ConferencePoint).join(ConferencePoint.unit)
    if where.unit_id is not None:
        query = query.where(
            ConferencePoint.unit_id.in_(await unit_and_descendants(db, where.unit_id))
        )
    if where.q:
        pattern = like_pattern(where.q)
        query = query.where(
            or_(
                ConferencePoint.search_key.like(pattern, escape="\\"),
                Unit.search_key.like(pattern, escape="\\"),
            )
        )
    if where.enabled is not None:
        query = query.where(ConferencePoint.enabled == where.enabled)
    is_up = online_clause(now, online_seconds)
    if where.online is True:
        query = query.where(is_up)
    elif where.online is False:
        query = query.where(~is_up | ConferencePoint.last_seen_at.is_(None))

    counted = query.with_only_columns(
        func.count(), func.count().filter(is_up), maintain_column_froms=True
    ).order_by(None)
    total, online = (await db.execute(counted)).one()
    page = await db.execute(
        query.order_by(KIND_ORDER, Unit.name, ConferencePoint.name).limit(limit).offset(offset)
    )
    return list(page.scalars().all()), total, online


async def point_by_device_token(
    db: AsyncSession, device_token: str, *, with_unit: bool = True
) -> ConferencePoint:
    """The enabled point holding this device token, or a 401 problem. Authentication alone
    (``with_unit=False``) skips joining the unit: a join storm is 200 of these at once."""
    query = select(ConferencePoint).where(ConferencePoint.token_hash == token_hash(device_token))
    if not with_unit:
        query = query.options(raiseload(ConferencePoint.unit))
    point = (await db.execute(query)).scalar_one_or_none()
    challenge = {"WWW-Authenticate": "Bearer"}
    if point is None:
        raise Problem(401, "invalid_token", "unknown device token", headers=challenge)
    if not point.enabled:
        raise Problem(401, "point_disabled", "this conference point is disabled", headers=challenge)
    return point


async def get_point(db: AsyncSession, point_id: int) -> ConferencePoint:
    point = await db.get(ConferencePoint, point_id)
    if point is None:
        raise not_found(f"conference point {point_id}")
    return point


async def _check_name_free(
    db: AsyncSession, unit_id: int, name: str, except_id: int | None = None
) -> None:
    query = select(ConferencePoint.id).where(
        ConferencePoint.unit_id == unit_id, ConferencePoint.name == name
    )
    if except_id is not None:
        query = query.where(ConferencePoint.id != except_id)
    if (await db.execute(query)).first() is not None:
        raise Problem(409, "point_exists", f"the unit already has a point named {name!r}")


async def create_point(
    db: AsyncSession, unit: Unit, name: str, location: str = "", enabled: bool = True
) -> tuple[ConferencePoint, str]:
    """Add a point; returns it with its device token, which is not stored and not shown again."""
    name = name.strip()
    await _check_name_free(db, unit.id, name)
    token = new_device_token()
    point = ConferencePoint(
        unit=unit,
        name=name,
        location=location.strip(),
        enabled=enabled,
        token_hash=token_hash(token),
    )
    db.add(point)
    await db.flush()
    return point, token


async def update_point(
    db: AsyncSession,
    point: ConferencePoint,
    *,
    name: str | None = None,
    unit_id: int | None = None,
    location: str | None = None,
    enabled: bool | None = None,
) -> None:
    if unit_id is not None and unit_id != point.unit_id:
        point.unit = await get_unit(db, unit_id)
    if name is not None:
        name = name.strip()
        await _check_name_free(db, point.unit.id, name, except_id=point.id)
        point.name = name
    elif unit_id is not None:
        await _check_name_free(db, point.unit.id, point.name, except_id=point.id)
    if location is not None:
        point.location = location.strip()
    if enabled is not None:
        point.enabled = enabled
        if not enabled:
            await revoke_all(db, point_id=point.id)
    await db.flush()


async def rotate_token(db: AsyncSession, point: ConferencePoint) -> str:
    """Give the point a new device token; the old one and its kiosk sessions stop at once."""
    token = new_device_token()
    point.token_hash = token_hash(token)
    point.token_rotated_at = utcnow()
    await revoke_all(db, point_id=point.id)
    await db.flush()
    return token
