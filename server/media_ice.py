"""Media for clients and admins: ICE servers for peers (STUN as configured, TURN with
short-lived credentials), and where media runs.

TURN credentials follow coturn's shared-secret scheme (``use-auth-secret``, the "TURN REST
API" draft): the username is ``<expiry unix time>:<who>``, the password the base64
HMAC-SHA1 of the username under the shared secret. coturn checks both without asking us,
and a leaked credential stops working at its expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from aiortc import RTCIceServer
from fastapi import APIRouter, Request

from rooms.media.remote import RemoteMediaPlane
from server.auth import AdminPrincipal, CurrentPrincipal
from server.deps import AppSettings
from server.settings import Settings


def turn_credential(
    secret: str, who: str, ttl_seconds: int, now: float | None = None
) -> tuple[str, str]:
    expiry = int((time.time() if now is None else now) + ttl_seconds)
    username = f"{expiry}:{who}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: Settings, who: str) -> list[dict[str, Any]]:
    """RTCIceServer dictionaries for a browser (``new RTCPeerConnection({iceServers})``)."""
    stun = [url for url in settings.ice_server_urls if url.startswith("stun:")]
    turn = [url for url in settings.ice_server_urls if not url.startswith("stun:")]
    servers: list[dict[str, Any]] = []
    if stun:
        servers.append({"urls": stun})
    if turn and settings.turn_secret:
        username, credential = turn_credential(
            settings.turn_secret, who, settings.turn_credential_seconds
        )
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers


def server_ice_servers(settings: Settings) -> list[RTCIceServer]:
    """The same for the server's own aiortc peers."""
    return [
        RTCIceServer(
            urls=entry["urls"], username=entry.get("username"), credential=entry.get("credential")
        )
        for entry in ice_servers(settings, "hoinghi-server")
    ]


router = APIRouter(prefix="/api/media", tags=["media"])


@router.get("/ice-servers", summary="STUN/TURN servers for this caller's peer connection")
async def get_ice_servers(principal: CurrentPrincipal, settings: AppSettings) -> dict[str, Any]:
    who = f"{'p' if principal.is_point else 'u'}{principal.id}"
    return {
        "ice_servers": ice_servers(settings, who),
        "ttl_seconds": settings.turn_credential_seconds,
    }


@router.get("/workers", summary="Admin: where media runs and how many peers each place holds")
async def media_workers(_: AdminPrincipal, request: Request) -> dict[str, Any]:
    media = request.app.state.media
    if media is None:
        return {"enabled": False, "workers": []}
    if isinstance(media, RemoteMediaPlane):
        started = {w.address: w for w in media.spawned}
        workers = []
        for w in media.workers:
            entry: dict[str, Any] = {"address": w.address, "up": w.up, "peers": len(w.conns)}
            process = started[w.address].process if w.address in started else None
            if process is not None:  # one this server started (and restarts)
                entry["pid"] = process.pid
                entry["restarts"] = started[w.address].restarts
            workers.append(entry)
    else:
        peers = sum(len(room.peers) for room in media.rooms.values())
        workers = [{"address": "in-process", "up": True, "peers": peers}]
    return {"enabled": True, "workers": workers}
