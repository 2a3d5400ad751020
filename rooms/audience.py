"""Which members receive which events.

Presence (who joins and leaves, who answered the roll call) goes to the people who run
the meeting and to the member itself: with 200 points joining at 08:00, telling every
point about every other would be 40,000 messages for nothing a point's screen shows.
Points and officials get the member count and the members that matter to them
(organizers, the floor, the queue) in their snapshot; events that change the floor, the
queue or the page go to everyone.
"""

from __future__ import annotations

from typing import Any

from rooms.state import ORGANIZERS, Role

# Who sees the whole membership live.
WATCHERS = ORGANIZERS | {Role.ADMIN}
# Events that say who is present: for the watchers, and the member they are about.
PRESENCE = frozenset({"member.joined", "member.left", "roll_call.answered"})


def receives(kind: str, data: dict[str, Any], key: str, role: Role) -> bool:
    """Whether the member ``key`` (with ``role``) is sent this event, live or on resume."""
    if kind == "chat.sent" and data.get("to") == "organizers":
        return role in ORGANIZERS or data.get("from") == key
    if kind in PRESENCE:
        return role in WATCHERS or data.get("key") == key
    return True
