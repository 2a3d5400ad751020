"""HTTP API that checks the signatures of any uploaded PDF."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Request

from agenda.verify import verify_job
from agenda.workers import PaperFailed
from server.auth import CurrentPrincipal
from server.deps import ReadDB
from server.documents.routes import AppPaper, pdf_form, pdf_form_schema
from server.minutes.trust import AppTrust
from server.problems import Problem

router = APIRouter(tags=["minutes"])
UPLOAD_PATHS = (r"/api/verify",)


@router.post(
    "/api/verify",
    summary="Verify every signature in a PDF (multipart field 'file')",
    openapi_extra=pdf_form_schema(),
)
async def verify(
    request: Request, principal: CurrentPrincipal, db: ReadDB, trust: AppTrust, paper: AppPaper
) -> dict[str, Any]:
    upload, form = await pdf_form(request)
    try:
        data = await upload.read(paper.max_upload_bytes + 1)
    finally:
        await form.close()
    if len(data) > paper.max_upload_bytes:
        raise Problem(413, "too_large", f"larger than {paper.settings.max_upload_mb} MB")
    if b"%PDF-" not in data[:1024]:
        raise Problem(422, "not_pdf", "the file is not a PDF")
    known = await trust.trust(db)
    pem = serialization.Encoding.PEM
    try:
        # Anyone's PDF: read in a paper-work process, bounded in memory and time.
        reports = await paper.workers.run(
            verify_job,
            data,
            [c.public_bytes(pem) for c in known.roots],
            [c.public_bytes(pem) for c in known.intermediates],
            [c.public_bytes(serialization.Encoding.DER) for c in known.crls],
        )
    except PaperFailed as exc:
        raise Problem(422, "pdf_unprocessable", f"the PDF could not be checked: {exc}") from exc
    except Exception as exc:  # pyHanko's reader on a damaged file
        raise Problem(
            422, "pdf_corrupt", f"the PDF could not be read: {type(exc).__name__}"
        ) from exc
    verdicts = {r["verdict"] for r in reports}
    overall = "unsigned" if not reports else ("valid" if verdicts == {"valid"} else "problem")
    return {"signatures": reports, "overall": overall}


# Certificates and trust
