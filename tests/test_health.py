"""A point's health state and the alerts of live meetings, by table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.network.health import (
    Health,
    Limits,
    Reading,
    alert_changes,
    alert_kind,
    derive,
    readiness,
)

LIMITS = Limits()
GOOD_LINK = {"kbps_in": 900.0, "loss_pct": 0.4, "rtt_ms": 35.0, "jitter_ms": 6.0}


def reading(**changes: Any) -> Reading:
    base: dict[str, Any] = {
        "online": True,
        "meeting_id": 7,
        "link": GOOD_LINK,
        "link_age_seconds": 3.0,
        "link_meeting_id": 7,
    }
    return Reading(**(base | changes))


@pytest.mark.parametrize(
    ("given", "expected", "reason"),
    [
        (reading(online=False), Health.OFFLINE, "no sign of life"),
        (reading(online=False, meeting_id=None), Health.OFFLINE, "no sign of life"),
        (reading(meeting_id=None), Health.IDLE, None),
        (reading(), Health.GOOD, None),
        (reading(link=None), Health.SILENT, "no media figures"),
        (reading(link_age_seconds=31), Health.SILENT, "no media figures"),  # stale
        (reading(link_meeting_id=6), Health.SILENT, "no media figures"),  # another meeting
        (reading(link=GOOD_LINK | {"kbps_in": 2.0}), Health.SILENT, "sends 2 kbit/s"),
        # A new connection's first figures have no rate yet: not judged silent for that.
        (reading(link=GOOD_LINK | {"kbps_in": None}), Health.GOOD, None),
        (reading(link=GOOD_LINK | {"kbps_in": 0}), Health.SILENT, "sends 0 kbit/s"),
        (reading(link=GOOD_LINK | {"loss_pct": 7.5}), Health.DEGRADED, "loss_pct 7.5% > 5%"),
        (reading(link=GOOD_LINK | {"loss_pct": 5.0}), Health.GOOD, None),  # at the limit
        (reading(link=GOOD_LINK | {"rtt_ms": 650}), Health.DEGRADED, "rtt_ms 650 ms > 400 ms"),
        (reading(link=GOOD_LINK | {"jitter_ms": 120}), Health.DEGRADED, "jitter_ms 120 ms"),
        (reading(link=GOOD_LINK | {"rtt_ms": None, "loss_pct": "x"}), Health.GOOD, None),
        (reading(link=GOOD_LINK | {"loss_pct": True}), Health.GOOD, None),  # not a number
    ],
)
def test_derive(given: Reading, expected: Health, reason: str | None) -> None:
    verdict = derive(given, LIMITS)
    assert verdict.health is expected
    if reason is None:
        assert verdict.reasons == ()
    else:
        assert any(reason in r for r in verdict.reasons), verdict.reasons


def test_several_reasons_are_all_given() -> None:
    link = GOOD_LINK | {"loss_pct": 12.0, "rtt_ms": 900.0}
    verdict = derive(reading(link=link), LIMITS)
    assert verdict.health is Health.DEGRADED and len(verdict.reasons) == 2


def test_without_media_a_point_in_a_meeting_is_good() -> None:
    quiet = Limits(expect_media=False)
    assert derive(reading(link=None), quiet).health is Health.GOOD
    assert derive(reading(online=False), quiet).health is Health.OFFLINE


@pytest.mark.parametrize(
    ("wanted", "open_alerts", "raised", "cleared"),
    [
        ({}, {}, {}, []),
        ({(1, 7): "offline"}, {}, {(1, 7): "offline"}, []),
        ({(1, 7): "offline"}, {(1, 7): "offline"}, {}, []),  # already open
        ({}, {(1, 7): "offline"}, {}, [(1, 7)]),  # back to good, or the meeting ended
        # The trouble changes kind: the old alert is cleared, a new one raised.
        ({(1, 7): "offline"}, {(1, 7): "degraded"}, {(1, 7): "offline"}, [(1, 7)]),
        (
            {(1, 7): "silent", (2, 7): "degraded"},
            {(2, 7): "degraded", (3, 8): "offline"},
            {(1, 7): "silent"},
            [(3, 8)],
        ),
    ],
)
def test_alert_changes(
    wanted: dict[tuple[int, int], str],
    open_alerts: dict[tuple[int, int], str],
    raised: dict[tuple[int, int], str],
    cleared: list[tuple[int, int]],
) -> None:
    changes = alert_changes(wanted, open_alerts)
    assert changes.raise_ == raised
    assert changes.clear == cleared


@pytest.mark.parametrize(
    ("health", "in_meeting", "expected"),
    [
        (Health.OFFLINE, None, "offline"),
        (Health.OFFLINE, 7, "offline"),
        (Health.IDLE, None, "left"),  # online, out of the room while the meeting goes on
        (Health.GOOD, 8, "left"),  # in another meeting's room
        (Health.GOOD, 7, None),
        (Health.DEGRADED, 7, "degraded"),
        (Health.SILENT, 7, "silent"),
    ],
)
def test_alert_kind(health: Health, in_meeting: int | None, expected: str | None) -> None:
    assert alert_kind(health, in_meeting, 7) == expected


NOW = datetime(2026, 12, 1, 7, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    ("health", "tested", "passed", "ready", "reasons"),
    [
        (Health.IDLE, NOW - timedelta(days=1), True, True, []),
        (Health.GOOD, NOW - timedelta(hours=1), True, True, []),
        (Health.SILENT, NOW - timedelta(hours=1), True, True, []),  # media starts in the room
        (Health.OFFLINE, NOW - timedelta(days=1), True, False, ["offline"]),
        (Health.DEGRADED, NOW - timedelta(days=1), True, False, ["degraded"]),
        (Health.IDLE, None, False, False, ["no_self_test"]),
        (Health.IDLE, NOW - timedelta(days=1), False, False, ["self_test_failed"]),
        (Health.IDLE, NOW - timedelta(days=8), True, False, ["self_test_old"]),
        (Health.OFFLINE, None, False, False, ["offline", "no_self_test"]),
    ],
)
def test_readiness(
    health: Health, tested: datetime | None, passed: bool, ready: bool, reasons: list[str]
) -> None:
    assert readiness(health, tested, passed, NOW) == (ready, reasons)
