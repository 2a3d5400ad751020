"""Who is acting: roles and the authenticated principal (a user or a conference point).

Part of the shared kernel: ``rooms`` and ``agenda`` use these to decide permissions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Role(enum.StrEnum):
    ADMIN = "admin"
    SECRETARY = "secretary"
    CHAIR = "chair"
    OFFICIAL = "official"
    OPERATOR = "operator"


class PrincipalKind(enum.StrEnum):
    USER = "user"
    POINT = "point"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request or one WebSocket.

    A conference point (authenticated by its device token) has no roles; it acts as itself.
    """

    kind: PrincipalKind
    id: int
    name: str  # a user's username, a point's name
    unit_id: int | None
    roles: frozenset[Role] = field(default_factory=frozenset)
    session_id: int | None = None
    display_name: str = ""  # as people read it: a user's full name, a point's name

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name

    @property
    def is_point(self) -> bool:
        return self.kind is PrincipalKind.POINT

    @property
    def is_user(self) -> bool:
        return self.kind is PrincipalKind.USER

    def has_any(self, roles: frozenset[Role] | set[Role]) -> bool:
        return bool(self.roles & roles)
