"""Who is seen and heard where, from the room's state alone (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.state import ORGANIZERS, Role, RoomState

THUMBNAILS_PER_PAGE = 9
# The events that change anything read here or by the recorder; the rest (chat, hands,
# pages, roll calls) leave every slot as it was.
MEDIA_EVENTS = frozenset(
    {
        "room.opened",
        "room.closed",
        "member.joined",
        "member.left",
        "floor.granted",
        "floor.revoked",
        "member.muted",
        "member.unmuted",
        "mute_all.on",
        "mute_all.off",
        "recording.started",
        "recording.stopped",
        "agenda.current",
    }
)


@dataclass(frozen=True)
class Sources:
    main: str | None  # the chair (or, while no chair is in the room, a secretary)
    floor: str | None  # whoever has the floor, unless they are already on main


def sources(state: RoomState) -> Sources:
    if not state.open:
        return Sources(None, None)
    by_role: dict[Role, list[str]] = {}
    for member in state.members.values():
        by_role.setdefault(member.role, []).append(member.key)
    main_candidates = sorted(by_role.get(Role.CHAIR, [])) or sorted(by_role.get(Role.SECRETARY, []))
    main = main_candidates[0] if main_candidates else None
    floor = state.floor.key if state.floor and state.floor.key != main else None
    return Sources(main, floor)


def sees_thumbnails(role: Role) -> bool:
    return role in ORGANIZERS or role is Role.ADMIN


def thumbnail_page(state: RoomState, page: int, per_page: int = THUMBNAILS_PER_PAGE) -> list[str]:
    """The points on one page of the organizers' grid, in name order."""
    points = sorted(
        (m for m in state.members.values() if m.role is Role.POINT), key=lambda m: (m.name, m.key)
    )
    start = max(0, page) * per_page
    return [m.key for m in points[start : start + per_page]]


def point_pages(state: RoomState, per_page: int = THUMBNAILS_PER_PAGE) -> int:
    points = sum(1 for m in state.members.values() if m.role is Role.POINT)
    return max(1, -(-points // per_page))


def audible(state: RoomState, key: str) -> bool:
    """Muting is enforced here, on the server: a muted member's audio goes nowhere."""
    return key not in state.muted
