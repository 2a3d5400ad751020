"""The built-in certificate authority, for demos and tests: a root, an intermediate that
issues leaders' signing certificates and the CRL, and a timestamping certificate.

Production trusts the government CA chain instead (imported by the admin); this CA lets a
demo province sign minutes that any PAdES validator verifies once the root is trusted.
Private keys are kept in the data directory encrypted under a passphrase.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
ROOT, INTERMEDIATE, TSA = "root", "intermediate", "tsa"


class CaError(Exception):
    pass


def _name(common: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def new_key(kind: str = "ec") -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise CaError(f"unknown key type {kind!r} (rsa or ec)")


def key_pem(key: PrivateKey, passphrase: bytes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def load_key(pem: bytes, passphrase: bytes) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, passphrase)
    except (ValueError, TypeError) as exc:
        raise CaError("wrong passphrase or damaged key") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CaError("unsupported key type")
    return key


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class CertificateAuthority:
    directory: Path
    root: x509.Certificate
    intermediate: x509.Certificate
    intermediate_key: PrivateKey
    tsa: x509.Certificate
    tsa_key: PrivateKey
    crl_url: str = ""

    @property
    def chain(self) -> list[x509.Certificate]:
        """The intermediate and the root: what a leaf needs to reach the trust anchor."""
        return [self.intermediate, self.root]

    def issue(
        self,
        full_name: str,
        username: str,
        *,
        key_kind: str = "ec",
        days: int = 730,
        not_before: datetime | None = None,
        public_key: object | None = None,
    ) -> tuple[x509.Certificate, PrivateKey | None]:
        """A signing certificate for a person (key usage: non-repudiation, digital
        signature); a new key pair unless ``public_key`` is given (the key stays with
        the signer)."""
        key = None if public_key is not None else new_key(key_kind)
        subject_key = public_key if public_key is not None else key.public_key()  # type: ignore[union-attr]
        start = not_before or datetime.now(UTC) - timedelta(minutes=5)
        builder = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                        x509.NameAttribute(
                            NameOID.ORGANIZATION_NAME,
                            self.intermediate.subject.get_attributes_for_oid(
                                NameOID.ORGANIZATION_NAME
                            )[0].value,
                        ),
                        x509.NameAttribute(NameOID.USER_ID, username),
                        x509.NameAttribute(NameOID.COMMON_NAME, full_name),
                    ]
                )
            )
            .issuer_name(self.intermediate.subject)
            .public_key(subject_key)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,  # nonRepudiation
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.intermediate_key.public_key()
                ),
                critical=False,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(subject_key),  # type: ignore[arg-type]
                critical=False,
            )
        )
        if self.crl_url:
            builder = builder.add_extension(_crl_point(self.crl_url), critical=False)
        cert = builder.sign(self.intermediate_key, hashes.SHA256())
        return cert, key

    # Revocation: the revoked serials are kept beside the keys; the CRL is made on demand.

    def _revoked_file(self) -> Path:
        return self.directory / "revoked.json"

    def revoked(self) -> dict[int, str]:
        path = self._revoked_file()
        if not path.is_file():
            return {}
        return {int(serial): at for serial, at in json.loads(path.read_text()).items()}

    def revoke(self, serial: int, when: datetime | None = None) -> None:
        entries = self.revoked()
        entries[serial] = (when or datetime.now(UTC)).isoformat()
        temp = self._revoked_file().with_suffix(".tmp")
        temp.write_text(json.dumps({str(k): v for k, v in entries.items()}))
        temp.replace(self._revoked_file())

    def crl(self, hours: int = 24) -> x509.CertificateRevocationList:
        now = datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.intermediate.subject)
            .last_update(now - timedelta(minutes=5))
            .next_update(now + timedelta(hours=hours))
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.intermediate_key.public_key()
                ),
                critical=False,
            )
        )
        for serial, at in self.revoked().items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(datetime.fromisoformat(at))
                .build()
            )
        return builder.sign(self.intermediate_key, hashes.SHA256())


def _crl_point(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
        ]
    )


def _ca_cert(
    subject: x509.Name,
    key: PrivateKey,
    issuer: x509.Name,
    issuer_key: PrivateKey,
    days: int,
    path_length: int | None,
) -> x509.Certificate:
    now = datetime.now(UTC) - timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )


def init_ca(
    directory: Path, passphrase: bytes, organization: str, crl_url: str = ""
) -> CertificateAuthority:
    """Create the CA in ``directory`` (refused if one is there already)."""
    if (directory / f"{ROOT}.pem").exists():
        raise CaError(f"a CA already exists in {directory}")
    directory.mkdir(parents=True, exist_ok=True)
    # The timestamp key is RSA: pyHanko's in-process timestamper signs with RSA only.
    root_key, intermediate_key, tsa_key = new_key("ec"), new_key("ec"), new_key("rsa")
    root_name = _name(f"{organization} — Root CA (demo)", organization)
    intermediate_name = _name(f"{organization} — Signing CA (demo)", organization)
    root = _ca_cert(root_name, root_key, root_name, root_key, 7300, 1)
    intermediate = _ca_cert(intermediate_name, intermediate_key, root_name, root_key, 3650, 0)
    now = datetime.now(UTC) - timedelta(minutes=5)
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{organization} — Timestamp (demo)", organization))
        .issuer_name(intermediate_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(intermediate_key.public_key()),
            critical=False,
        )
        .sign(intermediate_key, hashes.SHA256())
    )
    for name, cert, key in (
        (ROOT, root, root_key),
        (INTERMEDIATE, intermediate, intermediate_key),
        (TSA, tsa, tsa_key),
    ):
        _write(directory / f"{name}.key", key_pem(key, passphrase), private=True)
        _write(directory / f"{name}.pem", cert_pem(cert))
    return CertificateAuthority(
        directory, root, intermediate, intermediate_key, tsa, tsa_key, crl_url
    )


def load_ca(directory: Path, passphrase: bytes, crl_url: str = "") -> CertificateAuthority:
    if not (directory / f"{ROOT}.pem").exists():
        raise CaError(f"no CA in {directory}: run `hoinghi ca init`")

    def cert(name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate((directory / f"{name}.pem").read_bytes())

    def key(name: str) -> PrivateKey:
        return load_key((directory / f"{name}.key").read_bytes(), passphrase)

    return CertificateAuthority(
        directory,
        cert(ROOT),
        cert(INTERMEDIATE),
        key(INTERMEDIATE),
        cert(TSA),
        key(TSA),
        crl_url,
    )


def _write(path: Path, data: bytes, private: bool = False) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    temp.write_bytes(data)
    if private:
        temp.chmod(0o600)
    temp.replace(path)


# A leader's key kept by the server is sealed under their signing PIN. PINs are short, so
# the key derivation is deliberately slow (argon2id): a stolen database does not give the
# keys to whoever can try a million PINs (PKCS#8's PBKDF2 takes a fraction of a
# millisecond per guess). Online guessing is stopped by the PIN lock.
SEALED_PREFIX = "hoinghi-sealed-key-v1"
ARGON2_TIME, ARGON2_MEMORY_KIB, ARGON2_LANES = 2, 19 * 1024, 1


def seal_key(key: PrivateKey, pin: str) -> str:
    import base64
    import os

    from argon2.low_level import Type, hash_secret_raw
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = os.urandom(16), os.urandom(12)
    secret = hash_secret_raw(
        pin.encode(), salt, ARGON2_TIME, ARGON2_MEMORY_KIB, ARGON2_LANES, 32, Type.ID
    )
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    sealed = AESGCM(secret).encrypt(nonce, der, SEALED_PREFIX.encode())
    parts = (salt, nonce, sealed)
    return "$".join([SEALED_PREFIX, *(base64.b64encode(p).decode() for p in parts)])


def open_key(sealed: str, pin: str) -> PrivateKey:
    """The key, or CaError for a wrong PIN or a damaged value."""
    import base64

    from argon2.low_level import Type, hash_secret_raw
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        prefix, *encoded = sealed.split("$")
        salt, nonce, data = (base64.b64decode(p) for p in encoded)
    except ValueError as exc:
        raise CaError("damaged sealed key") from exc
    if prefix != SEALED_PREFIX:
        raise CaError("unknown sealed key format")
    secret = hash_secret_raw(
        pin.encode(), salt, ARGON2_TIME, ARGON2_MEMORY_KIB, ARGON2_LANES, 32, Type.ID
    )
    try:
        der = AESGCM(secret).decrypt(nonce, data, SEALED_PREFIX.encode())
    except InvalidTag:
        raise CaError("wrong PIN") from None
    key = serialization.load_der_private_key(der, None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CaError("unsupported key type")
    return key
