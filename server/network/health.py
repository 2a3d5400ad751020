"""A conference point's health, as pure rules: its state from what was last heard of it,
and which alerts a live meeting needs raised or cleared.

States: offline (no sign of life), online and idle (not in a meeting), in a meeting and
good, degraded (loss, round-trip time or jitter over the limits), silent (in the meeting
but no media from it). The figures are the server's own measure of the point's media link
(rooms/media); a point's own report (its heartbeat) fills in when the server has none.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


class Health(enum.StrEnum):
    OFFLINE = "offline"
    IDLE = "online_idle"
    GOOD = "in_meeting_good"
    DEGRADED = "degraded"
    SILENT = "silent"


@dataclass(frozen=True)
class Limits:
    loss_pct: float = 5.0
    rtt_ms: float = 400.0
    jitter_ms: float = 80.0
    # Below this the point sends no media worth the name (audio alone is ~30 kbit/s).
    silent_kbps: float = 8.0
    # Figures older than this say nothing about now.
    stale_seconds: float = 30.0
    # With media off (HOINGHI_MEDIA_ENABLED=false) nobody sends any: never "silent".
    expect_media: bool = True


@dataclass(frozen=True)
class Reading:
    """What is known of a point now."""

    online: bool
    meeting_id: int | None  # the live room it is in, if any
    link: Mapping[str, Any] | None = None  # latest figures of its media link
    link_age_seconds: float | None = None
    link_meeting_id: int | None = None  # the meeting those figures were measured in


@dataclass(frozen=True)
class Verdict:
    health: Health
    reasons: tuple[str, ...] = field(default_factory=tuple)


def derive(reading: Reading, limits: Limits) -> Verdict:
    if not reading.online:
        return Verdict(Health.OFFLINE, ("no sign of life",))
    if reading.meeting_id is None:
        return Verdict(Health.IDLE)
    if not limits.expect_media:
        return Verdict(Health.GOOD)
    link = reading.link
    fresh = (
        link is not None
        and reading.link_age_seconds is not None
        and reading.link_age_seconds <= limits.stale_seconds
        and reading.link_meeting_id in (None, reading.meeting_id)
    )
    if not fresh or link is None:
        return Verdict(Health.SILENT, ("no media figures from the point",))
    kbps_in = _number(link.get("kbps_in"))
    # None: a new connection's first figures carry no rate yet; judged at the next ones.
    if kbps_in is not None and kbps_in < limits.silent_kbps:
        return Verdict(Health.SILENT, (f"sends {kbps_in:g} kbit/s",))
    reasons = []
    for name, limit, unit in (
        ("loss_pct", limits.loss_pct, "%"),
        ("rtt_ms", limits.rtt_ms, " ms"),
        ("jitter_ms", limits.jitter_ms, " ms"),
    ):
        value = _number(link.get(name))
        if value is not None and value > limit:
            reasons.append(f"{name} {value:g}{unit} > {limit:g}{unit}")
    if reasons:
        return Verdict(Health.DEGRADED, tuple(reasons))
    return Verdict(Health.GOOD)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


Key = tuple[int, int]  # (point id, meeting id)


def alert_kind(health: Health, in_meeting_id: int | None, meeting_id: int) -> str | None:
    """The alert a point that took part in live meeting ``meeting_id`` calls for now:
    ``offline``; ``left`` (online, but no longer in that meeting's room); ``degraded``;
    ``silent``; or none."""
    if health is Health.OFFLINE:
        return "offline"
    if in_meeting_id != meeting_id:
        return "left"
    if health in (Health.DEGRADED, Health.SILENT):
        return health.value
    return None


@dataclass(frozen=True)
class AlertChanges:
    raise_: dict[Key, str]
    clear: list[Key]


def alert_changes(wanted: Mapping[Key, str], open_alerts: Mapping[Key, str]) -> AlertChanges:
    """From the alerts the points taking part in live meetings call for (``wanted``) and
    the alerts open now: which to raise and which to clear. A point whose trouble changes
    kind (degraded, then offline) has the old alert cleared and a new one raised."""
    raise_: dict[Key, str] = {}
    clear: list[Key] = []
    for key, kind in open_alerts.items():
        if wanted.get(key) != kind:
            clear.append(key)
    for key, kind in wanted.items():
        if open_alerts.get(key) != kind:
            raise_[key] = kind
    return AlertChanges(raise_, sorted(clear))


# A self-test older than this no longer says the point is ready.
SELF_TEST_VALID = timedelta(days=7)


def readiness(
    health: Health, self_test_at: datetime | None, self_test_passed: bool, now: datetime
) -> tuple[bool, list[str]]:
    """Whether a point is ready for a meeting about to start, and if not why (codes the
    client puts in words): ``offline``, ``degraded``, ``no_self_test``,
    ``self_test_failed``, ``self_test_old``."""
    reasons = []
    if health is Health.OFFLINE:
        reasons.append("offline")
    elif health is Health.DEGRADED:
        reasons.append("degraded")
    if self_test_at is None:
        reasons.append("no_self_test")
    elif not self_test_passed:
        reasons.append("self_test_failed")
    elif now - self_test_at > SELF_TEST_VALID:
        reasons.append("self_test_old")
    return not reasons, reasons
