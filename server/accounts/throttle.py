"""Failed sign-in policy: slow down after a few failures, then lock the username for a while.

Pure: the route keeps the record in the database and asks this module what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    slowdown_after: int = 3
    lock_for: timedelta = timedelta(minutes=15)
    max_delay_seconds: float = 4.0


@dataclass(frozen=True)
class FailureRecord:
    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None


def locked_until(record: FailureRecord | None, now: datetime) -> datetime | None:
    """When the username unlocks, or None if sign-in may be tried now."""
    if record and record.locked_until and record.locked_until > now:
        return record.locked_until
    return None


def after_failure(
    record: FailureRecord | None, now: datetime, policy: ThrottlePolicy
) -> FailureRecord:
    """The record after one more failed attempt.

    Failures older than one lock period are forgotten, so a user who mistypes now and then
    is never locked out.
    """
    stale = (
        record is None
        or record.last_failure_at is None
        or now - record.last_failure_at > policy.lock_for
        or (record.locked_until is not None and record.locked_until <= now)
    )
    failures = 1 if stale or record is None else record.failures + 1
    lock = now + policy.lock_for if failures >= policy.max_failures else None
    return FailureRecord(failures=failures, last_failure_at=now, locked_until=lock)


def delay_seconds(record: FailureRecord, policy: ThrottlePolicy) -> float:
    """How long to hold the answer to a failed attempt: doubling after ``slowdown_after``."""
    extra = record.failures - policy.slowdown_after
    if extra <= 0:
        return 0.0
    return min(0.5 * 2 ** (extra - 1), policy.max_delay_seconds)
