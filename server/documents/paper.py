"""What the documents routes share for the app's life: the blob store, the paper-work
processes, and the limits from settings. Opened in the app's lifespan."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pypdf import PdfReader
from starlette.requests import HTTPConnection
from starlette.responses import Response

from agenda import pages
from agenda.blobs import BlobStore
from agenda.workers import PaperFailed, PaperWorkers
from server.metrics import PAGE_IMAGES
from server.problems import Problem
from server.settings import Settings

T = TypeVar("T")

# A recipient turning pages, or fetching the same copy again, records "last opened" at most
# this often (per process): the first fetch is always recorded.
RECEIPT_SECONDS = 60.0


@dataclass
class Paper:
    settings: Settings
    blobs: BlobStore
    workers: PaperWorkers
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _receipts: dict[tuple[str, int, str], float] = field(default_factory=dict)
    _page_counts: dict[str, int] = field(default_factory=dict)

    @property
    def max_upload_bytes(self) -> int:
        return self.settings.max_upload_mb * 1024 * 1024

    async def page_image(self, digest: str, page: int, width: int | None) -> tuple[Path, str]:
        """Page ``page`` of the stored PDF ``digest`` as WebP (drawn once, then cached in
        the blob store) and its ETag; the caller has checked the page exists."""
        size = pages.snap_width(width)
        parts = ("pages", digest, f"{pages.RENDERER}-p{page}-w{size}.webp")
        path = self.blobs.derived_path(*parts)
        cache = "hit"
        if not path.is_file():
            async with self.making("/".join(parts)):
                if not path.is_file():
                    cache = "miss"
                    image = await self.run(pages.render_page, self.blobs.path(digest), page, size)
                    self.blobs.put_derived(image, *parts)
        PAGE_IMAGES.labels(cache).inc()
        return path, f'"{digest[:20]}-{page}-{size}-{pages.RENDERER}"'

    def page_count(self, digest: str) -> int:
        """Pages of a stored PDF we made (minutes): read once, a digest never changes."""
        if digest not in self._page_counts:
            self._page_counts[digest] = len(PdfReader(self.blobs.path(digest)).pages)
        return self._page_counts[digest]

    async def run(self, job: Callable[..., T], *args: Any) -> T:
        """Run a paper-work job; a file that breaks it is the client's problem (422)."""
        try:
            return await self.workers.run(job, *args)
        except PaperFailed as exc:
            raise Problem(
                422, "pdf_unprocessable", f"the PDF could not be processed: {exc}"
            ) from exc

    @asynccontextmanager
    async def making(self, key: str) -> AsyncIterator[None]:
        """One maker per file in this process: two requests for the same copy wait for
        the first instead of watermarking it twice."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    def receipt_due(self, recipient: tuple[str, int], what: str) -> bool:
        key = (*recipient, what)
        now = time.monotonic()
        if now - self._receipts.get(key, -RECEIPT_SECONDS) < RECEIPT_SECONDS:
            return False
        if len(self._receipts) > 100_000:
            self._receipts.clear()
        self._receipts[key] = now
        return True


def not_modified(request: HTTPConnection, etag: str) -> Response | None:
    """A 304 if the client already has this ETag."""
    asked = request.headers.get("if-none-match", "")
    if asked.strip() == "*" or etag in (tag.strip() for tag in asked.split(",")):
        return Response(status_code=304, headers={"ETag": etag})
    return None


@asynccontextmanager
async def paper_for(settings: Settings) -> AsyncIterator[Paper]:
    blobs = BlobStore(settings.data_dir / "blobs")
    blobs.clear_litter()
    workers = PaperWorkers(settings.paper_workers, memory_mb=settings.paper_memory_mb)
    try:
        yield Paper(settings, blobs, workers)
    finally:
        await asyncio.to_thread(workers.close)
