"""Pillow only: decode a page, bounded, and encode a thumbnail.

Hostile images are the norm here: a 20000x20000 PNG, a truncated JPEG, a GIF
that is not one. Every failure is an ImageError for the caller to turn into a
placeholder, never a crash, and no image is decoded beyond the pixel budget.
"""

from __future__ import annotations

import ctypes
import io
import warnings
from typing import Any

from django.conf import settings
from PIL import Image
from PIL import UnidentifiedImageError

# Pillow's own bomb check would stop at 2x its default; ours is explicit below.
Image.MAX_IMAGE_PIXELS = None

THUMB_BOX = (500, 1000)


class ImageError(Exception):
    pass


def _budget() -> int:
    return int(settings.HONDANA_MAX_IMAGE_PIXELS)


def thumbnail_jpeg(data: bytes, *, quality: int, box: tuple[int, int] = THUMB_BOX) -> bytes:
    """Fit the first frame into `box` (scaling small images up too), as JPEG.

    JPEGs are decoded at reduced scale (draft mode), which is most of the speed:
    a 1280x1810 page decodes at 1/2 or 1/4 size straight from the DCT data.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width < 1 or height < 1:
                    raise ImageError("empty image")
                scale = min(box[0] / width, box[1] / height)
                target = (max(1, round(width * scale)), max(1, round(height * scale)))
                if img.format == "JPEG":
                    # Decode at the smallest 1/2^k scale still at least the target size.
                    img.draft("RGB", target)
                decoded = img.size[0] * img.size[1]
                if decoded > _budget():
                    raise ImageError(f"{width}x{height} is over the {_budget()}-pixel budget")
                fitted = _flatten(img).resize(target, Image.Resampling.LANCZOS)
                out = io.BytesIO()
                fitted.save(out, "JPEG", quality=quality, optimize=False)
                return out.getvalue()
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, EOFError, MemoryError) as exc:  # fmt: skip
        raise ImageError(f"{type(exc).__name__}: {exc}") from exc


def _flatten(img: Image.Image) -> Image.Image:
    """The first frame as RGB, transparency on white."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
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
