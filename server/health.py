"""Liveness and readiness probes for load balancers and the IT centre's monitoring."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from sqlalchemy import text

from server.deps import ReadDB
from server.problems import Problem

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The process can serve: its database answers")
async def readyz(db: ReadDB) -> dict[str, str]:
    try:
        await db.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready", not a 500
        log.warning("readiness check failed: %s", exc)
        raise Problem(503, "database_unavailable", "the database does not answer") from exc
    return {"status": "ready", "database": "ok"}
