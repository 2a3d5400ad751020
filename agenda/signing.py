"""PAdES signatures on minutes, with pyHanko.

- ``add_signature_fields``: one empty signature field per approver on the last page; the
  last field locks the whole document once signed.
- ``sign_with_key``: an approval with a key the server holds (decrypted with the PIN).
- ``prepare_external`` / ``finish_external``: an approval whose key stays with the signer.
  The server prepares the document and hands out the CMS signed attributes to sign; the
  signer returns a signature, checked against their certificate before it is embedded.
- ``archive``: after the last approval, validation info (certificates, CRLs) for every
  signature goes into the document security store, and a document timestamp seals it
  (PAdES B-LTA).

Every signature is B-T (a timestamp from the configured service) and an incremental
update, so earlier signatures stay valid. The first is a certification signature that
allows form filling and signing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import cms, keys
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.fields import (
    FieldMDPAction,
    FieldMDPSpec,
    MDPPerm,
    SigFieldSpec,
    SigSeedSubFilter,
)
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.validation import async_add_validation_info
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

DIGEST = "sha256"
REASON = "Phê duyệt biên bản / Approval of the minutes"


class SigningError(Exception):
    """A signature that cannot be made or embedded; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def to_asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def to_asn1_key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> keys.PrivateKeyInfo:
    return keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@dataclass
class Trust:
    """What signing and validation rely on: trust anchors, intermediates, CRLs, and the
    timestamp service."""

    roots: list[x509.Certificate]
    intermediates: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    timestamper: timestamps.TimeStamper | None = None
    moment: datetime | None = None  # validate as of this time (tests); None: now

    def context(self) -> ValidationContext:
        return ValidationContext(
            trust_roots=[to_asn1_cert(c) for c in self.roots],
            other_certs=[to_asn1_cert(c) for c in self.intermediates],
            crls=[
                asn1_crl.CertificateList.load(c.public_bytes(serialization.Encoding.DER))
                for c in self.crls
            ],
            allow_fetching=False,
            # A revocation list we hold is always checked (a revoked certificate fails);
            # a CA whose list we do not hold (an imported government chain, offline) is
            # not failed for the lack of one.
            revocation_mode="soft-fail",
            moment=self.moment,
        )

    def registry(self) -> SimpleCertificateStore:
        return SimpleCertificateStore.from_certs([to_asn1_cert(c) for c in self.intermediates])


def field_name(step: int) -> str:
    return f"PheDuyet{step + 1}"


def default_boxes(count: int) -> list[tuple[float, float, float, float]]:
    """Boxes in rows of three near the bottom of an A4 page (for PDFs we did not lay out)."""
    boxes = []
    for step in range(count):
        column, row = step % 3, step // 3
        left, bottom = 56.0 + column * 166, 90.0 + row * 70
        boxes.append((left, bottom, left + 150, bottom + 56))
    return boxes


def add_signature_fields(pdf: bytes, boxes: list[tuple[float, float, float, float]]) -> bytes:
    """One signature field per approver, over the boxes the minutes layout drew on the last
    page; the last one locks the document when signed."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for step, box in enumerate(boxes):
        last = step == len(boxes) - 1
        fields.append_signature_field(
            writer,
            SigFieldSpec(
                field_name(step),
                on_page=-1,
                box=(round(box[0]), round(box[1]), round(box[2]), round(box[3])),
                field_mdp_spec=FieldMDPSpec(FieldMDPAction.ALL) if last else None,
                doc_mdp_update_value=MDPPerm.NO_CHANGES if last else None,
            ),
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _metadata(step: int, trust: Trust, name: str) -> signers.PdfSignatureMetadata:
    return signers.PdfSignatureMetadata(
        field_name=field_name(step),
        certify=step == 0,
        docmdp_permissions=MDPPerm.FILL_FORMS,
        subfilter=SigSeedSubFilter.PADES,
        reason=REASON,
        name=name,
        md_algorithm=DIGEST,
    )


async def sign_with_key(
    pdf: bytes,
    step: int,
    cert: x509.Certificate,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    trust: Trust,
    name: str,
) -> bytes:
    signer = signers.SimpleSigner(
        signing_cert=to_asn1_cert(cert),
        signing_key=to_asn1_key(key),
        cert_registry=trust.registry(),
    )
    pdf_signer = signers.PdfSigner(
        _metadata(step, trust, name), signer=signer, timestamper=trust.timestamper
    )
    out = await pdf_signer.async_sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)))
    return bytes(out.getvalue())


@dataclass
class Prepared:
    """A document prepared for an external signature: what to sign, and what to keep
    until the signature comes back."""

    to_sign: bytes  # DER of the CMS signed attributes: the signer signs these bytes
    document_digest: bytes
    reserved_start: int
    reserved_end: int
    prepared_pdf: bytes


async def prepare_external(
    pdf: bytes, step: int, cert: x509.Certificate, trust: Trust, name: str
) -> Prepared:
    signer = signers.ExternalSigner(
        signing_cert=to_asn1_cert(cert),
        cert_registry=trust.registry(),
        signature_value=_placeholder_size(cert),
    )
    pdf_signer = signers.PdfSigner(
        _metadata(step, trust, name), signer=signer, timestamper=trust.timestamper
    )
    digest, _tbs, output = await pdf_signer.async_digest_doc_for_signing(
        IncrementalPdfFileWriter(io.BytesIO(pdf))
    )
    attributes = await signer.signed_attrs(digest.document_digest, DIGEST, use_pades=True)
    output.seek(0)
    return Prepared(
        to_sign=attributes.dump(),
        document_digest=digest.document_digest,
        reserved_start=digest.reserved_region_start,
        reserved_end=digest.reserved_region_end,
        prepared_pdf=output.read(),
    )


def _placeholder_size(cert: x509.Certificate) -> int:
    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return public.key_size // 8
    return 72  # a DER ECDSA P-256 signature is at most 72 bytes


def check_signature(cert: x509.Certificate, to_sign: bytes, signature: bytes) -> bytes:
    """The signature in the form CMS wants (DER for ECDSA), if it verifies with the
    certificate's key over ``to_sign``; SigningError otherwise. WebCrypto gives ECDSA
    signatures as r||s, token agents usually as DER: both are accepted."""
    public = cert.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, to_sign, padding.PKCS1v15(), hashes.SHA256())
            return signature
        if isinstance(public, ec.EllipticCurvePublicKey):
            size = (public.curve.key_size + 7) // 8
            if len(signature) == 2 * size:  # raw r||s (WebCrypto)
                r = int.from_bytes(signature[:size], "big")
                s = int.from_bytes(signature[size:], "big")
                signature = encode_dss_signature(r, s)
            public.verify(signature, to_sign, ec.ECDSA(hashes.SHA256()))
            return signature
    except InvalidSignature:
        raise SigningError(
            "bad_signature", "the signature does not match the certificate's key"
        ) from None
    raise SigningError("unsupported_key", "only RSA and ECDSA keys can sign")


async def finish_external(
    prepared: Prepared, cert: x509.Certificate, signature: bytes, trust: Trust
) -> bytes:
    value = check_signature(cert, prepared.to_sign, signature)
    signer = signers.ExternalSigner(
        signing_cert=to_asn1_cert(cert), cert_registry=trust.registry(), signature_value=value
    )
    attributes = cms.CMSAttributes.load(prepared.to_sign)
    signed_data = await signer.async_sign_prescribed_attributes(
        DIGEST, attributes, timestamper=trust.timestamper
    )
    output = io.BytesIO(prepared.prepared_pdf)
    digest = PreparedByteRangeDigest(
        prepared.document_digest, prepared.reserved_start, prepared.reserved_end
    )
    try:
        await PdfTBSDocument.async_finish_signing(output, digest, signed_data)
    except Exception as exc:  # e.g. the CMS does not fit the space reserved for it
        raise SigningError("cannot_embed", f"the signature could not be embedded: {exc}") from exc
    return output.getvalue()


async def archive(pdf: bytes, trust: Trust) -> bytes:
    """PAdES B-LTA: validation info for every signature, then a document timestamp."""
    context = trust.context()
    for index in range(len(PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures)):
        reader = PdfFileReader(io.BytesIO(pdf))
        signature = reader.embedded_regular_signatures[index]
        out = await async_add_validation_info(signature, context, output=io.BytesIO())
        pdf = out.getvalue()
    if trust.timestamper is None:
        return pdf
    stamper = signers.PdfTimeStamper(trust.timestamper)
    out = await stamper.async_timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), DIGEST, validation_context=context
    )
    return bytes(out.getvalue())
