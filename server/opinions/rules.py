"""Written opinions as pure rules: whether a request still takes answers, which reminder is
due for an unanswered recipient, and the count of the answers.

A request is open until its deadline or until the secretary closes it early; recipients
are reminded at fixed lead times before the deadline (by default 3 days, 1 day, 2 hours),
one reminder per lead time, the most urgent one reached.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_OPTIONS = ("Đồng ý", "Không đồng ý", "Ý kiến khác")
DEFAULT_REMINDER_HOURS = (72, 24, 2)


class Phase(enum.StrEnum):
    DRAFT = "draft"  # not sent yet: its documents are still being attached
    OPEN = "open"  # takes answers
    CLOSED = "closed"  # the deadline passed, or the secretary closed it


def phase(
    deadline: datetime, closed_at: datetime | None, now: datetime, sent: bool = True
) -> Phase:
    if closed_at is not None or now >= deadline:
        return Phase.CLOSED
    return Phase.OPEN if sent else Phase.DRAFT


def reminder_due(
    deadline: datetime,
    now: datetime,
    lead_hours: Sequence[int],
    already_sent: Iterable[int] = (),
) -> int | None:
    """The lead time (hours before the deadline) of the reminder to send now, if any: the
    shortest one already reached, unless it (or a shorter one) was sent. ``None`` once the
    deadline has passed: a reminder then would only ask for what can no longer be given."""
    if now >= deadline:
        return None
    reached = [h for h in lead_hours if deadline - timedelta(hours=h) <= now]
    if not reached:
        return None
    due = min(reached)
    sent = set(already_sent)
    if any(h <= due for h in sent):
        return None
    return due


@dataclass(frozen=True)
class Count:
    options: tuple[str, ...]
    counts: tuple[int, ...]
    recipients: int

    @property
    def answered(self) -> int:
        return sum(self.counts)

    def as_dict(self) -> dict[str, object]:
        return {
            "options": list(self.options),
            "counts": list(self.counts),
            "pct_of_recipients": [_pct(c, self.recipients) for c in self.counts],
            "pct_of_answered": [_pct(c, self.answered) for c in self.counts],
            "recipients": self.recipients,
            "answered": self.answered,
            "not_answered": self.recipients - self.answered,
        }


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def count(options: Sequence[str], choices: Iterable[int | None], recipients: int) -> Count:
    """The count of each option among the answers (``None``: not answered yet)."""
    counts = [0] * len(options)
    for choice in choices:
        if choice is not None:
            counts[choice] += 1
    if sum(counts) > recipients:
        raise ValueError(f"{sum(counts)} answers from {recipients} recipients")
    return Count(tuple(options), tuple(counts), recipients)
