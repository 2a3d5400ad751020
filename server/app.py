"""The composition root: builds the ASGI app from settings. Nothing imports this module."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from server import __version__, problems
from server.accounts.routes import router as accounts_router
from server.db import Database
from server.health import router as health_router
from server.migrate import current_revision, head_revision
from server.network.routes import router as network_router
from server.settings import Settings, load_settings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


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
        db = Database(settings.database_url)
        app.state.db = db
        try:
            yield
        finally:
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
    problems.install(app)
    app.include_router(health_router)
    app.include_router(accounts_router)
    app.include_router(network_router)
    if STATIC_DIR.is_dir():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")
    return app
