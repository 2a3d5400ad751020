"""API shapes of users, sign-in and the caller's own identity."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from server.accounts.passwords import MIN_PASSWORD_LENGTH
from server.identity import PrincipalKind, Role
from server.network.schemas import PointOut, UnitRef

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,63}$"
MAX_PASSWORD_LENGTH = 1024


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    unit: UnitRef | None
    roles: list[Role]
    active: bool
    created_at: datetime


class UserPage(BaseModel):
    items: list[UserOut]
    total: int


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN, description="3-64 of a-z 0-9 . _ -")
    full_name: str = Field(min_length=1, max_length=200)
    unit_id: int | None = None
    roles: list[Role] = Field(min_length=1)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    active: bool = True

    _username_lower = field_validator("username", mode="before")(_lower)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    unit_id: int | None = None
    roles: list[Role] | None = Field(default=None, min_length=1)
    active: bool | None = None
    password: str | None = Field(
        default=None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    )


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)

    _username_lower = field_validator("username", mode="before")(_lower)


class PointLoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_token: str = Field(min_length=1, max_length=200)


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

    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
