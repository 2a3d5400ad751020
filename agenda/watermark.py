"""A recipient's own copy of a PDF: a light diagonal label on every page and an identifier
in the metadata, so a copy that leaks can be traced to whom it was given.

A watermark deters and traces ordinary leaks (forwarded files, printouts, photos of a
screen); someone with PDF tools can still remove it. docs/documents.md says so.
"""

from __future__ import annotations

import io
from math import atan2, degrees
from pathlib import Path
from typing import Any

from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
)

from agenda import fonts

# The metadata key carrying a copy's identifier (also in the document's keywords, which
# every PDF viewer shows under "Properties").
COPY_KEY = "/HoinghiCopy"
GREY = (0.45, 0.45, 0.45)
OPACITY = 0.18


def open_reader(source: Path | io.BytesIO) -> PdfReader:
    """A reader for a stored PDF; files protected only against changes are opened."""
    reader = PdfReader(source, strict=False)
    if reader.is_encrypted:
        reader.decrypt("")
    return reader


def stamp(width: float, height: float, label: str) -> PageObject:
    """A transparent page of the given size with ``label`` across its diagonal."""
    from reportlab.pdfgen import canvas

    regular, _ = fonts.register()
    buffer = io.BytesIO()
    sheet = canvas.Canvas(
        buffer, pagesize=(width, height), pageCompression=1, initialFontName=regular
    )
    sheet.setFillColorRGB(*GREY, alpha=OPACITY)
    diagonal = (width**2 + height**2) ** 0.5
    size = max(8.0, min(48.0, diagonal * 0.8 / max(1, len(label)) * 1.9))
    sheet.setFont(regular, size)
    sheet.translate(width / 2, height / 2)
    sheet.rotate(degrees(atan2(height, width)))
    sheet.drawCentredString(0, -size / 3, label)
    sheet.save()
    return PdfReader(io.BytesIO(buffer.getvalue())).pages[0]


STAMP_NAME = NameObject("/HoinghiStamp")


def _stamp_form(writer: PdfWriter, page: PageObject, width: float, height: float) -> Any:
    """The stamp page as a form XObject in ``writer`` (one per page size, shared)."""
    contents = page.get_contents()
    form = DecodedStreamObject()
    form.set_data(contents.get_data() if contents is not None else b"")
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(
                [FloatObject(0), FloatObject(0), FloatObject(width), FloatObject(height)]
            ),
            NameObject("/Resources"): page["/Resources"].clone(writer),
        }
    )
    return writer._add_object(form.flate_encode())


def watermark(writer: PdfWriter, label: str, identifier: str) -> None:
    """Stamp every page of ``writer`` and record ``identifier`` in its metadata.

    The stamp is drawn once per page size as a form XObject, and each page gets two small
    content streams around its own ("q" before, "Q q <place> /HoinghiStamp Do Q" after):
    the page's content is never decoded or rewritten, which keeps a copy of a large pack
    cheap to make.
    """
    forms: dict[tuple[float, float], Any] = {}
    draws: dict[tuple[tuple[float, float], float, float], Any] = {}
    save = DecodedStreamObject()
    save.set_data(b"q\n")
    save_ref = writer._add_object(save)
    for page in writer.pages:
        box = page.cropbox
        size = (round(float(box.width), 1), round(float(box.height), 1))
        if size not in forms:
            forms[size] = _stamp_form(writer, stamp(size[0], size[1], label), *size)
        offset = (float(box.left), float(box.bottom))
        key = (size, *offset)
        if key not in draws:
            draw = DecodedStreamObject()
            draw.set_data(b"\nQ q 1 0 0 1 %.2f %.2f cm %s Do Q\n" % (*offset, STAMP_NAME.encode()))
            draws[key] = writer._add_object(draw)
        resources = page.get("/Resources")
        merged = DictionaryObject(resources.get_object() if resources is not None else {})
        xobjects = merged.get("/XObject")
        own = DictionaryObject(xobjects.get_object() if xobjects is not None else {})
        own[STAMP_NAME] = forms[size]
        merged[NameObject("/XObject")] = own
        page[NameObject("/Resources")] = merged
        contents = page.raw_get("/Contents") if "/Contents" in page else None
        if contents is None:
            streams: list[Any] = []
        elif isinstance(contents.get_object(), ArrayObject):
            streams = list(contents.get_object())
        else:
            streams = [contents]
        page[NameObject("/Contents")] = ArrayObject([save_ref, *streams, draws[key]])
    info: dict[str, Any] = {COPY_KEY: identifier, "/Keywords": f"hoinghi-copy:{identifier}"}
    writer.add_metadata(info)


def watermarked_copy(source: Path, target: Path, label: str, identifier: str) -> None:
    """Write ``target``: the PDF at ``source`` watermarked for one recipient."""
    writer = PdfWriter(clone_from=open_reader(source))
    watermark(writer, label, identifier)
    with target.open("wb") as file:
        writer.write(file)


def copy_identifier(source: Path | io.BytesIO) -> str | None:
    """The identifier of a copy we issued, read back from a (possibly leaked) file."""
    reader = open_reader(source)
    metadata: dict[str, Any] = dict(reader.metadata or {})
    value = metadata.get(COPY_KEY)
    if value:
        return str(value)
    keywords = str(metadata.get("/Keywords") or "")
    for word in keywords.replace(",", " ").split():
        if word.startswith("hoinghi-copy:"):
            return word.removeprefix("hoinghi-copy:")
    return None


def issue_copy(source: str, target: str, label: str, identifier: str) -> tuple[str, int]:
    """A paper-work job: write the watermarked copy; its sha256 and size."""
    import hashlib

    path = Path(target)
    watermarked_copy(Path(source), path, label, identifier)
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest(), path.stat().st_size
