"""Failed sign-in policy: slow down after a few failures, then lock the username for a while.

Pure: the sign-in service keeps the record in the database and asks this module what to do.
Attempts whose password is still being checked count as pending, and failures plus pending
attempts may never exceed the limit: a burst of parallel guesses gets no more tries than a
patient guesser, while a burst of right passwords (one account signed in from several
places at once) is only asked to retry, never locked out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    slowdown_after: int = 3
    lock_for: timedelta = timedelta(minutes=15)
    max_delay_seconds: float = 4.0


@dataclass(frozen=True)
class FailureRecord:
    failures: int = 0  # failed attempts since the last success
    pending: int = 0  # attempts admitted whose password is being checked
    last_attempt_at: datetime | None = None
    locked_until: datetime | None = None


class Verdict(enum.Enum):
    ADMITTED = "admitted"  # check the password
    LOCKED = "locked"  # refuse until locked_until
    BUSY = "busy"  # too many attempts in flight; retry in a moment


def locked_until(record: FailureRecord | None, now: datetime) -> datetime | None:
    """When the username unlocks, or None if sign-in may be tried now."""
    if record and record.locked_until and record.locked_until > now:
        return record.locked_until
    return None


def _current(record: FailureRecord | None, now: datetime, policy: ThrottlePolicy) -> FailureRecord:
    # Attempts older than one lock period, or from before a lock that has run out, no
    # longer count: a user who mistypes now and then is never locked out, and a pending
    # count left behind by a crashed request fades away.
    if (
        record is None
        or record.last_attempt_at is None
        or now - record.last_attempt_at > policy.lock_for
        or (record.locked_until is not None and record.locked_until <= now)
    ):
        return FailureRecord()
    return record


def admit(
    record: FailureRecord | None, now: datetime, policy: ThrottlePolicy
) -> tuple[FailureRecord, Verdict]:
    """Decide whether an attempt's password may be checked; count it if so."""
    if locked_until(record, now) is not None:
        assert record is not None
        return record, Verdict.LOCKED
    current = _current(record, now, policy)
    if current.failures + current.pending >= policy.max_failures:
        return current, Verdict.BUSY
    return replace(current, pending=current.pending + 1, last_attempt_at=now), Verdict.ADMITTED


def after_failure(record: FailureRecord, now: datetime, policy: ThrottlePolicy) -> FailureRecord:
    """An admitted attempt failed: count it, and lock once the limit is reached."""
    failures = record.failures + 1
    lock = record.locked_until
    if lock is None and failures >= policy.max_failures:
        lock = now + policy.lock_for
    return replace(
        record,
        failures=failures,
        pending=max(0, record.pending - 1),
        last_attempt_at=now,
        locked_until=lock,
    )


def after_success(record: FailureRecord) -> FailureRecord:
    """An admitted attempt had the right password: failures are forgiven."""
    return replace(record, failures=0, pending=max(0, record.pending - 1))


def delay_seconds(record: FailureRecord, policy: ThrottlePolicy) -> float:
    """How long to hold the answer to a failed attempt: doubling after ``slowdown_after``."""
    extra = record.failures - policy.slowdown_after
    if extra <= 0:
        return 0.0
    return min(0.5 * 2 ** (extra - 1), policy.max_delay_seconds)
