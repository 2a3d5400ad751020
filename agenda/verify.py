"""Verifying every signature in a PDF with pyHanko's validator, and saying what was found
in plain words (Vietnamese and English)."""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Any

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.errors import SignatureValidationError

from agenda.signing import Trust


@dataclass
class SignatureReport:
    field: str
    kind: str  # "signature" or "document_timestamp"
    signer: str
    chain: list[str]  # subjects from the signer up to the trust anchor, as far as known
    trusted: bool
    intact: bool  # the signed bytes are unchanged
    valid: bool  # the cryptographic signature checks out
    signing_time: str | None
    timestamp: str | None
    modification_level: str | None  # what changed after this signature
    changes_allowed: bool  # every later change is one the signer permitted
    coverage: str
    verdict: str  # "valid", "untrusted", "modified", "invalid"
    verdict_vi: str
    verdict_en: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


VERDICTS = {
    "valid": (
        "Chữ ký hợp lệ: tài liệu không bị thay đổi sau khi ký, chứng thư đáng tin cậy.",
        "Valid: the document has not been changed since it was signed, "
        "and the certificate is trusted.",
    ),
    "untrusted": (
        "Chữ ký còn nguyên vẹn nhưng chứng thư không thuộc tổ chức chứng thực được tin cậy "
        "(hoặc đã bị thu hồi, hết hạn).",
        "The signature is intact, but the certificate is not from a trusted authority "
        "(or is revoked or expired).",
    ),
    "modified": (
        "Tài liệu đã bị sửa đổi sau khi ký theo cách người ký không cho phép.",
        "The document was changed after signing in a way the signer did not allow.",
    ),
    "invalid": (
        "Chữ ký không hợp lệ: nội dung đã ký bị thay đổi hoặc chữ ký bị hỏng.",
        "Invalid: the signed content was altered or the signature is broken.",
    ),
}


def _subject(cert: Any) -> str:
    try:
        return str(cert.subject.human_friendly)
    except Exception:
        return "?"


def _common_name(cert: Any) -> str:
    try:
        return str(cert.subject.native.get("common_name") or _subject(cert))
    except Exception:
        return "?"


def _verdict(intact: bool, valid: bool, trusted: bool, changes_allowed: bool) -> str:
    if not (intact and valid):
        return "invalid"
    if not changes_allowed:
        return "modified"
    if not trusted:
        return "untrusted"
    return "valid"


async def verify_pdf(pdf: bytes, trust: Trust) -> list[SignatureReport]:
    """A report for each signature and document timestamp, in the order they were made."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    reports: list[SignatureReport] = []
    # One context for the document: certificate paths and CRLs are checked once, not
    # again for each signature that shares them.
    context = trust.context()
    for embedded in reader.embedded_signatures:
        is_timestamp = embedded.sig_object_type == "/DocTimeStamp"
        try:
            if is_timestamp:
                status: Any = await async_validate_pdf_timestamp(
                    embedded, validation_context=context
                )
            else:
                status = await async_validate_pdf_signature(embedded, context)
        except (SignatureValidationError, ValueError, KeyError) as exc:
            reports.append(_broken(embedded, str(exc)))
            continue
        intact, valid, trusted = bool(status.intact), bool(status.valid), bool(status.trusted)
        level = getattr(status, "modification_level", None)
        docmdp_ok = getattr(status, "docmdp_ok", None)
        changes_allowed = docmdp_ok is not False and (level is None or level.name != "OTHER")
        verdict = _verdict(intact, valid, trusted, changes_allowed)
        chain = [_subject(c) for c in (status.validation_path or [])] if trusted else []
        signer_cert = status.signing_cert
        timestamp = None
        ts_validity = getattr(status, "timestamp_validity", None)
        if is_timestamp:
            timestamp = status.timestamp.isoformat()
        elif ts_validity is not None:
            timestamp = ts_validity.timestamp.isoformat()
        reported = getattr(status, "signer_reported_dt", None)
        vi, en = VERDICTS[verdict]
        reports.append(
            SignatureReport(
                field=str(embedded.field_name),
                kind="document_timestamp" if is_timestamp else "signature",
                signer=_common_name(signer_cert),
                chain=list(reversed(chain)),
                trusted=trusted,
                intact=intact,
                valid=valid,
                signing_time=reported.isoformat() if reported else None,
                timestamp=timestamp,
                modification_level=level.name if level is not None else None,
                changes_allowed=changes_allowed,
                coverage=status.coverage.name if getattr(status, "coverage", None) else "",
                verdict=verdict,
                verdict_vi=vi,
                verdict_en=en,
            )
        )
    return reports


def _broken(embedded: Any, reason: str) -> SignatureReport:
    vi, en = VERDICTS["invalid"]
    return SignatureReport(
        field=str(getattr(embedded, "field_name", "?")),
        kind="signature",
        signer="?",
        chain=[],
        trusted=False,
        intact=False,
        valid=False,
        signing_time=None,
        timestamp=None,
        modification_level=None,
        changes_allowed=False,
        coverage="",
        verdict="invalid",
        verdict_vi=vi,
        verdict_en=f"{en} ({reason[:200]})",
    )


def verify_job(
    pdf: bytes, roots_pem: list[bytes], intermediates_pem: list[bytes], crls_der: list[bytes]
) -> list[dict[str, Any]]:
    """A paper-work job: verify a PDF someone uploaded, in a worker process (bounded in
    memory and time), from the trust given as PEM/DER (certificate objects do not cross
    processes)."""
    import asyncio

    from cryptography import x509

    trust = Trust(
        roots=[x509.load_pem_x509_certificate(p) for p in roots_pem],
        intermediates=[x509.load_pem_x509_certificate(p) for p in intermediates_pem],
        crls=[x509.load_der_x509_crl(d) for d in crls_der],
    )
    return [report.as_dict() for report in asyncio.run(verify_pdf(pdf, trust))]
