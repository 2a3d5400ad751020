"""Request-scoped access to what the lifespan opened: settings and database sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from rooms.hub import Hub
from server.db import Database
from server.settings import Settings


def get_settings(request: HTTPConnection) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: HTTPConnection) -> Database:
    database: Database = request.app.state.db
    return database


async def read_session(request: HTTPConnection) -> AsyncIterator[AsyncSession]:
    async with get_database(request).reader() as session:
        yield session


async def write_session(request: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """A session for routes that write; the route commits, anything uncommitted rolls back."""
    async with get_database(request).writer() as session:
        yield session


def get_hub(request: HTTPConnection) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


AppSettings = Annotated[Settings, Depends(get_settings)]
AppHub = Annotated[Hub, Depends(get_hub)]
AppDatabase = Annotated[Database, Depends(get_database)]
ReadDB = Annotated[AsyncSession, Depends(read_session)]
WriteDB = Annotated[AsyncSession, Depends(write_session)]
