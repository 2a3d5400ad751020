"""The failed sign-in policy, on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.accounts.throttle import (
    FailureRecord,
    ThrottlePolicy,
    after_failure,
    delay_seconds,
    locked_until,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(max_failures=5, slowdown_after=3, lock_for=timedelta(minutes=15))


def _fail(times: int, start: FailureRecord | None = None) -> FailureRecord | None:
    record = start
    for i in range(times):
        record = after_failure(record, NOW + timedelta(seconds=i), POLICY)
    return record


def test_first_failures_are_answered_at_once_then_slower() -> None:
    delays = [delay_seconds(_fail(n), POLICY) for n in range(1, 5)]  # type: ignore[arg-type]
    assert delays == [0.0, 0.0, 0.0, 0.5]
    long_run = ThrottlePolicy(max_failures=100, slowdown_after=3)
    record = None
    for _ in range(20):
        record = after_failure(record, NOW, long_run)
    assert record is not None and delay_seconds(record, long_run) == long_run.max_delay_seconds


def test_the_fifth_failure_locks_for_the_lock_period() -> None:
    record = _fail(5)
    assert record is not None
    assert locked_until(record, NOW + timedelta(minutes=1)) == record.locked_until
    assert locked_until(record, NOW + timedelta(minutes=16)) is None
    assert locked_until(_fail(4), NOW) is None


def test_old_failures_are_forgotten() -> None:
    record = _fail(4)
    later = after_failure(record, NOW + timedelta(hours=1), POLICY)
    assert later.failures == 1
    assert later.locked_until is None


def test_a_failure_after_a_lock_expired_starts_counting_again() -> None:
    record = _fail(5)
    assert record is not None and record.locked_until is not None
    after = after_failure(record, record.locked_until + timedelta(seconds=1), POLICY)
    assert after.failures == 1
