"""PDF through pypdfium2: page k is the member "k.jpg", rendered on demand.

Pages are listed as "1.jpg" ... "N.jpg" in page order (LANraragi's names) and
read() renders page k at 200 DPI as a JPEG of quality 80, scaled down further so
that width * height stays within limits.max_pdf_pixels; a page drawing an image
of more pixels than that is refused, never rendered. Random access is cheap:
pdfium loads only the objects a page needs. open_member() returns an in-memory
stream of the rendered page.

PDFium is not thread-safe, not even across documents, so every call into it
holds one module-wide lock; renders are serialised, JPEG encoding is not.
"""

from __future__ import annotations

import io
import logging
import math
import re
import threading
from typing import BinaryIO

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from .base import ArchiveReader
from .base import CorruptArchive
from .base import Limits
from .base import Member
from .base import MemberTooLarge
from .base import check_count

logger = logging.getLogger(__name__)

DPI = 200
JPEG_QUALITY = 80
_LOCK = threading.Lock()
_PAGE_NAME = re.compile(r"[1-9][0-9]*\.jpg")


class PdfReader(ArchiveReader):
    format = "pdf"

    def __init__(self, fileobj: BinaryIO, *, limits: Limits) -> None:
        super().__init__(fileobj, limits=limits)
        fileobj.seek(0)
        with _LOCK:
            try:
                self._doc = pdfium.PdfDocument(fileobj)
                count = len(self._doc)
            except pdfium.PdfiumError as exc:  # broken, truncated, or password-protected
                raise CorruptArchive(f"unreadable pdf: {exc}") from exc
        try:
            check_count(count, limits)
        except CorruptArchive:
            self._close()
            raise
        self._count = count
        self._renders = 0

    def members(self) -> list[Member]:
        return [Member(name, -1) for name in self.page_names()]

    def page_names(self) -> list[str]:
        """ "1.jpg" ... "N.jpg" in page order; the cover/credit rules do not apply."""
        return [f"{k}.jpg" for k in range(1, self._count + 1)]

    def _contains(self, name: str) -> bool:
        # The length check first: Python will not convert thousands of digits.
        return _PAGE_NAME.fullmatch(name) is not None and len(name) < 24 and int(name[:-4]) <= self._count

    def _read_resolved(self, name: str, cap: int) -> bytes:
        image = self._render(int(name[:-4]) - 1)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=JPEG_QUALITY)
        if buf.tell() > cap:
            raise MemberTooLarge(f"page {name!r} renders to {buf.tell()} bytes, over the {cap}-byte cap")
        return buf.getvalue()

    def _open_resolved(self, name: str) -> BinaryIO:
        return io.BytesIO(self._read_resolved(name, self.limits.max_member_bytes))

    @property
    def random_access(self) -> bool:
        return False  # every read renders a page

    def _close(self) -> None:
        with _LOCK:
            self._doc.close()

    def _render(self, index: int) -> Image.Image:
        with _LOCK:
            self._renders += 1
            if self._renders % REOPEN_EVERY == 0:
                # pdfium keeps every object it has parsed (the page images included)
                # until the document closes: memory would grow by about the file's size
                # over a full pass. A fresh document every so often keeps it bounded.
                self._doc.close()
                self._fileobj.seek(0)
                self._doc = pdfium.PdfDocument(self._fileobj)
            try:
                page = self._doc[index]
                try:
                    _refuse_large_images(page, index, self.limits.max_pdf_pixels)
                    width, height = page.get_size()
                    bitmap = page.render(scale=render_scale(width, height, self.limits.max_pdf_pixels))
                    try:
                        # convert() copies the pixels out of pdfium's buffer before it is freed.
                        image: Image.Image = bitmap.to_pil()
                        return image.convert("RGB")
                    finally:
                        bitmap.close()
                finally:
                    page.close()
            except (pdfium.PdfiumError, ValueError) as exc:
                raise CorruptArchive(f"cannot render page {index + 1}: {exc}") from exc


REOPEN_EVERY = 32
MIN_IMAGE_BUDGET = 1_000_000


def _refuse_large_images(page: pdfium.PdfPage, index: int, max_pixels: int) -> None:
    """CorruptArchive if the page draws an image of more than max_pixels (or 1 MP,
    the smallest pixel budget the settings accept, if that is more).

    Whatever the scale the page is rendered at, pdfium decodes some images whole
    first (JPEG 2000, progressive JPEG): a 2 KB JPEG 2000 can declare a gigabyte
    of pixels. The sizes come from the images' dictionaries; nothing is decoded.
    """
    max_pixels = max(max_pixels, MIN_IMAGE_BUDGET)
    for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
        width, height = image.get_px_size() if isinstance(image, pdfium.PdfImage) else (0, 0)
        if width * height > max_pixels:
            raise CorruptArchive(f"page {index + 1} draws a {width}x{height} image, over the {max_pixels}-pixel budget")


def render_scale(width: float, height: float, max_pixels: int) -> float:
    """Pixels per point for a page of width x height points: 200 DPI, or less to fit max_pixels."""
    if not (width > 0 and height > 0):
        raise ValueError(f"page size {width}x{height}")
    max_pixels = max(1, max_pixels)
    scale = min(DPI / 72, math.sqrt(max_pixels / (width * height)))
    # pdfium rounds each side up, which can overshoot the bound by a row or column.
    while math.ceil(width * scale) * math.ceil(height * scale) > max_pixels:
        scale *= 0.99
    return scale
