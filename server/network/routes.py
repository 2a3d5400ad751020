"""HTTP API of units and conference points."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from server import audit
from server.auth import AdminPrincipal, PointPrincipal, UserPrincipal, require_roles
from server.db import utcnow
from server.deps import AppHub, AppSettings, ReadDB, WriteDB
from server.identity import Principal, Role
from server.network import service
from server.network.models import ConferencePoint, Unit
from server.network.monitor import NetworkMonitor
from server.network.schemas import (
    Heartbeat,
    KioskLink,
    PointCreate,
    PointOut,
    PointPage,
    PointUpdate,
    PointWithToken,
    UnitCreate,
    UnitNode,
    UnitRef,
    UnitUpdate,
)
from server.problems import Problem
from server.validation import IdPath, IdQuery, Limit, Offset, SearchQuery

router = APIRouter(prefix="/api", tags=["network"])

STREAM_KEEPALIVE_SECONDS = 15.0

# Who may look at the whole network (the network page): the people who run meetings.
NetworkViewer = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.SECRETARY, Role.CHAIR, Role.OPERATOR))
]


@router.get("/units", response_model=list[UnitNode], summary="The unit tree")
async def list_units(_: UserPrincipal, db: ReadDB) -> list[UnitNode]:
    return await service.unit_tree(db)


@router.post("/units", response_model=UnitRef, status_code=201, summary="Add a unit")
async def create_unit(body: UnitCreate, admin: AdminPrincipal, db: WriteDB) -> UnitRef:
    await service.check_parent(db, None, body.parent_id)
    if await service.find_unit(db, body.code) is not None:
        raise Problem(409, "unit_exists", f"a unit with code {body.code!r} exists")
    unit = Unit(code=body.code, name=body.name, kind=body.kind, parent_id=body.parent_id)
    db.add(unit)
    await db.flush()
    await audit.record(db, admin, "unit.create", "unit", unit.id, after=body.model_dump())
    await db.commit()
    return service.unit_ref(unit)


@router.patch("/units/{unit_id}", response_model=UnitRef, summary="Change a unit")
async def update_unit(
    unit_id: IdPath, body: UnitUpdate, admin: AdminPrincipal, db: WriteDB
) -> UnitRef:
    unit = await service.get_unit(db, unit_id)
    changes = body.model_dump(exclude_unset=True)
    before = {"name": unit.name, "kind": unit.kind, "parent_id": unit.parent_id}
    if "parent_id" in changes:
        await service.check_parent(db, unit.id, changes["parent_id"])
        unit.parent_id = changes["parent_id"]
    if body.name is not None:
        unit.name = body.name
    if body.kind is not None:
        unit.kind = body.kind
    old, new = audit.changes(
        before, {"name": unit.name, "kind": unit.kind, "parent_id": unit.parent_id}
    )
    if new:
        await audit.record(db, admin, "unit.update", "unit", unit.id, before=old, after=new)
    await db.commit()
    return service.unit_ref(unit)


@router.get("/points", response_model=PointPage, summary="Conference points with online status")
async def list_points(
    # unit_id: that unit and every unit below it; q: in the point's name, place or unit.
    _: NetworkViewer,
    db: ReadDB,
    settings: AppSettings,
    unit_id: IdQuery = None,
    q: SearchQuery = None,
    enabled: bool | None = None,
    online: bool | None = None,
    limit: Limit = 500,
    offset: Offset = 0,
) -> PointPage:
    where = service.PointFilter(unit_id=unit_id, q=q, enabled=enabled, online=online)
    points, total, online_count = await service.list_points(
        db, where, settings.point_online_seconds, limit, offset
    )
    now = utcnow()
    items = [service.point_out(p, now, settings.point_online_seconds) for p in points]
    return PointPage(items=items, total=total, online=online_count)


@router.get(
    "/points/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
    summary="Server-sent events: every point's online and in-meeting state, then changes",
)
async def point_stream(_: NetworkViewer, request: Request) -> StreamingResponse:
    monitor: NetworkMonitor = request.app.state.network_monitor

    async def events() -> AsyncIterator[str]:
        async with monitor.watch() as queue:
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), STREAM_KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"  # proxies close idle streams
                    continue
                if message is None:
                    return  # too slow: the browser reconnects and gets a fresh snapshot
                yield f"event: {message['kind']}\ndata: {json.dumps(message)}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/points/me", response_model=PointOut, summary="The calling conference point")
async def my_point(principal: PointPrincipal, db: ReadDB, settings: AppSettings) -> PointOut:
    point = await service.get_point(db, principal.id)
    return service.point_out(point, utcnow(), settings.point_online_seconds)


@router.post("/points/me/heartbeat", status_code=204, summary="A point says it is alive")
async def heartbeat(body: Heartbeat, principal: PointPrincipal, db: WriteDB) -> Response:
    now = utcnow()
    values: dict[str, object] = {"last_seen_at": now}
    if body.link_stats is not None:
        values["reported_stats"] = body.link_stats
        values["reported_at"] = now
    await db.execute(
        update(ConferencePoint).where(ConferencePoint.id == principal.id).values(**values)
    )
    await db.commit()
    return Response(status_code=204)


@router.get("/points/{point_id}", response_model=PointOut, summary="One conference point")
async def get_point(
    point_id: IdPath, _: NetworkViewer, db: ReadDB, settings: AppSettings
) -> PointOut:
    point = await service.get_point(db, point_id)
    return service.point_out(point, utcnow(), settings.point_online_seconds)


@router.post(
    "/points", response_model=PointWithToken, status_code=201, summary="Add a conference point"
)
async def create_point(
    body: PointCreate, admin: AdminPrincipal, db: WriteDB, settings: AppSettings
) -> PointWithToken:
    unit = await service.get_unit(db, body.unit_id)
    point, token = await service.create_point(db, unit, body.name, body.location, body.enabled)
    await audit.record(db, admin, "point.create", "point", point.id, after=body.model_dump())
    await db.commit()
    return PointWithToken(
        point=service.point_out(point, utcnow(), settings.point_online_seconds),
        device_token=token,
    )


@router.patch("/points/{point_id}", response_model=PointOut, summary="Change a conference point")
async def update_point(
    point_id: IdPath,
    body: PointUpdate,
    admin: AdminPrincipal,
    db: WriteDB,
    settings: AppSettings,
    hub: AppHub,
) -> PointOut:
    point = await service.get_point(db, point_id)
    before = _point_fields(point)
    await service.update_point(
        db,
        point,
        name=body.name,
        unit_id=body.unit_id,
        location=body.location,
        enabled=body.enabled,
    )
    old, new = audit.changes(before, _point_fields(point))
    if new:
        await audit.record(db, admin, "point.update", "point", point.id, before=old, after=new)
    await db.commit()
    if body.enabled is False:
        await hub.disconnect(key=f"p:{point.id}", reason="the point was disabled")
    return service.point_out(point, utcnow(), settings.point_online_seconds)


@router.delete("/points/{point_id}", status_code=204, summary="Remove a conference point")
async def delete_point(
    point_id: IdPath, admin: AdminPrincipal, db: WriteDB, hub: AppHub
) -> Response:
    point = await service.get_point(db, point_id)
    before = _point_fields(point)
    await db.delete(point)
    try:
        await db.flush()
        await audit.record(db, admin, "point.delete", "point", point_id, before=before)
        await db.commit()
    except IntegrityError as exc:
        raise Problem(
            409, "point_in_use", "the point has meetings on record; disable it instead"
        ) from exc
    await hub.disconnect(key=f"p:{point_id}", reason="the point was removed")
    return Response(status_code=204)


@router.post(
    "/points/{point_id}/rotate-token",
    response_model=PointWithToken,
    summary="Issue a new device token; the old one stops working at once",
)
async def rotate_token(
    point_id: IdPath, admin: AdminPrincipal, db: WriteDB, settings: AppSettings, hub: AppHub
) -> PointWithToken:
    point = await service.get_point(db, point_id)
    token = await service.rotate_token(db, point)
    await audit.record(db, admin, "point.rotate_token", "point", point.id)
    await db.commit()
    await hub.disconnect(key=f"p:{point.id}", reason="the device token was replaced")
    return PointWithToken(
        point=service.point_out(point, utcnow(), settings.point_online_seconds),
        device_token=token,
    )


def _point_fields(point: ConferencePoint) -> dict[str, object]:
    return {
        "name": point.name,
        "unit_id": point.unit_id,
        "location": point.location,
        "enabled": point.enabled,
    }


@router.post(
    "/points/{point_id}/kiosk-link",
    response_model=KioskLink,
    summary="A new device token as a sign-in link and QR code for the point's kiosk",
)
async def kiosk_link(
    point_id: IdPath,
    admin: AdminPrincipal,
    db: WriteDB,
    settings: AppSettings,
    hub: AppHub,
    request: Request,
) -> KioskLink:
    point = await service.get_point(db, point_id)
    token = await service.rotate_token(db, point)
    await audit.record(db, admin, "point.kiosk_link", "point", point.id)
    await db.commit()
    await hub.disconnect(key=f"p:{point.id}", reason="the device token was replaced")
    base = settings.public_url or str(request.base_url).rstrip("/")
    # The token rides in the fragment: browsers never send it to the server or its logs.
    url = f"{base}/kiosk#token={token}"
    qr = segno.make(url, error="m")
    return KioskLink(
        point=service.point_out(point, utcnow(), settings.point_online_seconds),
        device_token=token,
        url=url,
        qr_svg=qr.svg_inline(scale=4, dark="#000", light="#fff"),
    )
