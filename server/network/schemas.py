"""API shapes of units and conference points."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from server.network.models import UnitKind
from server.validation import DbId, FiniteNumber, Name, Place

CODE_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class UnitRef(BaseModel):
    id: int
    code: str
    name: str
    kind: UnitKind


class UnitNode(UnitRef):
    parent_id: int | None
    point_count: int
    children: list[UnitNode] = []


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE_PATTERN, description="short lowercase code, e.g. xa-tan-phu")
    name: Name
    kind: UnitKind
    parent_id: DbId | None = None


class UnitUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    kind: UnitKind | None = None
    parent_id: DbId | None = None


class PointOut(BaseModel):
    id: int
    name: str
    location: str
    unit: UnitRef
    enabled: bool
    online: bool
    last_seen_at: datetime | None
    last_link_stats: dict[str, Any] | None = Field(
        description="the server's measure of the point's media link (with at, meeting_id)"
    )
    reported_stats: dict[str, Any] | None = Field(
        description="what the point reported with its last heartbeat"
    )
    reported_at: datetime | None


class PointPage(BaseModel):
    items: list[PointOut]
    total: int
    online: int


class PointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    unit_id: DbId
    location: Place = ""
    enabled: bool = True


class PointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    unit_id: DbId | None = None
    location: Place | None = None
    enabled: bool | None = None


class PointWithToken(BaseModel):
    """Returned once, when a point is created or its token rotated: keep the token safe."""

    point: PointOut
    device_token: str


StatName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
]
StatValue = (
    bool
    | int
    | FiniteNumber
    | Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
    | None
)


class KioskLink(PointWithToken):
    """A kiosk sign-in link (the device token in its fragment) and its QR code as SVG."""

    url: str
    qr_svg: str


class Heartbeat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    link_stats: dict[StatName, StatValue] | None = Field(
        default=None,
        max_length=64,
        description="latest link statistics, flat, named as the server measures them: "
        "kbps_in (what the point sends), kbps_out, rtt_ms, loss_pct, jitter_ms, fps_in, ...",
    )
