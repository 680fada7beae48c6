"""Tiny real archives built in tests, and a multipart helper for the test client."""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from pathlib import Path

from django.test.client import BOUNDARY
from django.test.client import MULTIPART_CONTENT
from django.test.client import encode_multipart
from PIL import Image


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (60, 80)) -> bytes:
    rng = random.Random(seed)
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(20):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        img.putpixel((x, y), (rng.randrange(256), 0, 0))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def cbz_bytes(names: list[str] | None = None, *, seed: int = 0, padding: int = 0) -> bytes:
    """A stored zip of JPEG pages; `padding` adds an incompressible member of that size."""
    names = names if names is not None else ["001.jpg", "002.jpg", "003.jpg"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i, name in enumerate(names):
            z.writestr(name, jpeg_bytes(seed * 1000 + i))
        if padding:
            z.writestr("padding.bin", random.Random(seed).randbytes(padding))
    return buf.getvalue()


def lrr_id(data: bytes) -> str:
    return hashlib.sha1(data[:512_000]).hexdigest()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def multipart(fields: dict[str, object]) -> tuple[bytes, str]:
    """Encode form fields (files as (name, bytes) tuples) for client.put()."""
    encoded: dict[str, object] = {}
    for key, value in fields.items():
        if isinstance(value, tuple):
            name, data = value
            f = io.BytesIO(data)
            f.name = name
            encoded[key] = f
        else:
            encoded[key] = value
    return encode_multipart(BOUNDARY, encoded), MULTIPART_CONTENT


def upload(client, filename: str, data: bytes, *, headers: dict[str, str] | None = None, **fields: object):
    body, content_type = multipart({"file": (filename, data), **fields})
    return client.put("/api/archives/upload", data=body, content_type=content_type, **(headers or {}))
