"""Pillow only: decode a page within the pixel budget, and encode it as a JPEG.

Hostile images are the norm here: a 20000x20000 PNG, a truncated JPEG, a GIF
that is not one. Every failure is an ImageError for the caller to turn into a
placeholder (or into the page served as it is), never a crash.

One pixel budget, HONDANA_MAX_IMAGE_PIXELS, bounds every decode. It is checked
against the size in the image's header, before any pixel is decoded, so one
decode holds at most 4 bytes a budget pixel (RGBA), plus one working copy of the
same size for an image with transparency. JPEGs are decoded at a reduced scale
where that is enough (draft mode) and count at that scale, unless libjpeg keeps
the whole image's coefficients anyway. The check is per call, so threads decoding
at once never share state; Pillow's own process-wide bomb limit
(Image.MAX_IMAGE_PIXELS) keeps its default, as a backstop.
"""

from __future__ import annotations

import ctypes
import io
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.conf import settings
from PIL import Image
from PIL import UnidentifiedImageError

THUMB_BOX = (500, 1000)
# Shrink by whole factors (a cheap box filter) down to 3x the target, then
# Lanczos: indistinguishable from Lanczos all the way, at a fraction of the work.
REDUCING_GAP = 3.0
# What pages are (archives.formats.pages); Pillow's other decoders are never run.
_PAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "BMP")
# Start-of-frame markers of JPEGs libjpeg decodes in one pass, row by row: baseline,
# extended and arithmetic sequential. Progressive and lossless ones it cannot.
_SEQUENTIAL_SOF = frozenset({0xC0, 0xC1, 0xC9})
_OTHER_SOF = frozenset({0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


class ImageError(Exception):
    pass


def pixel_budget() -> int:
    """The most pixels one decode may produce (HONDANA_MAX_IMAGE_PIXELS)."""
    return int(settings.HONDANA_MAX_IMAGE_PIXELS)


def thumbnail_jpeg(data: bytes, *, quality: int, box: tuple[int, int] = THUMB_BOX) -> bytes:
    """Fit the first frame into `box` (scaling small images up too), as JPEG.

    JPEGs are decoded at reduced scale (draft mode), which is most of the speed:
    a 1280x1810 page decodes at 1/2 or 1/4 size straight from the DCT data.
    """
    with _opened(data) as img:
        width, height = img.size
        scale = min(box[0] / width, box[1] / height)
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        return _jpeg(_fitted(img, data, target), quality)


def resize_jpeg(data: bytes, *, width: int, quality: int) -> bytes | None:
    """The first frame scaled down to `width` pixels wide, as JPEG; None if it is
    not wider than that already (nothing is decoded then)."""
    with _opened(data) as img:
        if img.width <= width:
            return None
        target = (width, max(1, round(img.height * width / img.width)))
        return _jpeg(_fitted(img, data, target), quality)


@contextmanager
def _opened(data: bytes) -> Iterator[Image.Image]:
    """The image with only its header read; any failure inside, as ImageError."""
    try:
        with Image.open(io.BytesIO(data), formats=_page_formats()) as img:
            if img.width < 1 or img.height < 1:
                raise ImageError("empty image")
            yield img
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, EOFError, MemoryError) as exc:  # fmt: skip
        raise ImageError(f"{type(exc).__name__}: {exc}") from exc


@cache
def _page_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(name for name in _PAGE_FORMATS if name in Image.OPEN)


def _fitted(img: Image.Image, data: bytes, target: tuple[int, int]) -> Image.Image:
    """The first frame resized to `target`, RGB with transparency on white, decoded
    within the pixel budget (ImageError before any decode if it cannot be)."""
    width, height = img.size
    pixels = width * height
    if img.format in ("JPEG", "MPO"):  # MPO: a camera's multi-picture JPEG
        # Decode at the smallest 1/2^k scale still at least the target size.
        img.draft("RGB", target)
        if _jpeg_decodes_in_one_pass(data):
            pixels = img.width * img.height
    budget = pixel_budget()
    if pixels > budget:
        raise ImageError(f"{width}x{height} is over the {budget}-pixel budget")
    # Resizing a palette image would fall back to nearest-neighbour, and most other
    # modes cannot be resized at all: those are converted first, at full size.
    if img.mode in ("P", "PA"):
        img = img.convert("RGBA" if img.mode == "PA" or "transparency" in img.info else "RGB")
    elif img.mode not in ("RGB", "RGBA", "L", "LA"):
        img = img.convert("RGB")
    return _flatten(img.resize(target, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP))


def _jpeg_decodes_in_one_pass(data: bytes) -> bool:
    """Whether libjpeg decodes this JPEG row by row, so that a draft-scale decode
    holds only draft-scale pixels: a sequential file whose first scan holds every
    component. Of any other (progressive, lossless, one scan per component) it
    keeps every coefficient of the full-size image until the last scan. Headers
    it cannot follow count as not."""
    components = 0
    pos = 2  # after SOI
    while pos + 4 < len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _OTHER_SOF:
            return False
        if marker in _SEQUENTIAL_SOF and pos + 9 < len(data):
            components = data[pos + 9]
        if marker == 0xDA:  # start of scan: its component count follows the length
            return components > 0 and data[pos + 4] >= components
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return False


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, optimize=False)
    return out.getvalue()


def _flatten(img: Image.Image) -> Image.Image:
    """The image as RGB, transparency on white."""
    if img.mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB") if img.mode != "RGB" else img


def release_memory() -> None:
    """Hand freed heap back to the system (glibc keeps it otherwise).

    Decoding hundreds of large pages in one job fragments the allocator's arenas,
    and a worker child would grow for the whole job; trimming every so often keeps
    it flat. A no-op where glibc's malloc_trim is not available.
    """
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None
