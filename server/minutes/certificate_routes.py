"""HTTP API of signing certificates, trust anchors and the built-in CA's public parts
(root, CRL, timestamps)."""

from __future__ import annotations

import base64
from typing import Annotated

from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.responses import Response

from agenda.minutes_models import (
    SigningCertificate,
    TrustAnchor,
)
from server import audit
from server.accounts.models import User
from server.auth import CurrentPrincipal, UserPrincipal, require_roles
from server.deps import ReadDB, WriteDB
from server.identity import Principal, Role
from server.minutes import certificates
from server.minutes.schemas import (
    AnchorOut,
    CertificateImport,
    CertificateIssue,
    CertificateOut,
    PublicKeyRequest,
)
from server.minutes.trust import AppTrust
from server.problems import Problem, field_error
from server.validation import IdPath

router = APIRouter(tags=["certificates"])
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


def _cert_out(row: SigningCertificate) -> CertificateOut:
    return CertificateOut(
        id=row.id,
        subject=row.subject,
        issuer=row.issuer,
        serial=row.serial,
        not_before=row.not_before,
        not_after=row.not_after,
        server_held=row.encrypted_key_pem is not None,
        locked=row.pin_failures >= certificates.MAX_PIN_FAILURES,
        active=row.active,
        pem_url=f"/api/users/{row.user_id}/certificates/{row.id}.pem",
    )


async def _user_for(db: WriteDB | ReadDB, user_id: int, principal: Principal) -> User:
    if principal.is_point or (principal.id != user_id and Role.ADMIN not in principal.roles):
        raise Problem(403, "forbidden", "an admin, or the user themselves")
    user = await db.get(User, user_id)
    if user is None:
        raise Problem(404, "not_found", f"user {user_id} not found")
    return user


@router.get(
    "/api/users/{user_id}/certificates",
    response_model=list[CertificateOut],
    summary="A user's signing certificates (admin, or the user)",
)
async def list_certificates(
    user_id: IdPath, principal: CurrentPrincipal, db: ReadDB
) -> list[CertificateOut]:
    await _user_for(db, user_id, principal)
    rows = await db.scalars(
        select(SigningCertificate)
        .where(SigningCertificate.user_id == user_id)
        .order_by(SigningCertificate.id)
    )
    return [_cert_out(r) for r in rows]


@router.post(
    "/api/users/{user_id}/certificates",
    response_model=CertificateOut,
    status_code=201,
    summary="Register a certificate whose key stays with the leader (admin)",
)
async def import_certificate(
    user_id: IdPath, body: CertificateImport, admin: Admin, db: WriteDB, trust: AppTrust
) -> CertificateOut:
    user = await _user_for(db, user_id, admin)
    row = await certificates.import_certificate(
        db, admin, user, body.certificate_pem, await trust.trust(db)
    )
    await db.commit()
    return _cert_out(row)


@router.post(
    "/api/users/{user_id}/certificates/issue",
    response_model=CertificateOut,
    status_code=201,
    summary="Issue a certificate from the built-in demo CA; the server keeps the key under "
    "the signing PIN (the user themselves, or an admin)",
)
async def issue_certificate(
    user_id: IdPath, body: CertificateIssue, principal: CurrentPrincipal, db: WriteDB,
    trust: AppTrust,
) -> CertificateOut:  # fmt: skip
    user = await _user_for(db, user_id, principal)
    await certificates.check_self_service(db, principal, user, body.password)
    row = await certificates.issue_with_pin(db, principal, user, body.pin, body.key_kind, trust)
    await db.commit()
    return _cert_out(row)


@router.post(
    "/api/users/{user_id}/certificates/request",
    response_model=CertificateOut,
    status_code=201,
    summary="A certificate from the built-in demo CA for a public key whose private key "
    "stays with the user (e.g. a browser's WebCrypto key); the user themselves, or an admin",
)
async def request_certificate(
    user_id: IdPath, body: PublicKeyRequest, principal: CurrentPrincipal, db: WriteDB,
    trust: AppTrust,
) -> CertificateOut:  # fmt: skip
    user = await _user_for(db, user_id, principal)
    await certificates.check_self_service(db, principal, user, body.password)
    try:
        spki = base64.b64decode(body.public_key, validate=True)
    except ValueError as exc:
        raise field_error("public_key", "not base64") from exc
    row = await certificates.issue_for_public_key(db, principal, user, spki, trust)
    await db.commit()
    return _cert_out(row)


@router.get(
    "/api/users/{user_id}/certificates/{certificate_id}.pem",
    response_class=Response,
    summary="A signing certificate (PEM)",
)
async def certificate_pem(
    user_id: IdPath, certificate_id: IdPath, principal: CurrentPrincipal, db: ReadDB
) -> Response:
    await _user_for(db, user_id, principal)
    row = await db.get(SigningCertificate, certificate_id)
    if row is None or row.user_id != user_id:
        raise Problem(404, "not_found", f"certificate {certificate_id} not found")
    return Response(row.certificate_pem, media_type="application/x-pem-file")


@router.get("/api/trust-anchors", response_model=list[AnchorOut], summary="Trusted CAs (admin)")
async def list_anchors(_: Admin, db: ReadDB) -> list[AnchorOut]:
    rows = await db.scalars(select(TrustAnchor).order_by(TrustAnchor.id))
    return [
        AnchorOut(id=r.id, subject=r.subject, fingerprint=r.fingerprint, root=r.root) for r in rows
    ]


@router.post(
    "/api/trust-anchors",
    response_model=AnchorOut,
    status_code=201,
    summary="Trust a CA certificate (the government chain): a root, or an intermediate",
)
async def add_anchor(body: CertificateImport, admin: Admin, db: WriteDB) -> AnchorOut:
    cert = certificates.parse_pem(body.certificate_pem)
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise Problem(422, "certificate_unsuitable", "not a CA certificate")
    print_ = certificates.fingerprint(cert)
    if await db.scalar(select(TrustAnchor.id).where(TrustAnchor.fingerprint == print_)):
        raise Problem(409, "certificate_exists", "this CA is already trusted")
    row = TrustAnchor(
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        subject=cert.subject.rfc4514_string()[:500],
        fingerprint=print_,
        root=cert.subject == cert.issuer,
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db, admin, "trust.add", "trust_anchor", row.id, after={"subject": row.subject}
    )
    await db.commit()
    return AnchorOut(id=row.id, subject=row.subject, fingerprint=row.fingerprint, root=row.root)


# The built-in CA's public parts: its root (to install in viewers), its CRL, its TSA.


@router.get("/api/ca/root.pem", response_class=Response, summary="The built-in CA's root")
async def ca_root(trust: AppTrust) -> Response:
    ca = trust.ca()
    if ca is None:
        raise Problem(404, "no_ca", "the built-in CA is not set up")
    pem = ca.root.public_bytes(serialization.Encoding.PEM)
    return Response(pem, media_type="application/x-pem-file")


@router.get("/api/ca/crl", response_class=Response, summary="The built-in CA's CRL (DER)")
async def ca_crl(trust: AppTrust) -> Response:
    ca = trust.ca()
    if ca is None:
        raise Problem(404, "no_ca", "the built-in CA is not set up")
    return Response(
        trust.crl(ca).public_bytes(serialization.Encoding.DER), media_type="application/pkix-crl"
    )


@router.post(
    "/api/ca/tsa",
    response_class=Response,
    summary="RFC 3161 timestamps from the built-in CA (demo) for a signed-in person's "
    "signing tools: application/timestamp-query; a few a second per person",
)
async def ca_tsa(request: Request, principal: UserPrincipal, trust: AppTrust) -> Response:
    stamper = trust.timestamper() if not trust.settings.tsa_url else None
    if stamper is None:
        raise Problem(404, "no_ca", "the built-in timestamp service is not available")
    if not trust.may_timestamp(principal.id):
        raise Problem(
            429,
            "too_many_requests",
            "too many timestamps; wait a moment",
            headers={"Retry-After": "1"},
        )
    body = await request.body()
    try:
        query = tsp.TimeStampReq.load(body)
        _ = query.native  # parse fully: refuse junk here, not deep in the signer
    except Exception as exc:
        raise Problem(400, "bad_request", "not an RFC 3161 timestamp request") from exc
    answer = stamper.request_tsa_response(query)  # type: ignore[attr-defined]
    return Response(answer.dump(), media_type="application/timestamp-reply")
