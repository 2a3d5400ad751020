"""The meeting lifecycle on its own: every (status, action) pair and who may take each step."""

from __future__ import annotations

import itertools

import pytest

from server.meetings.lifecycle import (
    Action,
    InvalidTransition,
    MeetingActor,
    MeetingStatus,
    NotAllowed,
    transition,
)

S = MeetingStatus
LEGAL = {
    (S.DRAFT, Action.SCHEDULE): S.SCHEDULED,
    (S.SCHEDULED, Action.START): S.LIVE,
    (S.LIVE, Action.END): S.ENDED,
    (S.ENDED, Action.CLOSE): S.CLOSED,
    (S.DRAFT, Action.CANCEL): S.CANCELLED,
    (S.SCHEDULED, Action.CANCEL): S.CANCELLED,
}
EVERYONE = MeetingActor(is_admin=True, is_chair=True, is_secretary=True, is_organizer=True)


@pytest.mark.parametrize(("status", "action"), list(itertools.product(S, Action)))
def test_every_status_and_action_pair(status: MeetingStatus, action: Action) -> None:
    if (status, action) in LEGAL:
        assert transition(status, action, EVERYONE) is LEGAL[(status, action)]
    else:
        with pytest.raises(InvalidTransition) as caught:
            transition(status, action, EVERYONE)
        assert caught.value.status is status
        assert str(status) in str(caught.value)


def test_nothing_leaves_closed_or_cancelled() -> None:
    for status, action in itertools.product((S.CLOSED, S.CANCELLED), Action):
        with pytest.raises(InvalidTransition):
            transition(status, action, EVERYONE)


ADMIN = MeetingActor(is_admin=True)
CHAIR = MeetingActor(is_chair=True)
SECRETARY = MeetingActor(is_secretary=True)
CREATOR = MeetingActor(is_organizer=True)
STRANGER = MeetingActor()

# Who may take each legal step (minutes not yet approved).
MAY = {
    Action.SCHEDULE: {"admin", "secretary", "creator"},
    Action.START: {"chair", "secretary"},
    Action.END: {"chair", "secretary"},
    Action.CLOSE: {"admin"},
    Action.CANCEL: {"admin", "secretary", "creator"},
}
ACTORS = {
    "admin": ADMIN,
    "chair": CHAIR,
    "secretary": SECRETARY,
    "creator": CREATOR,
    "stranger": STRANGER,
}


@pytest.mark.parametrize(("status", "action"), list(LEGAL))
@pytest.mark.parametrize("who", list(ACTORS))
def test_who_may_take_each_step(status: MeetingStatus, action: Action, who: str) -> None:
    if who in MAY[action]:
        assert transition(status, action, ACTORS[who]) is LEGAL[(status, action)]
    else:
        with pytest.raises(NotAllowed):
            transition(status, action, ACTORS[who])


def test_with_approved_minutes_the_chair_and_secretary_close() -> None:
    for actor in (CHAIR, SECRETARY, ADMIN):
        assert transition(S.ENDED, Action.CLOSE, actor, minutes_approved=True) is S.CLOSED
    with pytest.raises(NotAllowed):
        transition(S.ENDED, Action.CLOSE, STRANGER, minutes_approved=True)


def test_an_illegal_step_says_so_before_asking_who() -> None:
    # A stranger asking to start an ended meeting learns it is ended (409), not "forbidden".
    with pytest.raises(InvalidTransition):
        transition(S.ENDED, Action.START, STRANGER)
