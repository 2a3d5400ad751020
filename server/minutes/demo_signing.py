"""The demo province can sign minutes out of the box: the built-in CA is created on first
start and the demo leaders get certificates with signing PINs (printed once, with the
passwords)."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agenda.minutes_models import SigningCertificate
from server.accounts.models import User
from server.demo import PROVINCE_NAME
from server.identity import Principal, PrincipalKind
from server.minutes import certificates
from server.minutes.trust import TrustSource, create_ca
from server.settings import Settings

DEMO_SIGNERS = ("thuky", "chutich")


async def seed_demo_signing(db: AsyncSession, settings: Settings) -> dict[str, str]:
    """username -> PIN for each demo leader given a certificate by this run."""
    source = TrustSource(settings)
    if source.ca() is None:
        create_ca(settings, PROVINCE_NAME)
        source.forget()
    system = Principal(PrincipalKind.USER, 0, "demo", None)
    pins: dict[str, str] = {}
    for username in DEMO_SIGNERS:
        user = await db.scalar(select(User).where(User.username == username))
        if user is None or await db.scalar(
            select(SigningCertificate.id).where(SigningCertificate.user_id == user.id)
        ):
            continue
        pin = f"{secrets.randbelow(10**6):06d}"
        await certificates.issue_with_pin(db, system, user, pin, "ec", source)
        pins[username] = pin
    return pins
