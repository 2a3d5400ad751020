"""Reading an uploaded PDF: is it one we can distribute, and what is in it.

The reading runs in a child process (``python -m agenda.pdfcheck PATH MAX_PAGES``) with a
memory limit and a deadline: a hostile or broken file may make a parser loop or allocate
without end, and that must cost one child, never the server's event loop or memory.
The child prints one JSON object: the facts, or the refusal.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEADER_WINDOW = 1024  # the PDF header may sit a little after the start (readers allow it)


@dataclass(frozen=True)
class PdfFacts:
    pages: int
    title: str
    texts: list[str]  # the text of each page, in order
    sizes: list[tuple[float, float]]  # width, height of each page in points


class PdfRefused(Exception):
    """The file is not a PDF we accept; ``code`` is stable, ``reason`` says why in words."""

    def __init__(self, code: str, reason: str, status: int = 422) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.status = status


async def inspect_pdf(
    path: Path, max_pages: int, *, seconds: float = 60, memory_mb: int = 1024
) -> PdfFacts:
    """The facts of the PDF at ``path``, or PdfRefused; bounded in time and memory."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agenda.pdfcheck",
        str(path),
        str(max_pages),
        str(memory_mb),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise PdfRefused(
            "pdf_too_complex", f"the file could not be read within {seconds:g} seconds"
        ) from None
    except BaseException:
        process.kill()
        await process.wait()
        raise
    try:
        answer: dict[str, Any] = json.loads(out)
    except ValueError:
        # Killed by the memory limit before it could answer, or crashed in a C library.
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise PdfRefused(
            "pdf_too_complex", f"the file could not be read within the limits ({tail[0][:200]})"
        ) from None
    if "refused" in answer:
        raise PdfRefused(answer["refused"], answer["reason"])
    return PdfFacts(
        pages=answer["pages"],
        title=answer["title"],
        texts=answer["texts"],
        sizes=[(w, h) for w, h in answer["sizes"]],
    )


def _read(path: Path, max_pages: int) -> dict[str, Any]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PyPdfError

    with path.open("rb") as file:
        if b"%PDF-" not in file.read(HEADER_WINDOW):
            return _refuse("not_pdf", "the file is not a PDF (no PDF header)")
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted and not _opens_without_password(reader):
            return _refuse(
                "pdf_encrypted", "the PDF is protected by a password; upload it unprotected"
            )
        count = len(reader.pages)
    except (FileNotDecryptedError, NotImplementedError):
        return _refuse("pdf_encrypted", "the PDF is encrypted in a way that cannot be opened")
    except LimitReachedError:
        return _bomb()
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        return _refuse("pdf_corrupt", f"the PDF is damaged beyond repair ({_short(exc)})")
    if count == 0:
        return _refuse("pdf_corrupt", "the PDF has no pages")
    if count > max_pages:
        return _refuse("pdf_too_many_pages", f"the PDF has {count} pages; the limit is {max_pages}")
    texts: list[str] = []
    for page in reader.pages:
        try:
            # Decoded first on its own: text extraction swallows pypdf's limit errors.
            page.get_contents()
            texts.append(_clean(page.extract_text()))
        except LimitReachedError:
            return _bomb()
        except MemoryError:
            raise
        except Exception:  # a page whose text cannot be read still shows as an image
            texts.append("")
    failure = _check_renders(path, count)
    if failure:
        return failure
    title = ""
    try:
        metadata: dict[str, Any] = dict(reader.metadata or {})
        title = _clean(str(metadata.get("/Title") or ""))[:300]
    except Exception:  # a damaged info dictionary only loses the title
        title = ""
    sizes = []
    for page in reader.pages:
        box = page.cropbox
        sizes.append((round(float(box.width), 2), round(float(box.height), 2)))
    return {"pages": count, "title": title, "texts": texts, "sizes": sizes}


def _check_renders(path: Path, count: int) -> dict[str, Any] | None:
    """The page images come from pdfium: it must open the file and draw its first page."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            return _refuse("pdf_encrypted", "the PDF is protected by a password")
        return _refuse("pdf_corrupt", f"the PDF is damaged beyond repair ({_short(exc)})")
    try:
        if len(document) != count:
            return _refuse("pdf_corrupt", "the PDF's page tree is damaged (readers disagree)")
        document[0].render(scale=0.1).close()
    finally:
        document.close()
    return None


def _opens_without_password(reader: Any) -> bool:
    """Protected only against changes (an empty user password): readable by anyone."""
    try:
        return bool(reader.decrypt(""))
    except Exception:
        return False


def _clean(text: str) -> str:
    # NUL and other control characters break PostgreSQL text and search.
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", " ", text).strip()


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def _refuse(code: str, reason: str) -> dict[str, Any]:
    return {"refused": code, "reason": reason}


def _bomb() -> dict[str, Any]:
    return _refuse(
        "pdf_bomb", "the PDF expands to far more data than it holds (a decompression bomb)"
    )


def main() -> None:
    import resource

    path, max_pages, memory_mb = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.setrecursionlimit(5000)
    try:
        answer = _read(path, max_pages)
    except MemoryError:
        answer = _refuse("pdf_bomb", "the PDF needs more memory to read than is allowed")
    except RecursionError:
        answer = _refuse("pdf_corrupt", "the PDF's structure is nested too deeply")
    except Exception as exc:
        # A parser tripping over a damaged part _read does not guard (a page box that is
        # not four numbers): still the file's fault, not "too complex" (which a crash
        # without an answer would be reported as).
        answer = _refuse("pdf_corrupt", f"the PDF is damaged beyond repair ({_short(exc)})")
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: the answer is out


if __name__ == "__main__":
    main()
