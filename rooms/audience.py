"""Which members receive which events."""

from __future__ import annotations

from typing import Any

from rooms.state import ORGANIZERS, Role


def receives(kind: str, data: dict[str, Any], key: str, role: Role) -> bool:
    """Whether the member ``key`` (with ``role``) is sent this event, live or on resume."""
    if kind == "chat.sent" and data.get("to") == "organizers":
        return role in ORGANIZERS or data.get("from") == key
    return True
