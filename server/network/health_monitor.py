"""Watching the points' health all the time.

Every few seconds each point's state is derived (``health.derive``) and kept in memory
for the API. Points taking part in a live meeting (they attended it) that go offline, leave
the room, degrade or fall silent raise alerts, cleared when they recover or the meeting
ends; each change also goes to an optional webhook. Once a minute a sample per point goes
into the history, which keeps a day.

With several server processes each derives states for its own answers; alerts and samples
are written by one process at a time (a PostgreSQL advisory lock; SQLite has one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from rooms.hub import SEQ_NOTICE_SECONDS
from server.db import Database, utcnow
from server.meetings.lifecycle import MeetingStatus
from server.meetings.models import Invitation, InvitationState, Meeting
from server.network.health import Health, Limits, Reading, alert_changes, alert_kind, derive
from server.network.health_models import Alert, PointSample
from server.network.models import ConferencePoint
from server.settings import Settings

log = logging.getLogger(__name__)

HISTORY = timedelta(hours=24)
KEEP_CLEARED_ALERTS = timedelta(days=30)
PRUNE_EVERY = timedelta(hours=1)
STARTUP_GRACE_SECONDS = 3 * SEQ_NOTICE_SECONDS
# Any constant works; it only has to be the same in every process.
PG_HEALTH_LOCK = 0x68656C74
LINK_FIGURES = ("rtt_ms", "loss_pct", "jitter_ms", "kbps_in", "kbps_out", "fps_in")


@dataclass(frozen=True)
class PointHealth:
    id: int
    name: str
    health: Health
    reasons: tuple[str, ...]
    meeting_id: int | None
    link: dict[str, Any] | None
    last_seen_at: datetime | None

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "health": self.health.value,
            "reasons": list(self.reasons),
            "meeting_id": self.meeting_id,
            "link": self.link,
            "last_seen_at": self.last_seen_at.isoformat() if self.last_seen_at else None,
        }


def limits_from(settings: Settings) -> Limits:
    return Limits(
        loss_pct=settings.health_loss_pct,
        rtt_ms=settings.health_rtt_ms,
        jitter_ms=settings.health_jitter_ms,
        silent_kbps=settings.health_silent_kbps,
        expect_media=settings.media_enabled,
    )


def _link(
    server: dict[str, Any] | None,
    reported: dict[str, Any] | None,
    reported_at: datetime | None,
    now: datetime,
) -> tuple[dict[str, Any] | None, float | None, int | None]:
    """The freshest figures of a point's link: the server's own measure, else the point's
    report (which says nothing of the meeting it was in)."""
    if server and isinstance(server.get("at"), str):
        with contextlib.suppress(ValueError):
            at = datetime.fromisoformat(server["at"])
            meeting = server.get("meeting_id")
            return server, (now - at).total_seconds(), meeting if isinstance(meeting, int) else None
    if reported and reported_at is not None:
        return reported, (now - reported_at).total_seconds(), None
    return None, None, None


class HealthMonitor:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        points_in_meetings: Callable[[], dict[int, int]],
    ) -> None:
        self.database = database
        self.settings = settings
        self.limits = limits_from(settings)
        self.points_in_meetings = points_in_meetings
        self.points: dict[int, PointHealth] = {}
        self.checked_at: datetime | None = None
        self._sampled_minute: datetime | None = None
        self._pruned_at: datetime | None = None
        self._webhooks: set[asyncio.Task[None]] = set()
        self._writes_from = 0.0  # loop time before which no alert is written (see _loop)

    async def check(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Derive every point's state; raise and clear alerts; sample once a minute.
        Returns the alert changes written (each also sent to the webhook)."""
        now = now or utcnow()
        async with self.database.reader() as db:
            rows = (
                await db.execute(
                    select(
                        ConferencePoint.id,
                        ConferencePoint.name,
                        ConferencePoint.enabled,
                        ConferencePoint.last_seen_at,
                        ConferencePoint.last_link_stats,
                        ConferencePoint.reported_stats,
                        ConferencePoint.reported_at,
                    )
                )
            ).all()
            taking_part = (
                await db.execute(
                    select(Invitation.point_id, Invitation.meeting_id)
                    .join(Meeting, Meeting.id == Invitation.meeting_id)
                    .where(
                        Meeting.status == MeetingStatus.LIVE,
                        Invitation.point_id.is_not(None),
                        Invitation.state == InvitationState.ATTENDED,
                    )
                )
            ).all()
        in_meeting = self.points_in_meetings()
        since = now - timedelta(seconds=self.settings.point_online_seconds)
        points: dict[int, PointHealth] = {}
        for pid, name, enabled, last_seen, server, reported, reported_at in rows:
            meeting = in_meeting.get(pid) if enabled else None
            online = bool(enabled) and (
                meeting is not None or (last_seen is not None and last_seen > since)
            )
            link, age, link_meeting = _link(server, reported, reported_at, now)
            verdict = derive(Reading(online, meeting, link, age, link_meeting), self.limits)
            points[pid] = PointHealth(
                pid, name, verdict.health, verdict.reasons, meeting, link, last_seen
            )
        self.points, self.checked_at = points, now
        wanted: dict[tuple[int, int], str] = {}
        for pid, meeting_id in taking_part:
            state = points.get(pid) if pid is not None else None
            if pid is None or state is None:
                continue
            kind = alert_kind(state.health, state.meeting_id, meeting_id)
            if kind is not None:
                wanted[(pid, meeting_id)] = kind
        if asyncio.get_running_loop().time() < self._writes_from:
            return []
        changes = await self._write(now, wanted)
        for change in changes:
            self._send(change)
        return changes

    async def _write(
        self, now: datetime, wanted: dict[tuple[int, int], str]
    ) -> list[dict[str, Any]]:
        async with self.database.writer() as db:
            if db.get_bind().dialect.name == "postgresql":
                mine = await db.scalar(text(f"SELECT pg_try_advisory_xact_lock({PG_HEALTH_LOCK})"))
                if not mine:
                    return []  # another process is writing this round
            open_rows = list(await db.scalars(select(Alert).where(Alert.cleared_at.is_(None))))
            by_key = {(a.point_id, a.meeting_id): a for a in open_rows}
            delta = alert_changes(wanted, {k: a.kind for k, a in by_key.items()})
            changes: list[dict[str, Any]] = []
            for key in delta.clear:
                alert = by_key[key]
                alert.cleared_at = now
                changes.append(_alert_json(alert, "alert.cleared", self.points))
            for (pid, meeting_id), kind in delta.raise_.items():
                state = self.points[pid]
                alert = Alert(
                    kind=kind,
                    point_id=pid,
                    meeting_id=meeting_id,
                    detail="; ".join(state.reasons)[:500],
                    raised_at=now,
                )
                db.add(alert)
                await db.flush()
                changes.append(_alert_json(alert, "alert.raised", self.points))
            await self._sample(db, now)
            await self._prune(db, now)
            await db.commit()
        for change in changes:
            log.info(
                "%s %s point=%s meeting=%s",
                change["event"],
                change["kind"],
                change["point_id"],
                change["meeting_id"],
            )
        return changes

    async def _sample(self, db: AsyncSession, now: datetime) -> None:
        minute = now.replace(second=0, microsecond=0)
        if minute == self._sampled_minute or not self.points:
            return
        self._sampled_minute = minute
        rows = []
        for state in self.points.values():
            link = state.link or {}
            row: dict[str, Any] = {
                "point_id": state.id,
                "minute": minute,
                "health": state.health.value,
                "meeting_id": state.meeting_id,
            }
            for name in (*LINK_FIGURES, "width", "height"):
                value = link.get(name) if state.health is not Health.OFFLINE else None
                row[name] = (
                    value
                    if isinstance(value, int | float) and not isinstance(value, bool)
                    else None
                )
            rows.append(row)
        dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
        # Another process may have sampled this minute already: the first one stays.
        await db.execute(dialect.insert(PointSample).on_conflict_do_nothing(), rows)

    async def _prune(self, db: AsyncSession, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        await db.execute(delete(PointSample).where(PointSample.minute < now - HISTORY))
        await db.execute(
            delete(Alert).where(
                Alert.cleared_at.is_not(None), Alert.cleared_at < now - KEEP_CLEARED_ALERTS
            )
        )

    def _send(self, change: dict[str, Any]) -> None:
        url = self.settings.alert_webhook_url
        if not url:
            return
        task = asyncio.create_task(asyncio.to_thread(_post_json, url, change))
        self._webhooks.add(task)
        task.add_done_callback(self._webhooks.discard)

    async def _loop(self, stop: asyncio.Event) -> None:
        # Other processes' points are known from their presence notices (every few
        # seconds): until they have been heard, this process judges states but writes no
        # alert, or it would raise "left" for every point attached elsewhere.
        grace = STARTUP_GRACE_SECONDS if self.settings.redis_url else 0.0  # one process: none
        self._writes_from = asyncio.get_running_loop().time() + grace
        while not stop.is_set():
            try:
                await self.check()
            except Exception:  # keep watching; the next round retries
                log.exception("health: check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.health_check_seconds)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[HealthMonitor]:
        stop = asyncio.Event()
        task = asyncio.create_task(self._loop(stop), name="health")
        try:
            yield self
        finally:
            stop.set()
            await task
            if self._webhooks:
                await asyncio.wait(self._webhooks, timeout=5)


def _alert_json(alert: Alert, event: str, points: dict[int, PointHealth]) -> dict[str, Any]:
    state = points.get(alert.point_id)
    return {
        "event": event,
        "id": alert.id,
        "kind": alert.kind,
        "point_id": alert.point_id,
        "point_name": state.name if state else "",
        "meeting_id": alert.meeting_id,
        "detail": alert.detail,
        "raised_at": alert.raised_at.isoformat(),
        "cleared_at": alert.cleared_at.isoformat() if alert.cleared_at else None,
    }


def _post_json(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
    except Exception as exc:  # a bad URL or a dead service: logged, never raised
        # The host only: a webhook's path often holds its secret.
        host = urllib.parse.urlsplit(url).hostname or "?"
        log.warning("health: webhook to %s failed: %s", host, type(exc).__name__)
