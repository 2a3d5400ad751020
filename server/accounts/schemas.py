"""API shapes of users, sign-in and the caller's own identity."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from server.accounts.passwords import MIN_PASSWORD_LENGTH
from server.identity import PrincipalKind, Role
from server.network.schemas import PointOut, UnitRef
from server.validation import DbId, Name, Password, no_nul

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,63}$"


def normalize_username(value: str) -> str:
    """Usernames are case-insensitive: stored and looked up trimmed and lower case."""
    return value.strip().lower()


def _normalized(value: object) -> object:
    return normalize_username(value) if isinstance(value, str) else value


Username = Annotated[
    str,
    BeforeValidator(_normalized),
    StringConstraints(pattern=USERNAME_PATTERN),
    Field(description="3-64 of a-z 0-9 . _ - (case-insensitive)"),
]
# What a sign-in form may send: any short text; it only has to match a real username.
LoginName = Annotated[
    str,
    BeforeValidator(_normalized),
    StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$"),
]
NewPassword = Annotated[
    str,
    StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=1024),
    AfterValidator(no_nul),
]


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    unit: UnitRef | None
    roles: list[Role]
    active: bool
    created_at: datetime


class DirectoryEntry(BaseModel):
    """What organizers may see of a colleague: enough to pick them, nothing more."""

    id: int
    username: str
    full_name: str
    roles: list[Role]
    unit: UnitRef | None


class UserPage(BaseModel):
    items: list[UserOut]
    total: int


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    full_name: Name
    unit_id: DbId | None = None
    roles: list[Role] = Field(min_length=1)
    password: NewPassword
    active: bool = True


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: Name | None = None
    unit_id: DbId | None = None
    roles: list[Role] | None = Field(default=None, min_length=1)
    active: bool | None = None
    password: NewPassword | None = None


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: LoginName
    password: Password


class PointLoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_token: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")


class SessionOut(BaseModel):
    token: str = Field(description="bearer token; also set as an HttpOnly cookie")
    csrf_token: str = Field(description="send as X-CSRF-Token with cookie-authenticated writes")
    expires_at: datetime


class LoginResponse(SessionOut):
    user: UserOut


class PointLoginResponse(SessionOut):
    point: PointOut


class MeOut(BaseModel):
    kind: PrincipalKind
    user: UserOut | None = None
    point: PointOut | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Password
    new_password: NewPassword
