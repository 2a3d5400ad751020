"""HTTP API of account administration (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from server import audit
from server.accounts import service
from server.accounts.models import User
from server.accounts.schemas import DirectoryEntry, UserCreate, UserOut, UserPage, UserUpdate
from server.auth import AdminPrincipal, require_roles
from server.deps import AppHub, ReadDB, WriteDB
from server.identity import Principal, Role
from server.network.service import get_unit, unit_ref
from server.problems import Problem
from server.validation import IdPath, IdQuery, Limit, Offset, SearchQuery

router = APIRouter(prefix="/api/users", tags=["accounts"])


@router.get("", response_model=UserPage, summary="Accounts")
async def list_users(
    _: AdminPrincipal,
    db: ReadDB,
    role: Role | None = None,
    unit_id: IdQuery = None,
    q: SearchQuery = None,
    active: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> UserPage:
    where = service.UserFilter(role=role, unit_id=unit_id, q=q, active=active)
    users, total = await service.list_users(db, where, limit, offset)
    return UserPage(items=[service.user_out(u) for u in users], total=total)


@router.get(
    "/directory",
    response_model=list[DirectoryEntry],
    summary="Active people with a role, to pick a chair or a secretary (organizers)",
)
async def directory(
    _: Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SECRETARY, Role.CHAIR))],
    db: ReadDB,
    role: Role | None = None,
    q: SearchQuery = None,
) -> list[DirectoryEntry]:
    where = service.UserFilter(role=role, q=q, active=True)
    users, _total = await service.list_users(db, where, limit=500, offset=0)
    return [
        DirectoryEntry(
            id=u.id,
            username=u.username,
            full_name=u.full_name,
            roles=sorted(u.roles),
            unit=unit_ref(u.unit) if u.unit else None,
        )
        for u in users
    ]


@router.get("/{user_id}", response_model=UserOut, summary="One account")
async def get_user(user_id: IdPath, _: AdminPrincipal, db: ReadDB) -> UserOut:
    return service.user_out(await service.get_user(db, user_id))


@router.post("", response_model=UserOut, status_code=201, summary="Add an account")
async def create_user(body: UserCreate, admin: AdminPrincipal, db: WriteDB) -> UserOut:
    user = await service.create_user(
        db,
        username=body.username,
        full_name=body.full_name,
        password=body.password,
        roles=set(body.roles),
        unit_id=body.unit_id,
        active=body.active,
    )
    await audit.record(
        db, admin, "user.create", "user", user.id, after=body.model_dump(exclude={"password"})
    )
    await db.commit()
    return service.user_out(user)


@router.patch("/{user_id}", response_model=UserOut, summary="Change an account")
async def update_user(
    user_id: IdPath, body: UserUpdate, admin: AdminPrincipal, db: WriteDB, hub: AppHub
) -> UserOut:
    user = await service.get_user(db, user_id)
    changes = body.model_dump(exclude_unset=True)
    before = _user_fields(user)
    if user.id == admin.id and (
        changes.get("active") is False or (body.roles is not None and Role.ADMIN not in body.roles)
    ):
        raise Problem(
            409, "self_lockout", "you cannot disable your own account or drop your own admin role"
        )
    if body.full_name is not None:
        user.full_name = body.full_name
    if "unit_id" in changes:
        user.unit = await get_unit(db, body.unit_id) if body.unit_id is not None else None
    if body.roles is not None:
        user.set_roles(set(body.roles))
    if body.active is not None:
        await service.set_active(db, user, body.active)
    if body.password is not None:
        await service.set_password(db, user, body.password)
    old, new = audit.changes(before, _user_fields(user))
    if body.password is not None:
        new["password"] = "changed"  # that it changed; never the password
    if new:
        await audit.record(db, admin, "user.update", "user", user.id, before=old, after=new)
    await db.commit()
    if body.active is False or body.password is not None:
        await hub.disconnect(key=f"u:{user.id}", reason="the account's sign-in changed")
    return service.user_out(user)


def _user_fields(user: User) -> dict[str, object]:
    return {
        "full_name": user.full_name,
        "unit_id": user.unit.id if user.unit else None,
        "roles": sorted(user.roles),
        "active": user.active,
    }
