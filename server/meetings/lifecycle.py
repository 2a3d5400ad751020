"""The meeting lifecycle as a pure state machine.

    draft -> scheduled -> live -> ended -> closed
    draft, scheduled -> cancelled

Who may take each step is decided here too, from the actor's relation to the meeting, so
the whole table is tested without HTTP or a database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class MeetingStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Action(enum.StrEnum):
    SCHEDULE = "schedule"
    START = "start"
    END = "end"
    CLOSE = "close"
    CANCEL = "cancel"


TRANSITIONS: dict[Action, tuple[frozenset[MeetingStatus], MeetingStatus]] = {
    Action.SCHEDULE: (frozenset({MeetingStatus.DRAFT}), MeetingStatus.SCHEDULED),
    Action.START: (frozenset({MeetingStatus.SCHEDULED}), MeetingStatus.LIVE),
    Action.END: (frozenset({MeetingStatus.LIVE}), MeetingStatus.ENDED),
    Action.CLOSE: (frozenset({MeetingStatus.ENDED}), MeetingStatus.CLOSED),
    Action.CANCEL: (
        frozenset({MeetingStatus.DRAFT, MeetingStatus.SCHEDULED}),
        MeetingStatus.CANCELLED,
    ),
}

# While these hold, the agenda and the invitations may still change.
OPEN_STATUSES = frozenset({MeetingStatus.DRAFT, MeetingStatus.SCHEDULED, MeetingStatus.LIVE})
# While these hold, the title, times and people may still change.
PLANNING_STATUSES = frozenset({MeetingStatus.DRAFT, MeetingStatus.SCHEDULED})


@dataclass(frozen=True)
class MeetingActor:
    """How the actor stands to one meeting."""

    is_admin: bool = False
    is_chair: bool = False  # the meeting's chair
    is_secretary: bool = False  # the meeting's secretary
    is_organizer: bool = False  # any secretary-role user who created it


class InvalidTransition(Exception):
    """The action does not apply to the meeting's current status."""

    def __init__(self, status: MeetingStatus, action: Action) -> None:
        super().__init__(f"cannot {action} a meeting that is {status}")
        self.status = status
        self.action = action


class NotAllowed(Exception):
    """The actor may not take this action on this meeting."""

    def __init__(self, action: Action, who: str) -> None:
        super().__init__(f"only {who} may {action} the meeting")
        self.action = action


def _may(action: Action, actor: MeetingActor, minutes_approved: bool) -> tuple[bool, str]:
    if action in (Action.START, Action.END):
        return actor.is_chair or actor.is_secretary, "its chair or secretary"
    if action is Action.CLOSE:
        # Closing needs approved minutes; until minutes exist only an admin may close.
        if minutes_approved:
            return actor.is_chair or actor.is_secretary or actor.is_admin, (
                "its chair, its secretary or an admin"
            )
        return actor.is_admin, "an admin (no approved minutes yet)"
    # schedule, cancel
    return (
        actor.is_secretary or actor.is_organizer or actor.is_admin,
        "its secretary, its creator or an admin",
    )


def transition(
    status: MeetingStatus,
    action: Action,
    actor: MeetingActor,
    *,
    minutes_approved: bool = False,
) -> MeetingStatus:
    """The status after ``action``, or InvalidTransition / NotAllowed.

    The status is checked first: a 409 with the current status tells every caller what
    happened, whoever they are.
    """
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise InvalidTransition(status, action)
    allowed, who = _may(action, actor, minutes_approved)
    if not allowed:
        raise NotAllowed(action, who)
    return target
