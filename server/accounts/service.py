"""Users: queries and changes shared by the API, the CLI and the demo seed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User, UserRole
from server.accounts.passwords import hash_password
from server.accounts.schemas import UserOut, normalize_username
from server.db import count_rows
from server.identity import Role
from server.network.service import get_unit, unit_ref
from server.problems import Problem, not_found
from server.sessions import revoke_all
from server.textfold import like_pattern


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        unit=unit_ref(user.unit) if user.unit else None,
        roles=sorted(user.roles),
        active=user.active,
        created_at=user.created_at,
    )


async def get_user(db: AsyncSession, user_id: int) -> User:
    user = await db.get(User, user_id)
    if user is None:
        raise not_found(f"user {user_id}")
    return user


async def find_user(db: AsyncSession, username: str) -> User | None:
    query = select(User).where(User.username == normalize_username(username))
    return (await db.execute(query)).scalar_one_or_none()


async def create_user(
    db: AsyncSession,
    *,
    username: str,
    full_name: str,
    password: str,
    roles: set[Role],
    unit_id: int | None = None,
    active: bool = True,
) -> User:
    username = normalize_username(username)
    if await find_user(db, username) is not None:
        raise Problem(409, "user_exists", f"the username {username!r} is taken")
    user = User(
        username=username,
        full_name=full_name.strip(),
        password_hash=await hash_password(password),
        active=active,
        unit=await get_unit(db, unit_id) if unit_id is not None else None,
    )
    user.set_roles(roles)
    db.add(user)
    await db.flush()
    return user


async def set_password(db: AsyncSession, user: User, password: str) -> None:
    """New password; every session of the user ends (the caller may reopen its own)."""
    user.password_hash = await hash_password(password)
    await revoke_all(db, user_id=user.id)


async def set_active(db: AsyncSession, user: User, active: bool) -> None:
    user.active = active
    if not active:
        await revoke_all(db, user_id=user.id)


@dataclass(frozen=True)
class UserFilter:
    role: Role | None = None
    unit_id: int | None = None
    q: str | None = None
    active: bool | None = None


async def list_users(
    db: AsyncSession, where: UserFilter, limit: int, offset: int
) -> tuple[list[User], int]:
    query = select(User)
    if where.role is not None:
        query = query.where(
            User.id.in_(select(UserRole.user_id).where(UserRole.role == where.role))
        )
    if where.unit_id is not None:
        query = query.where(User.unit_id == where.unit_id)
    if where.active is not None:
        query = query.where(User.active == where.active)
    if where.q:
        query = query.where(User.search_key.like(like_pattern(where.q), escape="\\"))
    total = await count_rows(db, query)
    page = await db.execute(query.order_by(User.username).limit(limit).offset(offset))
    return list(page.scalars().all()), total
