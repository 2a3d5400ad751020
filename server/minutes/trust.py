"""What signatures rely on in this deployment: the built-in CA (demo; in DATA_DIR/ca), the
trust anchors the admin imported, CRLs, and the timestamp service."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from cryptography import x509
from fastapi import Depends, Request
from pyhanko.sign import timestamps
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agenda.ca import CaError, CertificateAuthority, init_ca, load_ca
from agenda.minutes_models import TrustAnchor
from agenda.signing import Trust, to_asn1_cert, to_asn1_key
from rooms.ratelimit import TokenBucket
from server.settings import Settings

CRL_SECONDS = 300


def ca_directory(settings: Settings) -> Path:
    return settings.data_dir / "ca"


def ca_passphrase(settings: Settings) -> bytes:
    if settings.ca_passphrase:
        return settings.ca_passphrase.encode()
    return hashlib.sha256(f"hoinghi-ca:{settings.secret_key}".encode()).hexdigest().encode()


def crl_url(settings: Settings) -> str:
    return f"{settings.public_url or 'http://localhost:8000'}/api/ca/crl"


def create_ca(settings: Settings, organization: str) -> CertificateAuthority:
    return init_ca(ca_directory(settings), ca_passphrase(settings), organization, crl_url(settings))


TIMESTAMPS_PER_SECOND = 2.0
TIMESTAMP_BURST = 20


@dataclass
class TrustSource:
    """Loads the built-in CA once per process (its keys are decrypted once: signing must
    not pay for it every time) and builds a Trust from it and the database."""

    settings: Settings
    _ca: CertificateAuthority | None = None
    _loaded: bool = False
    _anchors: dict[str, x509.Certificate] = field(default_factory=dict)
    _crl: tuple[x509.CertificateRevocationList, float] | None = None
    _stamp_buckets: dict[int, TokenBucket] = field(default_factory=dict)

    def may_timestamp(self, user_id: int) -> bool:
        """Timestamps for a signer's own tools: a few a second per person, so that one
        account cannot keep the CA's key busy."""
        if len(self._stamp_buckets) > 10_000:
            self._stamp_buckets.clear()
        bucket = self._stamp_buckets.setdefault(
            user_id, TokenBucket(rate=TIMESTAMPS_PER_SECOND, burst=TIMESTAMP_BURST)
        )
        return bucket.allow(time.monotonic())

    def ca(self) -> CertificateAuthority | None:
        if not self._loaded or self._ca is None:
            try:
                self._ca = load_ca(
                    ca_directory(self.settings),
                    ca_passphrase(self.settings),
                    crl_url(self.settings),
                )
            except CaError:
                self._ca = None
            self._loaded = True
        return self._ca

    def forget(self) -> None:
        self._loaded, self._ca, self._crl = False, None, None

    def crl(self, ca: CertificateAuthority) -> x509.CertificateRevocationList:
        """The built-in CA's CRL, made again every few minutes (a revocation by
        `hoinghi ca crl --revoke` applies within CRL_SECONDS)."""
        if self._crl is None or self._crl[1] < time.monotonic():
            self._crl = (ca.crl(), time.monotonic() + CRL_SECONDS)
        return self._crl[0]

    def timestamper(self) -> timestamps.TimeStamper | None:
        if self.settings.tsa_url:
            return timestamps.HTTPTimeStamper(self.settings.tsa_url)
        ca = self.ca()
        if ca is None:
            return None
        return DummyTimeStamper(
            tsa_cert=to_asn1_cert(ca.tsa), tsa_key=to_asn1_key(ca.tsa_key), certs_to_embed=None
        )

    async def trust(self, db: AsyncSession) -> Trust:
        roots: list[x509.Certificate] = []
        intermediates: list[x509.Certificate] = []
        crls: list[x509.CertificateRevocationList] = []
        ca = self.ca()
        if ca is not None:
            roots.append(ca.root)
            intermediates.append(ca.intermediate)
            crls.append(self.crl(ca))
        for anchor in await db.scalars(select(TrustAnchor)):
            cert = self._anchors.get(anchor.fingerprint)
            if cert is None:
                cert = x509.load_pem_x509_certificate(anchor.certificate_pem.encode())
                self._anchors[anchor.fingerprint] = cert
            (roots if anchor.root else intermediates).append(cert)
        return Trust(roots, intermediates, crls, self.timestamper())


def get_trust(request: Request) -> TrustSource:
    source: TrustSource = request.app.state.trust
    return source


AppTrust = Annotated[TrustSource, Depends(get_trust)]
