"""Prometheus metrics at ``GET /metrics`` (prometheus-client's text format).

Counters the code bumps wherever it runs live in ``PROCESS`` (one per process); figures
read from the app's state at scrape time (points connected, live rooms, media peers,
health states) and the request-latency histogram live in each app's own registry. The
room sockets count in plain integers (``SOCKETS``): a prometheus counter takes a lock,
too dear on the path that sends every event to 200 points.
"""

from __future__ import annotations

import collections
import hmac
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import Response

from rooms.state import Event
from server.problems import Problem

PROCESS = CollectorRegistry()
DOCUMENT_DOWNLOADS = Counter(
    "hoinghi_document_downloads",
    "Documents handed out, by kind (copy, pack, opinion, minutes)",
    ["kind"],
    registry=PROCESS,
)
PAGE_IMAGES = Counter(
    "hoinghi_page_images",
    "Page images served, by whether the render cache had them (hit) or drew them (miss)",
    ["cache"],
    registry=PROCESS,
)
SIGNING = Counter(
    "hoinghi_signing_operations",
    "Signatures embedded in minutes, by method (server_key, external) and outcome",
    ["method", "outcome"],
    registry=PROCESS,
)
ROOM_EVENTS = Counter(
    "hoinghi_room_events", "Room events delivered in this process, by type", ["type"],
    registry=PROCESS,
)  # fmt: skip


@dataclass
class SocketTally:
    received: int = 0
    sent: int = 0
    drops: int = 0
    errors: collections.Counter[str] = field(default_factory=collections.Counter)


SOCKETS = SocketTally()


def count_room_events(_meeting_id: int, events: list[Event]) -> None:
    for event in events:
        ROOM_EVENTS.labels(event.kind).inc()


class AppCollector(Collector):
    """What the app holds now, read at each scrape."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        state = self.app.state
        hub = getattr(state, "hub", None)
        rooms = list(hub.rooms.values()) if hub is not None else []
        yield _gauge(
            "hoinghi_points_connected",
            "Conference points with a socket in a live room of this process",
            len(hub.local_points()) if hub is not None else 0,
        )
        yield _gauge(
            "hoinghi_live_meetings",
            "Live meetings whose room runs in this process",
            sum(1 for r in rooms if r.state.open and not r.state.closed),
        )
        yield _gauge(
            "hoinghi_room_members",
            "Sockets connected to rooms of this process",
            sum(len(c) for c in hub.connections.values()) if hub is not None else 0,
        )
        received = CounterMetricFamily(
            "hoinghi_ws_messages_received", "Frames received on room sockets"
        )
        received.add_metric([], SOCKETS.received)
        yield received
        sent = CounterMetricFamily("hoinghi_ws_messages_sent", "Frames sent on room sockets")
        sent.add_metric([], SOCKETS.sent)
        yield sent
        errors = CounterMetricFamily(
            "hoinghi_ws_errors", "Error replies sent on room sockets, by code", labels=["code"]
        )
        for code, n in sorted(SOCKETS.errors.items()):
            errors.add_metric([code], n)
        yield errors
        drops = CounterMetricFamily(
            "hoinghi_ws_send_queue_drops",
            "Room sockets closed because their send queue overflowed (too slow a client)",
        )
        drops.add_metric([], SOCKETS.drops)
        yield drops
        yield from _media(getattr(state, "media", None))
        health = getattr(state, "health", None)
        if health is not None:
            by_state = GaugeMetricFamily(
                "hoinghi_points_by_health", "Conference points per health state", labels=["state"]
            )
            counts = collections.Counter(p.health.value for p in health.points.values())
            for name in ("offline", "online_idle", "in_meeting_good", "degraded", "silent"):
                by_state.add_metric([name], counts.get(name, 0))
            yield by_state
            bitrate = GaugeMetricFamily(
                "hoinghi_media_bitrate_kbps",
                "Media bitrate of the points' links as the server measures them",
                labels=["direction"],
            )
            for direction in ("in", "out"):
                total = 0.0
                for point in health.points.values():
                    value = (point.link or {}).get(f"kbps_{direction}")
                    if isinstance(value, int | float) and point.meeting_id is not None:
                        total += float(value)
                bitrate.add_metric([direction], total)
            yield bitrate


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation)
    gauge.add_metric([], value)
    return gauge


def _media(media: Any) -> Iterator[Metric]:
    peers = tracks = 0
    if media is not None:
        rooms = getattr(media, "rooms", None)
        if isinstance(rooms, dict):  # media in this process
            for room in rooms.values():
                peers += len(room.peers)
                tracks += sum(len(p.receivers) for p in room.publishers.values())
        else:  # media workers: the peers each holds for this server
            peers = sum(len(w.conns) for w in getattr(media, "workers", []))
    yield _gauge("hoinghi_media_peers", "Media peer connections", peers)
    yield _gauge("hoinghi_media_tracks_forwarded", "Tracks received and forwarded", tracks)


def app_registry(app: Any) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(AppCollector(app))
    return registry


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics (HOINGHI_METRICS_TOKEN as a bearer token, or from this host)",
)
async def metrics(request: Request) -> Response:
    settings = request.app.state.settings
    if settings.metrics_token:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {settings.metrics_token}".encode()):
            raise Problem(401, "not_authenticated", "the metrics token is required")
    elif not _local(request.client.host if request.client else ""):
        raise Problem(403, "forbidden", "metrics are served to this host only (or set a token)")
    body = generate_latest(PROCESS) + generate_latest(request.app.state.metrics_registry)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def _local(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
