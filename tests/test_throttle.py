"""The failed sign-in policy, on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.accounts.throttle import (
    FailureRecord,
    ThrottlePolicy,
    Verdict,
    admit,
    after_failure,
    after_success,
    delay_seconds,
    locked_until,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(max_failures=5, slowdown_after=3, lock_for=timedelta(minutes=15))


def _fail(times: int, start: FailureRecord | None = None) -> FailureRecord:
    """``times`` attempts one after another, each admitted and then failed."""
    record = start or FailureRecord()
    for i in range(times):
        now = NOW + timedelta(seconds=i)
        record, verdict = admit(record, now, POLICY)
        if verdict is Verdict.ADMITTED:
            record = after_failure(record, now, POLICY)
    return record


def test_first_failures_are_answered_at_once_then_slower() -> None:
    delays = [delay_seconds(_fail(n), POLICY) for n in range(1, 5)]
    assert delays == [0.0, 0.0, 0.0, 0.5]
    long_run = ThrottlePolicy(max_failures=100, slowdown_after=3)
    record = FailureRecord()
    for _ in range(20):
        record, _verdict = admit(record, NOW, long_run)
        record = after_failure(record, NOW, long_run)
    assert delay_seconds(record, long_run) == long_run.max_delay_seconds


def test_the_fifth_failure_locks_for_the_lock_period() -> None:
    record = _fail(5)
    assert record.locked_until is not None
    assert locked_until(record, NOW + timedelta(minutes=1)) == record.locked_until
    assert locked_until(record, NOW + timedelta(minutes=16)) is None
    assert locked_until(_fail(4), NOW) is None


def test_a_locked_username_admits_nothing() -> None:
    record = _fail(5)
    after, verdict = admit(record, NOW + timedelta(minutes=1), POLICY)
    assert verdict is Verdict.LOCKED
    assert after == record


def test_parallel_attempts_get_no_more_tries_than_the_limit() -> None:
    # Thirty attempts arrive together: only as many as the limit are checked at all.
    record = FailureRecord()
    verdicts = []
    for _ in range(30):
        record, verdict = admit(record, NOW, POLICY)
        verdicts.append(verdict)
    assert verdicts.count(Verdict.ADMITTED) == POLICY.max_failures
    assert set(verdicts[POLICY.max_failures :]) == {Verdict.BUSY}
    # When the admitted ones all fail, the username locks.
    for _ in range(POLICY.max_failures):
        record = after_failure(record, NOW, POLICY)
    assert record.pending == 0
    assert locked_until(record, NOW) is not None


def test_parallel_right_passwords_are_asked_to_retry_not_locked() -> None:
    record = FailureRecord()
    for _ in range(POLICY.max_failures):
        record, _verdict = admit(record, NOW, POLICY)
    record, verdict = admit(record, NOW, POLICY)
    assert verdict is Verdict.BUSY
    for _ in range(POLICY.max_failures):
        record = after_success(record)
    assert record == FailureRecord(failures=0, pending=0, last_attempt_at=NOW)
    assert admit(record, NOW, POLICY)[1] is Verdict.ADMITTED


def test_the_attempt_after_four_failures_is_still_checked() -> None:
    # A user who mistyped four times may still get the fifth right.
    record, verdict = admit(_fail(4), NOW + timedelta(seconds=10), POLICY)
    assert verdict is Verdict.ADMITTED
    assert after_success(record).failures == 0


def test_old_failures_are_forgotten() -> None:
    later, verdict = admit(_fail(4), NOW + timedelta(hours=1), POLICY)
    assert verdict is Verdict.ADMITTED
    assert (later.failures, later.pending) == (0, 1)


def test_a_pending_count_left_by_a_crash_fades() -> None:
    stuck = FailureRecord(failures=0, pending=5, last_attempt_at=NOW)
    assert admit(stuck, NOW + timedelta(minutes=1), POLICY)[1] is Verdict.BUSY
    assert admit(stuck, NOW + timedelta(minutes=16), POLICY)[1] is Verdict.ADMITTED


def test_an_attempt_after_a_lock_expired_starts_counting_again() -> None:
    record = _fail(5)
    assert record.locked_until is not None
    after, verdict = admit(record, record.locked_until + timedelta(seconds=1), POLICY)
    assert verdict is Verdict.ADMITTED
    assert after.failures == 0
