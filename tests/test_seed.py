"""The demo province: its shape, and that seeding twice changes nothing."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from server.accounts.models import User
from server.db import Database
from server.demo import seed_demo, slug
from server.identity import Role
from server.network.models import ConferencePoint, Unit, UnitKind


async def _counts(db: Database) -> tuple[Counter[UnitKind], int, int]:
    async with db.reader() as session:
        kinds = Counter((await session.execute(select(Unit.kind))).scalars().all())
        points = (await session.execute(select(func.count(ConferencePoint.id)))).scalar_one()
        users = (await session.execute(select(func.count(User.id)))).scalar_one()
    return kinds, points, users


async def test_demo_province_has_102_commune_level_units_and_204_points(db: Database) -> None:
    async with db.writer() as session:
        result = await seed_demo(session)
        await session.commit()
    kinds, points, users = await _counts(db)
    assert users == 5
    assert kinds[UnitKind.PROVINCE] == 1
    assert kinds[UnitKind.COMMUNE] + kinds[UnitKind.WARD] + kinds[UnitKind.SPECIAL_ZONE] == 102
    assert kinds[UnitKind.WARD] > 0 and kinds[UnitKind.SPECIAL_ZONE] > 0
    assert points == 204
    assert result.points_created == 204
    assert set(result.passwords) == {"admin", "thuky", "chutich", "canbo", "vanhanh"}
    async with db.reader() as session:
        all_users = (await session.execute(select(User))).scalars().all()
        host = (
            (
                await session.execute(
                    select(ConferencePoint).join(Unit).where(Unit.kind == UnitKind.PROVINCE)
                )
            )
            .scalars()
            .first()
        )
    assert {role for u in all_users for role in u.roles} == set(Role)
    assert host is not None and "UBND tỉnh" in host.name


async def test_demo_passwords_are_random_not_fixed(db: Database) -> None:
    async with db.writer() as session:
        first = await seed_demo(session)
        await session.rollback()
    async with db.writer() as session:
        second = await seed_demo(session)
        await session.rollback()
    assert first.passwords["admin"] != second.passwords["admin"]
    assert all(len(p) >= 10 for p in first.passwords.values())


async def test_seeding_again_adds_nothing_and_keeps_passwords(db: Database) -> None:
    async with db.writer() as session:
        await seed_demo(session)
        await session.commit()
    before = await _counts(db)
    async with db.reader() as session:
        hashes = dict((await session.execute(select(User.username, User.password_hash))).all())
    async with db.writer() as session:
        again = await seed_demo(session)
        await session.commit()
    assert not again.changed
    assert await _counts(db) == before
    async with db.reader() as session:
        assert hashes == dict(
            (await session.execute(select(User.username, User.password_hash))).all()
        )


def test_unit_codes_are_ascii_slugs() -> None:
    assert slug("Xã Đắk Mil") == "xa-dak-mil"
    assert slug("Đặc khu Cù Lao Xanh") == "dac-khu-cu-lao-xanh"
    assert slug("Sở Giáo dục và Đào tạo") == "so-giao-duc-va-dao-tao"
