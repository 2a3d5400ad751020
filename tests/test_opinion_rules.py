"""Written opinions as pure rules: when a request takes answers, which reminder is due,
and the count of the answers (by table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.opinions.rules import Phase, count, phase, reminder_due

DEADLINE = datetime(2026, 12, 10, 17, 0, tzinfo=UTC)
LEADS = (72, 24, 2)


def before(hours: float) -> datetime:
    return DEADLINE - timedelta(hours=hours)


@pytest.mark.parametrize(
    ("now", "closed_at", "expected"),
    [
        (before(100), None, Phase.OPEN),
        (before(0.001), None, Phase.OPEN),
        (DEADLINE, None, Phase.CLOSED),  # the deadline itself is too late
        (before(-1), None, Phase.CLOSED),
        (before(10), before(20), Phase.CLOSED),  # closed early by the secretary
    ],
)
def test_phase(now: datetime, closed_at: datetime | None, expected: Phase) -> None:
    assert phase(DEADLINE, closed_at, now) is expected


@pytest.mark.parametrize(
    ("hours_left", "sent", "expected"),
    [
        (100, (), None),  # no lead time reached yet
        (72, (), 72),  # exactly at the first lead time
        (50, (), 72),
        (50, (72,), None),  # already reminded for this lead time
        (23, (72,), 24),  # the next lead time reached
        (23, (), 24),  # nothing sent before: only the most urgent, not all three
        (1, (), 2),
        (1, (72, 24), 2),
        (1, (2,), None),
        (30, (24,), None),  # a shorter one was sent (deadline moved later): nothing earlier
        (0, (), None),  # at the deadline: too late to remind
        (-5, (), None),
    ],
)
def test_reminder_due(hours_left: float, sent: tuple[int, ...], expected: int | None) -> None:
    assert reminder_due(DEADLINE, before(hours_left), LEADS, sent) == expected


def test_no_lead_times_means_no_reminders() -> None:
    assert reminder_due(DEADLINE, before(1), ()) is None


@pytest.mark.parametrize(
    ("choices", "recipients", "counts", "pct_recipients", "pct_answered", "not_answered"),
    [
        ([0, 0, 1, None], 4, [2, 1, 0], [50.0, 25.0, 0.0], [66.67, 33.33, 0.0], 1),
        ([], 3, [0, 0, 0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], 3),
        ([2, 2], 2, [0, 0, 2], [0.0, 0.0, 100.0], [0.0, 0.0, 100.0], 0),
        ([], 0, [0, 0, 0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], 0),
    ],
)
def test_count(
    choices: list[int | None],
    recipients: int,
    counts: list[int],
    pct_recipients: list[float],
    pct_answered: list[float],
    not_answered: int,
) -> None:
    result = count(("A", "B", "C"), choices, recipients).as_dict()
    assert result["counts"] == counts
    assert result["pct_of_recipients"] == pct_recipients
    assert result["pct_of_answered"] == pct_answered
    assert result["not_answered"] == not_answered


def test_more_answers_than_recipients_is_a_bug_not_a_result() -> None:
    with pytest.raises(ValueError, match="3 answers from 2 recipients"):
        count(("A", "B"), [0, 1, 1], 2)
