"""Leaders' signing certificates: imported (the key stays with the leader), or issued by
the built-in demo CA with the key kept here, encrypted under the leader's signing PIN.

A certificate is accepted only if it chains to a trusted root, is within its validity
period, is not revoked, and allows non-repudiation or digital signatures."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pyhanko_certvalidator import CertificateValidator
from pyhanko_certvalidator import errors as cert_errors
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agenda.ca import CaError, PrivateKey, open_key, seal_key
from agenda.minutes_models import SigningCertificate
from agenda.signing import Trust, to_asn1_cert
from server import audit
from server.accounts.models import User
from server.accounts.passwords import verify_password
from server.db import Database, utcnow
from server.identity import Principal, Role
from server.minutes.trust import TrustSource
from server.problems import Problem

MAX_PIN_FAILURES = 5
# A key unlocked with the right PIN stays parsed in this process for a while, so a leader
# approving several minutes pays the (deliberately slow) unlock once. The same PIN is still
# required each time: the cache is keyed by it.
UNLOCKED_SECONDS = 15 * 60
_unlocked: dict[tuple[int, bytes], tuple[PrivateKey, float]] = {}
MIN_PIN_LENGTH = 6


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def parse_pem(pem: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise Problem(422, "certificate_unreadable", "not a PEM certificate") from exc


async def check_certificate(cert: x509.Certificate, trust: Trust) -> None:
    """Refuse, with the reason, a certificate that cannot sign minutes here."""
    now = datetime.now(UTC)
    if cert.not_valid_after_utc < now:
        raise Problem(
            422,
            "certificate_expired",
            f"the certificate expired on {cert.not_valid_after_utc:%d/%m/%Y}",
        )
    if cert.not_valid_before_utc > now:
        raise Problem(422, "certificate_not_yet_valid", "the certificate is not valid yet")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (usage.content_commitment or usage.digital_signature):
            raise Problem(422, "certificate_unsuitable", "the certificate may not sign documents")
    except x509.ExtensionNotFound:
        pass
    validator = CertificateValidator(
        to_asn1_cert(cert),
        intermediate_certs=[to_asn1_cert(c) for c in trust.intermediates],
        validation_context=trust.context(),
    )
    try:
        await validator.async_validate_path()
    except cert_errors.RevokedError as exc:
        raise Problem(422, "certificate_revoked", "the certificate has been revoked") from exc
    except cert_errors.ExpiredError as exc:
        raise Problem(
            422, "certificate_expired", "the certificate or its issuer has expired"
        ) from exc
    except (cert_errors.PathBuildingError, cert_errors.PathValidationError) as exc:
        raise Problem(
            422,
            "certificate_untrusted",
            "the certificate is not issued by a certificate authority this province trusts",
        ) from exc


def _row(user: User, cert: x509.Certificate, encrypted: str | None) -> SigningCertificate:
    return SigningCertificate(
        user_id=user.id,
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        subject=cert.subject.rfc4514_string()[:500],
        issuer=cert.issuer.rfc4514_string()[:500],
        serial=format(cert.serial_number, "x")[:64],
        fingerprint=fingerprint(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        encrypted_key_pem=encrypted,
    )


async def import_certificate(
    db: AsyncSession, principal: Principal, user: User, pem: str, trust: Trust
) -> SigningCertificate:
    cert = parse_pem(pem)
    await check_certificate(cert, trust)
    if await db.scalar(
        select(SigningCertificate.id).where(SigningCertificate.fingerprint == fingerprint(cert))
    ):
        raise Problem(409, "certificate_exists", "this certificate is already registered")
    row = _row(user, cert, None)
    db.add(row)
    await db.flush()
    await audit.record(
        db, principal, "certificate.import", "user", user.id,
        after={"certificate_id": row.id, "subject": row.subject, "serial": row.serial},
    )  # fmt: skip
    return row


async def check_self_service(
    db: AsyncSession, principal: Principal, user: User, password: str | None
) -> None:
    """A leader asking for a certificate for themselves proves it is them (their password:
    a stolen session is not enough), and cannot replace a key locked by wrong PINs (an
    admin does that). Admins issue for anyone."""
    if Role.ADMIN in principal.roles and principal.id != user.id:
        return
    if not password or not await verify_password(user.password_hash, password):
        raise Problem(403, "wrong_password", "confirm with your password")
    locked = await db.scalar(
        select(SigningCertificate.id).where(
            SigningCertificate.user_id == user.id,
            SigningCertificate.active.is_(True),
            SigningCertificate.pin_failures >= MAX_PIN_FAILURES,
        )
    )
    if locked:
        raise Problem(
            423, "pin_locked", "your signing key is locked by wrong PINs: an admin issues a new one"
        )


async def issue_with_pin(
    db: AsyncSession,
    principal: Principal,
    user: User,
    pin: str,
    key_kind: str,
    source: TrustSource,
) -> SigningCertificate:
    """A certificate from the built-in CA with the key kept here under the signing PIN."""
    if len(pin) < MIN_PIN_LENGTH:
        raise Problem(
            422, "pin_too_short", f"the signing PIN needs at least {MIN_PIN_LENGTH} characters"
        )
    if await verify_password(user.password_hash, pin):
        raise Problem(422, "pin_is_password", "the signing PIN must not be the login password")
    ca = source.ca()
    if ca is None:
        raise Problem(409, "no_ca", "the built-in CA is not set up: run `hoinghi ca init`")
    try:
        cert, key = ca.issue(user.full_name, user.username, key_kind=key_kind)
    except CaError as exc:
        raise Problem(422, "validation_failed", str(exc)) from exc
    assert key is not None
    row = _row(user, cert, seal_key(key, pin))
    await _retire(db, user.id, held=True)
    db.add(row)
    await db.flush()
    await audit.record(
        db, principal, "certificate.issue", "user", user.id,
        after={"certificate_id": row.id, "subject": row.subject, "serial": row.serial},
    )  # fmt: skip
    return row


async def issue_for_public_key(
    db: AsyncSession, principal: Principal, user: User, spki_der: bytes, source: TrustSource
) -> SigningCertificate:
    """A certificate from the built-in CA for a key that stays with the leader (a browser's
    non-extractable WebCrypto key): the server never sees the private key."""
    ca = source.ca()
    if ca is None:
        raise Problem(409, "no_ca", "the built-in CA is not set up: run `hoinghi ca init`")
    try:
        public = serialization.load_der_public_key(spki_der)
    except ValueError as exc:
        raise Problem(
            422, "validation_failed", "public_key: not a DER SubjectPublicKeyInfo"
        ) from exc
    if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise Problem(422, "validation_failed", "public_key: only ECDSA and RSA keys sign")
    if isinstance(public, ec.EllipticCurvePublicKey) and not isinstance(public.curve, ec.SECP256R1):
        raise Problem(422, "validation_failed", "public_key: ECDSA keys must be P-256")
    if isinstance(public, rsa.RSAPublicKey) and public.key_size < 2048:
        raise Problem(422, "validation_failed", "public_key: RSA keys need 2048 bits or more")
    cert, _ = ca.issue(user.full_name, user.username, public_key=public)
    row = _row(user, cert, None)
    await _retire(db, user.id, held=False)
    db.add(row)
    await db.flush()
    await audit.record(
        db, principal, "certificate.issue", "user", user.id,
        after={"certificate_id": row.id, "subject": row.subject, "serial": row.serial,
               "key": "external"},
    )  # fmt: skip
    return row


async def _retire(db: AsyncSession, user_id: int, held: bool) -> None:
    """A new certificate of a kind replaces the user's earlier ones of that kind (an admin's
    reissue after a lock included): one server-held key, one external key at a time."""
    kind = (
        SigningCertificate.encrypted_key_pem.is_not(None)
        if held
        else SigningCertificate.encrypted_key_pem.is_(None)
    )
    await db.execute(
        update(SigningCertificate)
        .where(SigningCertificate.user_id == user_id, kind)
        .values(active=False)
    )


async def unlock_key(database: Database, row: SigningCertificate, pin: str) -> PrivateKey:
    """The private key, if the PIN is right; after five wrong PINs the key is locked (an
    admin issues a new certificate). Each try is counted before the key is opened, in the
    database, so that tries sent at once cannot together get past the limit."""
    if row.encrypted_key_pem is None:
        raise Problem(409, "key_not_held", "this certificate's key is not held by the server")
    cache_key = (row.id, hashlib.sha256(f"{pin}\0{row.encrypted_key_pem}".encode()).digest())
    cached = _unlocked.get(cache_key)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]  # this very PIN opened it a moment ago
    counter = SigningCertificate.pin_failures
    async with database.writer() as db:
        tries = await db.scalar(
            update(SigningCertificate)
            .where(SigningCertificate.id == row.id, counter < MAX_PIN_FAILURES)
            .values(pin_failures=counter + 1)
            .returning(counter)
        )
        await db.commit()
    if tries is None:
        raise Problem(423, "pin_locked", "too many wrong PINs: this signing key is locked")
    try:
        key = await asyncio.to_thread(open_key, row.encrypted_key_pem, pin)
    except CaError:
        left = MAX_PIN_FAILURES - int(tries)
        if left <= 0:
            raise Problem(
                423, "pin_locked", "too many wrong PINs: this signing key is locked"
            ) from None
        raise Problem(403, "wrong_pin", f"wrong PIN; {left} tries left", tries_left=left) from None
    async with database.writer() as db:  # the right PIN: the count starts again
        await db.execute(
            update(SigningCertificate).where(SigningCertificate.id == row.id).values(pin_failures=0)
        )
        await db.commit()
    _unlocked[cache_key] = (key, time.monotonic() + UNLOCKED_SECONDS)
    if len(_unlocked) > 1000:
        _unlocked.clear()
    return key


async def usable_certificate(
    db: AsyncSession, user_id: int, certificate_id: int | None, *, held: bool | None
) -> SigningCertificate:
    """The user's active, unexpired certificate (the newest, or the one named)."""
    query = select(SigningCertificate).where(
        SigningCertificate.user_id == user_id,
        SigningCertificate.active.is_(True),
        SigningCertificate.not_after > utcnow(),
    )
    if certificate_id is not None:
        query = query.where(SigningCertificate.id == certificate_id)
    if held is True:
        query = query.where(SigningCertificate.encrypted_key_pem.is_not(None))
    elif held is False:
        query = query.where(SigningCertificate.encrypted_key_pem.is_(None))
    row = await db.scalar(query.order_by(SigningCertificate.id.desc()).limit(1))
    if row is None:
        raise Problem(
            409, "no_certificate", "you have no valid signing certificate for this way of signing"
        )
    return row


def certificate_of(row: SigningCertificate) -> x509.Certificate:
    return x509.load_pem_x509_certificate(row.certificate_pem.encode())
