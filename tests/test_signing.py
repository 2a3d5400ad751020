"""PAdES signatures on their own (no server): the built-in CA, three approvals (server-held
keys and an external ECDSA key giving WebCrypto's r||s form), the archive step, and two
independent validators, pyHanko's and poppler's pdfsig; tamper, revocation, foreign CA."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pyhanko.pdf_utils.generic import ArrayObject, NameObject, StreamObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from agenda import signing
from agenda.ca import CertificateAuthority, cert_pem, init_ca
from agenda.signing import SigningError, Trust, to_asn1_cert, to_asn1_key
from agenda.verify import verify_pdf
from tests import pdfs
from tests.conftest import IN_CI

LEADERS = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"]


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return init_ca(
        tmp_path_factory.mktemp("ca") / "ca",
        b"mat-khau-ca",
        "UBND tỉnh Thử nghiệm",
        crl_url="http://hoinghi.test/api/ca/crl",
    )


def trust_of(ca: CertificateAuthority) -> Trust:
    tsa = DummyTimeStamper(
        tsa_cert=to_asn1_cert(ca.tsa), tsa_key=to_asn1_key(ca.tsa_key), certs_to_embed=None
    )
    return Trust(roots=[ca.root], intermediates=[ca.intermediate], crls=[ca.crl()], timestamper=tsa)


def raw_ecdsa(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """What WebCrypto's sign() returns for ECDSA P-256: r||s, 64 bytes."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


async def signed_minutes(ca: CertificateAuthority, archive: bool = True) -> bytes:
    trust = trust_of(ca)
    pdf = signing.add_signature_fields(
        pdfs.pdf(["Biên bản họp", "Kết luận"]), signing.default_boxes(len(LEADERS))
    )
    cert, key = ca.issue(LEADERS[0], "an")
    assert key is not None
    pdf = await signing.sign_with_key(pdf, 0, cert, key, trust, LEADERS[0])
    browser_key = ec.generate_private_key(ec.SECP256R1())
    cert, _ = ca.issue(LEADERS[1], "binh", public_key=browser_key.public_key())
    prepared = await signing.prepare_external(pdf, 1, cert, trust, LEADERS[1])
    pdf = await signing.finish_external(
        prepared, cert, raw_ecdsa(browser_key, prepared.to_sign), trust
    )
    cert, key = ca.issue(LEADERS[2], "cuong", key_kind="rsa")
    assert key is not None
    pdf = await signing.sign_with_key(pdf, 2, cert, key, trust, LEADERS[2])
    return await signing.archive(pdf, trust) if archive else pdf


async def test_three_approvals_and_the_archive_verify_in_pyhanko(ca: CertificateAuthority) -> None:
    pdf = await signed_minutes(ca)
    reports = await verify_pdf(pdf, trust_of(ca))
    assert [r.kind for r in reports] == ["signature"] * 3 + ["document_timestamp"]
    assert [r.signer for r in reports[:3]] == LEADERS
    for report in reports:
        assert report.verdict == "valid", report
        assert report.intact and report.valid and report.trusted
        assert report.timestamp is not None
    assert [r.modification_level for r in reports[:3]] == [
        "FORM_FILLING",
        "FORM_FILLING",
        "LTA_UPDATES",
    ]


def pdfsig(pdf: bytes, tmp_path: Path, ca: CertificateAuthority) -> str:
    if not (shutil.which("pdfsig") and shutil.which("certutil")):
        message = "pdfsig/certutil missing: apt-get install poppler-utils libnss3-tools"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    nss = tmp_path / "nss"
    nss.mkdir(exist_ok=True)
    root = tmp_path / "root.pem"
    root.write_bytes(cert_pem(ca.root))
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{nss}", "-n", "root", "-t", "CT,C,C", "-i", str(root)],
        check=True,
    )
    target = tmp_path / "minutes.pdf"
    target.write_bytes(pdf)
    done = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss}", str(target)], capture_output=True, text=True
    )
    return done.stdout


async def test_poppler_pdfsig_finds_every_signature_valid_and_trusted(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    report = pdfsig(await signed_minutes(ca), tmp_path, ca)
    blocks = report.split("Signature #")[1:]
    assert len(blocks) == 4  # three approvals and the archive timestamp
    for block, leader in zip(blocks[:3], LEADERS, strict=True):
        assert f"Signer Certificate Common Name: {leader}" in block
        assert "Signature Validation: Signature is Valid." in block
        assert "Certificate Validation: Certificate is Trusted." in block


async def test_a_changed_byte_makes_every_signature_invalid(ca: CertificateAuthority) -> None:
    pdf = bytearray(await signed_minutes(ca))
    pdf[1500] ^= 0x01  # inside the first revision, covered by every signature
    reports = await verify_pdf(bytes(pdf), trust_of(ca))
    assert reports and all(r.verdict == "invalid" for r in reports)
    assert "thay đổi" in reports[0].verdict_vi


async def test_an_unsigned_update_that_changes_the_content_is_reported(
    ca: CertificateAuthority,
) -> None:
    pdf = await signed_minutes(ca, archive=False)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    forged = StreamObject(stream_data=b"BT /F1 24 Tf 72 400 Td (Khong thong qua) Tj ET")
    page[NameObject("/Contents")] = ArrayObject([page["/Contents"], writer.add_object(forged)])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    reports = await verify_pdf(out.getvalue(), trust_of(ca))
    assert [r.verdict for r in reports] == ["modified"] * 3
    assert all(
        r.intact for r in reports
    )  # the signed bytes are there, the additions are not allowed


async def test_revoked_and_foreign_certificates_are_not_trusted(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    trust = trust_of(ca)
    pdf = signing.add_signature_fields(pdfs.pdf(1), signing.default_boxes(1))
    cert, key = ca.issue("Phạm Thị Dung", "dung")
    assert key is not None
    signed = await signing.sign_with_key(pdf, 0, cert, key, trust, "Phạm Thị Dung")
    assert (await verify_pdf(signed, trust))[0].verdict == "valid"
    ca.revoke(cert.serial_number, datetime.now(UTC) - timedelta(hours=1))
    try:
        revoked = await verify_pdf(signed, trust_of(ca))
    finally:
        (ca.directory / "revoked.json").unlink()
    assert revoked[0].verdict == "untrusted"

    other = init_ca(tmp_path / "foreign", b"x", "Tổ chức khác")
    cert, key = other.issue("Người lạ", "la")
    assert key is not None
    foreign = await signing.sign_with_key(pdf, 0, cert, key, trust_of(other), "Người lạ")
    report = (await verify_pdf(foreign, trust))[0]
    assert report.intact and report.valid and not report.trusted
    assert report.verdict == "untrusted"


async def test_an_external_signature_by_the_wrong_key_is_refused(ca: CertificateAuthority) -> None:
    trust = trust_of(ca)
    key = ec.generate_private_key(ec.SECP256R1())
    cert, _ = ca.issue("Trần Thị Bình", "binh", public_key=key.public_key())
    pdf = signing.add_signature_fields(pdfs.pdf(1), signing.default_boxes(1))
    prepared = await signing.prepare_external(pdf, 0, cert, trust, "Trần Thị Bình")
    stranger = ec.generate_private_key(ec.SECP256R1())
    for signature in (raw_ecdsa(stranger, prepared.to_sign), b"\x00" * 64, b"junk"):
        with pytest.raises(SigningError) as refused:
            await signing.finish_external(prepared, cert, signature, trust)
        assert refused.value.code == "bad_signature"
    # DER, as token agents give it, is accepted as well as r||s.
    der = key.sign(prepared.to_sign, ec.ECDSA(hashes.SHA256()))
    signed = await signing.finish_external(prepared, cert, der, trust)
    assert (await verify_pdf(signed, trust))[0].verdict == "valid"
