"""The composition root: builds the ASGI app from settings. Nothing imports this module."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from rooms.hub import Hub
from rooms.store import EventStore
from server import __version__, housekeeping, problems, quiet_sockets
from server.accounts.auth_routes import router as auth_router
from server.accounts.user_routes import router as users_router
from server.admission import AdmissionCache
from server.audit_routes import router as audit_router
from server.body_limit import BodySizeLimit
from server.db import Database, utcnow
from server.documents.paper import paper_for
from server.documents.routes import UPLOAD_PATHS
from server.documents.routes import router as documents_router
from server.health import router as health_router
from server.logs import RequestLog, log_room_events
from server.media_ice import router as media_router
from server.media_loopback import Loopbacks
from server.media_loopback import router as loopback_router
from server.media_setup import media_plane
from server.meetings.attendance_routes import router as attendance_router
from server.meetings.calendar_routes import router as calendar_router
from server.meetings.invitation_routes import router as invitations_router
from server.meetings.link_routes import router as links_router
from server.meetings.recording_routes import recording_listener
from server.meetings.recording_routes import router as recordings_router
from server.meetings.routes import router as meetings_router
from server.metrics import app_registry, count_room_events
from server.metrics import router as metrics_router
from server.migrate import current_revision, head_revision
from server.minutes.certificate_routes import router as certificates_router
from server.minutes.routes import router as minutes_router
from server.minutes.trust import TrustSource
from server.minutes.verify_routes import UPLOAD_PATHS as VERIFY_PATHS
from server.minutes.verify_routes import router as verify_router
from server.network.health_monitor import HealthMonitor
from server.network.health_routes import router as health_api_router
from server.network.monitor import NetworkMonitor
from server.network.routes import router as network_router
from server.opinions.routes import UPLOAD_PATHS as OPINION_PATHS
from server.opinions.routes import router as opinions_router
from server.presence import PresenceRecorder
from server.raw_socket import KeepRawSend
from server.room_endpoint import router as room_router
from server.rooms_setup import make_bus
from server.security_headers import SecurityHeaders
from server.settings import Settings, load_settings

log = logging.getLogger(__name__)

# JSON bodies are small; upload routes get their own, larger limit by path prefix.
MAX_API_BODY_BYTES = 1024 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        revision = await current_revision(settings.database_url)
        if revision != head_revision():
            raise RuntimeError(
                f"database is at revision {revision}, code expects {head_revision()}: "
                "run `hoinghi migrate`"
            )
        quiet_sockets.install()
        # Collect garbage less often: a join storm allocates hundreds of thousands of objects,
        # and a young collection every 700 made it ~15 % slower (python -m bench signaling).
        gc.set_threshold(50_000, 20, 100)
        db = Database(settings.database_url)
        app.state.db = db
        hub = Hub(EventStore(db), make_bus(settings), utcnow)
        app.state.hub = hub
        admissions = AdmissionCache()
        app.state.admissions = admissions
        hub.on_meeting_change(admissions.forget)
        hub.on_events(count_room_events)
        hub.on_events(log_room_events)
        app.state.network_monitor = NetworkMonitor(
            db, settings.point_online_seconds, hub.points_in_meetings
        )
        loopbacks = Loopbacks()
        try:
            await hub.start()
            async with (
                housekeeping.running(db, settings),
                paper_for(settings) as paper,
                PresenceRecorder(db, hub.local_points).running() as presence,
                HealthMonitor(db, settings, hub.points_in_meetings).running() as health,
                media_plane(settings, hub.store, recording_listener(db, settings)) as media,
            ):
                app.state.presence = presence
                app.state.health = health
                app.state.loopbacks = loopbacks
                app.state.paper = paper
                app.state.media = media
                if media is not None:
                    hub.on_events(media.on_events)
                    media.on_link_stats = _points_links(presence)
                yield
        finally:
            await loopbacks.close()
            await hub.stop()
            await db.dispose()

    app = FastAPI(
        title="hoinghi",
        version=__version__,
        summary="Province video conferences and paperless meetings",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.trust = TrustSource(settings)
    problems.install(app)
    # Uploads may be the largest allowed file plus the multipart envelope around it.
    upload_bytes = settings.max_upload_mb * 1024 * 1024 + 64 * 1024
    app.add_middleware(
        BodySizeLimit,
        default_bytes=MAX_API_BODY_BYTES,
        paths=dict.fromkeys((*UPLOAD_PATHS, *VERIFY_PATHS, *OPINION_PATHS), upload_bytes),
    )
    app.state.metrics_registry = app_registry(app)
    app.add_middleware(RequestLog, registry=app.state.metrics_registry)
    app.add_middleware(SecurityHeaders, https=settings.cookie_secure)
    app.add_middleware(KeepRawSend)  # added last: the outermost
    # The calendar router comes before the meetings router: /api/meetings/{id}.ics must be
    # tried before /api/meetings/{id}.
    for router in (
        health_router,
        metrics_router,
        auth_router,
        users_router,
        network_router,
        health_api_router,
        calendar_router,
        meetings_router,
        invitations_router,
        attendance_router,
        recordings_router,
        links_router,
        documents_router,
        minutes_router,
        verify_router,
        certificates_router,
        opinions_router,
        audit_router,
        room_router,
        media_router,
        loopback_router,
    ):
        app.include_router(router)
    _serve_client(app, settings)
    return app


def _points_links(presence: PresenceRecorder) -> Any:
    def record(meeting_id: int, links: dict[str, dict[str, Any]]) -> None:
        for key, figures in links.items():
            if key.startswith("p:"):
                presence.link_stats(int(key[2:]), {**figures, "meeting_id": meeting_id})

    return record


def _serve_client(app: FastAPI, settings: Settings) -> None:
    # The client lives under /static and its page at /: no catch-all mount, so an unknown
    # API path is a 404 and a wrong method on a real one a 405.
    static_dir = settings.static_dir
    if not static_dir.is_dir():
        log.warning("no web client: %s is not a directory", static_dir)
        return
    shell = static_dir / "app.html"
    room = static_dir / "room.html"
    # Pages are revalidated each time (they name the scripts); scripts and styles too:
    # without a build step their names carry no version to cache them by, and an ETag
    # makes the revalidation a 304 with no body.
    no_cache = {"Cache-Control": "no-cache"}

    # The pages of the client's own router: each answers with the same shell page.
    for path in ("/", "/signin", "/kiosk", "/network", "/meetings/new", "/meetings/{meeting_id}"):
        app.add_api_route(
            path, lambda: FileResponse(shell, headers=no_cache), include_in_schema=False
        )

    @app.get("/meetings/{meeting_id}/room", include_in_schema=False)
    async def room_page(meeting_id: int) -> FileResponse:
        return FileResponse(room, headers=no_cache)

    @app.get("/api/client-config", tags=["client"], summary="What the web client needs to start")
    async def client_config() -> dict[str, str | int]:
        return {
            "timezone": settings.timezone,
            "version": __version__,
            "max_upload_mb": settings.max_upload_mb,
            "max_pdf_pages": settings.max_pdf_pages,
        }

    app.mount("/static", RevalidatedStaticFiles(directory=static_dir), name="static")


class RevalidatedStaticFiles(StaticFiles):
    """Static files a browser keeps but asks about again (ETag) before each use, so an
    upgraded server never runs against yesterday's scripts."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response
