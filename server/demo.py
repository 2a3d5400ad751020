"""The demo province: a province hall, its departments, 102 commune-level units, 204 points.

The names are made up but shaped like a real two-level province after the 2025 merger:
communes (xã), wards (phường) and special zones (đặc khu) directly under the province, a
hall at the People's Committee as host point, and a second online meeting room (usually the
Party committee's) at most commune-level units.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import service as accounts
from server.identity import Role
from server.network import service as network
from server.network.models import ConferencePoint, Unit, UnitKind

PROVINCE_NAME = "Tỉnh Hòa Sơn"
PROVINCE_CODE = "hoa-son"

DEPARTMENTS = [
    "Văn phòng UBND tỉnh",
    "Sở Nội vụ",
    "Sở Tài chính",
    "Sở Y tế",
    "Sở Giáo dục và Đào tạo",
    "Sở Nông nghiệp và Môi trường",
]

COMMUNES = """
Tân Phú, Tân Lập, Tân Hòa, Tân Thành, Tân An, Tân Long, Hòa Bình, Hòa Lợi, Hòa Thịnh,
Hòa Phong, Hòa Xuân, Hòa Mỹ, Phú Lộc, Phú Xuân, Phú Thành, Phú Mỹ, Phú Sơn, An Bình,
An Phú, An Thịnh, An Hưng, An Lạc, Bình Minh, Bình An, Bình Thuận, Bình Phước, Thạnh Phú,
Thạnh Lộc, Long Hưng, Long Thành, Long Phước, Xuân Lộc, Xuân Thủy, Xuân Hòa, Xuân Sơn,
Đông Hưng, Đông Sơn, Đông Xuân, Tây Hòa, Tây Phong, Nam Phong, Nam Hưng, Bắc Lý, Bắc Sơn,
Mỹ Lộc, Mỹ Thành, Hưng Đạo, Hưng Lợi, Lộc Điền, Lộc Hà, Thuận Thành, Thuận Lợi,
Phước Hưng, Phước Sơn, Vĩnh Lộc, Vĩnh Thịnh, Quang Minh, Quang Tiến, Thịnh Đức, Đức Thọ,
Đức Phong, Minh Hòa, Minh Tân, Hồng Phong, Hồng Lĩnh, Thanh Sơn, Thanh Hà, Kim Sơn,
Kim Đồng, Sơn Thủy, Sơn Kim, Trung Sơn, Trung Hòa, Hải Ninh, Hải Yên, Yên Thành, Yên Hồ,
Cẩm Xuyên, Cẩm Thạch, Ea Kar, Krông Bông, Ia Grai, Đắk Mil, Mường Lát
"""

WARDS = """
Quang Trung, Lê Lợi, Trần Phú, Nguyễn Trãi, Hai Bà Trưng, Lý Thường Kiệt, Hòa Sơn,
Bắc Hòa Sơn, Nam Hòa Sơn, Đông Hải, Tây Sơn, Bến Thủy, Hồng Sơn, Trung Đô, Vinh Tân,
Thành Công
"""

SPECIAL_ZONES = "Hòn Ngư, Cù Lao Xanh"

KIND_PREFIX = {
    UnitKind.COMMUNE: "Xã",
    UnitKind.WARD: "Phường",
    UnitKind.SPECIAL_ZONE: "Đặc khu",
}

TOTAL_POINTS = 204


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: Role
    unit_code: str


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.replace("\n", " ").split(",") if name.strip()]


def slug(text: str) -> str:
    """'Xã Tân Phú' -> 'xa-tan-phu' (Vietnamese letters to ASCII, for unit codes)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_text.lower()).split())


def commune_level_units() -> list[tuple[str, UnitKind]]:
    """The 102 commune-level units as (full name, kind), in a stable order."""
    units = [(f"Xã {n}", UnitKind.COMMUNE) for n in _names(COMMUNES)]
    units += [(f"Phường {n}", UnitKind.WARD) for n in _names(WARDS)]
    units += [(f"Đặc khu {n}", UnitKind.SPECIAL_ZONE) for n in _names(SPECIAL_ZONES)]
    return units


def demo_accounts() -> list[DemoAccount]:
    first_commune = slug(commune_level_units()[0][0])
    office = slug(DEPARTMENTS[0])
    return [
        DemoAccount("admin", "Quản trị hệ thống", Role.ADMIN, office),
        DemoAccount("thuky", "Nguyễn Thị Thu Hà", Role.SECRETARY, office),
        DemoAccount("chutich", "Trần Văn Hùng", Role.CHAIR, PROVINCE_CODE),
        DemoAccount("canbo", "Lê Văn Nam", Role.OFFICIAL, first_commune),
        DemoAccount("vanhanh", "Phạm Minh Đức", Role.OPERATOR, first_commune),
    ]


@dataclass
class SeedResult:
    units_created: int = 0
    points_created: int = 0
    # username -> password, only for accounts created by this run.
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.units_created or self.points_created or self.passwords)


async def seed_demo(db: AsyncSession) -> SeedResult:
    """Create whatever of the demo province is missing; running it again changes nothing."""
    result = SeedResult()
    units = {u.code: u for u in (await db.execute(select(Unit))).scalars()}

    def unit(code: str, name: str, kind: UnitKind, parent: Unit | None) -> Unit:
        if code not in units:
            units[code] = Unit(code=code, name=name, kind=kind, parent=parent)
            db.add(units[code])
            result.units_created += 1
        return units[code]

    province = unit(PROVINCE_CODE, PROVINCE_NAME, UnitKind.PROVINCE, None)
    departments = [unit(slug(n), n, UnitKind.DEPARTMENT, province) for n in DEPARTMENTS]
    communes = [unit(slug(n), n, kind, province) for n, kind in commune_level_units()]
    await db.flush()

    existing = {(p.unit_id, p.name) for p in (await db.execute(select(ConferencePoint))).scalars()}
    wanted = _demo_points(province, departments, communes)
    for owner, name, location in wanted:
        if (owner.id, name) not in existing:
            await network.create_point(db, owner, name, location)
            result.points_created += 1

    for account in demo_accounts():
        if await accounts.find_user(db, account.username) is None:
            password = secrets.token_urlsafe(9)
            await accounts.create_user(
                db,
                username=account.username,
                full_name=account.full_name,
                password=password,
                roles={account.role},
                unit_id=units[account.unit_code].id,
            )
            result.passwords[account.username] = password
    await db.flush()
    return result


def _demo_points(
    province: Unit, departments: list[Unit], communes: list[Unit]
) -> list[tuple[Unit, str, str]]:
    hall = f"Trụ sở UBND {PROVINCE_NAME.removeprefix('Tỉnh ')}"
    points = [
        (province, "Hội trường UBND tỉnh (điểm cầu chính)", hall),
        (province, "Phòng họp trực tuyến số 2 UBND tỉnh", hall),
    ]
    points += [(d, f"Phòng họp {d.name}", f"Trụ sở {d.name}") for d in departments]
    points += [
        (c, f"Hội trường UBND {_mid(c.name)}", f"Trụ sở UBND {_mid(c.name)}") for c in communes
    ]
    second_rooms = TOTAL_POINTS - len(points)
    points += [
        (c, f"Phòng họp Đảng ủy {_mid(c.name)}", f"Trụ sở Đảng ủy {_mid(c.name)}")
        for c in communes[:second_rooms]
    ]
    return points


def _mid(unit_name: str) -> str:
    # Inside a phrase the kind is lower case: "UBND xã Tân Phú".
    return unit_name[0].lower() + unit_name[1:]
