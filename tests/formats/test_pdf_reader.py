"""PDF pages: names, rendering at 200 DPI as JPEG quality 80, the pixel bound, bad input."""

from __future__ import annotations

import io
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from archives.formats import CorruptArchive
from archives.formats import Limits
from archives.formats import MemberNotFound
from archives.formats import MemberTooLarge
from archives.formats import open_archive
from archives.formats import sniff
from archives.formats.pdf import DPI
from archives.formats.pdf import JPEG_QUALITY
from archives.formats.pdf import render_scale


def make_pdf(path: Path, sizes: list[tuple[int, int]], resolution: float = 72) -> Path:
    """A PDF whose page k is an image of sizes[k] pixels at `resolution` DPI."""
    images = [Image.new("RGB", size, (40 * i % 256, 90, 160)) for i, size in enumerate(sizes)]
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=resolution)
    return path


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 72 DPI, so a page of W x H pixels is W x H points.
    return make_pdf(tmp_path_factory.mktemp("pdf") / "book.pdf", [(144, 216), (216, 144), (72, 72)])


def test_pages_are_named_one_to_n(pdf: Path) -> None:
    assert sniff(pdf.read_bytes()[:1024]) == "pdf"
    with open_archive(pdf) as reader:
        assert reader.format == "pdf"
        assert reader.page_names() == ["1.jpg", "2.jpg", "3.jpg"]
        assert [(m.name, m.size) for m in reader.members()] == [("1.jpg", -1), ("2.jpg", -1), ("3.jpg", -1)]


@pytest.mark.parametrize("name", ["0.jpg", "4.jpg", "01.jpg", "1.JPG", "1.png", "1", "page1.jpg", "", "-1.jpg"])
def test_other_names_are_not_found(pdf: Path, name: str) -> None:
    with open_archive(pdf) as reader, pytest.raises(MemberNotFound):
        reader.read(name)


def test_a_page_renders_at_200_dpi_as_jpeg_quality_80(pdf: Path) -> None:
    with open_archive(pdf) as reader:
        data = reader.read("1.jpg")
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert image.size == (math.ceil(144 * DPI / 72), math.ceil(216 * DPI / 72))
        reference = io.BytesIO()
        image.convert("RGB").save(reference, "JPEG", quality=JPEG_QUALITY)
        assert image.quantization == Image.open(reference).quantization  # type: ignore[attr-defined]


def test_pages_keep_their_own_size_and_orientation(pdf: Path) -> None:
    with open_archive(pdf) as reader:
        sizes = [Image.open(io.BytesIO(reader.read(n))).size for n in reader.page_names()]
    assert sizes == [(400, 600), (600, 400), (200, 200)]


def test_renders_stay_within_the_pixel_bound(pdf: Path) -> None:
    limits = Limits(max_pdf_pixels=20_000)
    with open_archive(pdf, limits=limits) as reader:
        for name, (w, h) in zip(reader.page_names(), [(144, 216), (216, 144), (72, 72)], strict=True):
            with Image.open(io.BytesIO(reader.read(name))) as image:
                assert image.width * image.height <= 20_000
                assert image.width * image.height > 20_000 * 0.9
                assert abs(image.width / image.height - w / h) < 0.02


def test_a_huge_page_is_scaled_down_to_the_default_bound(tmp_path: Path) -> None:
    # 2000 x 3000 px at 10 DPI is 200 x 300 inches: 40000 x 60000 px at 200 DPI.
    path = make_pdf(tmp_path / "poster.pdf", [(2000, 3000)], resolution=10)
    with open_archive(path) as reader, Image.open(io.BytesIO(reader.read("1.jpg"))) as image:
        assert image.width * image.height <= Limits().max_pdf_pixels
        assert image.width * image.height > Limits().max_pdf_pixels * 0.95


@pytest.mark.parametrize(
    ("width", "height", "max_pixels"),
    [(612, 792, 40_000_000), (14_400, 14_400, 40_000_000), (1, 14_400, 1000), (0.5, 0.5, 10), (3000, 1, 7)],
)
def test_render_scale_respects_the_bound_after_rounding_up(width: float, height: float, max_pixels: int) -> None:
    scale = render_scale(width, height, max_pixels)
    assert scale <= DPI / 72
    assert math.ceil(width * scale) * math.ceil(height * scale) <= max_pixels


def test_render_scale_refuses_empty_pages() -> None:
    with pytest.raises(ValueError):
        render_scale(0, 100, 1000)


def test_a_render_larger_than_the_byte_cap_is_refused(pdf: Path) -> None:
    with open_archive(pdf) as reader, pytest.raises(MemberTooLarge):
        reader.read("1.jpg", max_bytes=100)


def test_open_member_streams_the_render(pdf: Path) -> None:
    with open_archive(pdf) as reader, reader.open_member("3.jpg") as stream:
        assert Image.open(stream).size == (200, 200)


def test_readers_in_parallel_threads_all_render(pdf: Path) -> None:
    def render(name: str) -> tuple[int, int]:
        with open_archive(pdf) as reader:
            return Image.open(io.BytesIO(reader.read(name))).size

    with ThreadPoolExecutor(max_workers=4) as pool:
        sizes = list(pool.map(render, ["1.jpg", "2.jpg", "3.jpg"] * 4))
    assert sizes == [(400, 600), (600, 400), (200, 200)] * 4


@pytest.mark.parametrize("data", [b"%PDF-1.7\n" + b"garbage " * 100, b"%PDF-"])
def test_a_broken_pdf_is_corrupt(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(data)
    with pytest.raises(CorruptArchive):
        open_archive(path)


def test_more_pages_than_the_cap_is_refused(pdf: Path) -> None:
    with pytest.raises(CorruptArchive):
        open_archive(pdf, limits=Limits(max_members=2))


def test_pages_render_the_same_across_document_reopens(monkeypatch, corpus) -> None:
    """The reader reopens its document every few renders to bound pdfium's memory;
    what it renders must not change."""
    import json

    from archives.formats import open_archive
    from archives.formats import pdf

    entry = next(e for e in json.loads((corpus / "manifest.json").read_text())["archives"] if e["format"] == "pdf")
    with open_archive(corpus / entry["file"]) as reader:
        fresh = {name: reader.read(name) for name in reader.page_names()[:1]}
    monkeypatch.setattr(pdf, "REOPEN_EVERY", 2)
    with open_archive(corpus / entry["file"]) as reader:
        names = reader.page_names()
        pages = [reader.read(name) for name in names] + [reader.read(names[0])]
    assert pages[-1] == fresh[names[0]] == pages[0]
    assert all(p[:2] == b"\xff\xd8" for p in pages)
