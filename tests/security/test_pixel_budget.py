"""One pixel budget (HONDANA_MAX_IMAGE_PIXELS) bounds every image decode.

A hostile tester's bomb: a cbz of under 1 MB holding a 16000x16000 PNG, 768 MB once
decoded. With server-side resizing on, three anonymous reads of it took a web
worker to 2.2-4.1 GB. It is now refused from its header, before any pixel is
decoded: its thumbnails are the placeholder and a resized read serves the page's
own bytes. Large pages within the budget still get real thumbnails and resizes.
"""

from __future__ import annotations

import io
import json
import resource
import struct
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.files.storage import storages
from PIL import Image

from archives import formats
from archives import images
from archives import reading
from archives.config import config_changed
from archives.models import Archive
from archives.models import ServerConfig
from archives.storage import thumbnail_key
from archives.thumbnails import placeholder_jpeg
from tests.samples import upload
from tests.workers import ROOT
from tests.workers import process_env
from tests.workers import process_tree
from tests.workers import served

BOMB = (16000, 16000)  # 256 MP: 768 MB as RGB
# Peak RSS (VmHWM) of the processes that meet the bomb. A Django process starts at
# about 70 MB; decoding the bomb would take it past 800 MB.
BOMB_PEAK_MB = 200
# ... and after large pages within the 40 MP default budget too: one decode holds at
# most 4 bytes a pixel (160 MB), and JPEGs decode at a fraction of their size.
LARGE_PEAK_MB = 400
# Safety net should a regression decode the bomb after all: the process gets a
# MemoryError instead of taking the shared machine's memory.
SAFETY_BYTES = 1536 * 1024 * 1024


# --- Images built without holding their pixels -----------------------------------------


def flat_png(width: int, height: int, *, grey: int = 128) -> bytes:
    """A one-colour RGB PNG of any size, built without holding its pixels.

    A PNG is IHDR, then IDAT (a zlib stream of rows, each led by a filter byte),
    then IEND. The rows are deflated a block at a time and the block's compressed
    bytes repeated: a full flush ends each on a byte boundary with no reference
    to earlier data, so copies of it concatenate into one valid stream.
    """
    row = b"\0" + bytes([grey]) * (width * 3)
    rows = min(height, 100)
    block = row * rows
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: the zlib header is ours
    deflated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(height // rows):
        checksum = zlib.adler32(block, checksum)
    tail = row * (height % rows)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail_deflated = compressor.compress(tail) + compressor.flush(zlib.Z_FINISH)
    checksum = zlib.adler32(tail, checksum)
    idat = b"\x78\xda" + deflated * (height // rows) + tail_deflated + struct.pack(">I", checksum)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def two_tone_jpeg(width: int, height: int, **save: object) -> bytes:
    """A greyscale JPEG, white above and dark below its middle."""
    img = Image.new("L", (width, height), 30)
    img.paste(255, (0, 0, width, height // 2))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80, **save)
    return buf.getvalue()


def stored_cbz(pages: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in pages.items():
            z.writestr(name, data)
    return buf.getvalue()


def decoded(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def stored_thumbnail(arcid: str, page: int = 0) -> bytes:
    return Path(storages["thumbnails"].path(thumbnail_key(arcid, page))).read_bytes()


# --- Processes, measured ----------------------------------------------------------------


def _safety_limit() -> None:
    # RLIMIT_DATA counts heap and private writable mappings (Pillow's pixels), not
    # address space merely reserved, so ordinary thread stacks and arenas still fit.
    resource.setrlimit(resource.RLIMIT_DATA, (SAFETY_BYTES, SAFETY_BYTES))


def peak_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024


JOBS = """
import json, sys
import django
django.setup()
from archives import thumbnails

def peak_mb():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024

out = {}
for arcid in sys.argv[1:]:
    thumbnails.thumbnail_make(arcid=arcid)
    errors = thumbnails.page_thumbnails_make(arcid=arcid)["errors"]
    out[arcid] = {"peak_mb": peak_mb(), "errors": errors}
print(json.dumps(out))
"""


def run_thumbnail_jobs(*arcids: str) -> dict[str, dict[str, object]]:
    """The cover and page-thumbnail jobs of each archive, in order, in one fresh
    process (so its memory is the jobs' alone); its peak RSS after each."""
    env = process_env({"DJANGO_SETTINGS_MODULE": "config.settings", "HONDANA_PAGETHUMBNAILS": "1"})
    done = subprocess.run(
        [sys.executable, "-c", JOBS, *arcids],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_safety_limit,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


# --- The bomb, end to end ---------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_pixel_bomb_is_never_decoded_by_jobs_or_resized_reads(client, auth_header, tmp_path):
    bomb = flat_png(*BOMB)
    small = two_tone_jpeg(800, 1200)
    bomb_cbz = stored_cbz({"001.png": bomb, "002.jpg": small})
    assert len(bomb_cbz) < 1024 * 1024
    tall_png = flat_png(4000, 9000, grey=200)  # 36 MP: within the budget
    big_jpeg = two_tone_jpeg(6000, 9000)  # 54 MP, decoded at a quarter or an eighth
    bomb_id = upload(client, "bomb.cbz", bomb_cbz, headers=auth_header).json()["id"]
    large_cbz = stored_cbz({"001.png": tall_png, "002.jpg": big_jpeg})
    large_id = upload(client, "large.cbz", large_cbz, headers=auth_header).json()["id"]

    # Jobs: the cover and the page thumbnails, in a process of their own.
    jobs = run_thumbnail_jobs(bomb_id, large_id)
    assert jobs[bomb_id]["peak_mb"] < BOMB_PEAK_MB, jobs
    assert jobs[large_id]["peak_mb"] < LARGE_PEAK_MB, jobs
    assert stored_thumbnail(bomb_id) == placeholder_jpeg()
    assert stored_thumbnail(bomb_id, 1) == placeholder_jpeg()
    assert decoded(stored_thumbnail(bomb_id, 2)).size == (500, 750)
    assert decoded(stored_thumbnail(large_id)).size == (444, 1000)
    assert decoded(stored_thumbnail(large_id, 2)).size == (500, 750)

    # Reads: three anonymous reads of the bomb with resizing on, on a live gunicorn.
    env = {"HONDANA_ENABLERESIZE": "1", "HONDANA_SIZETHRESHOLD": "0", "WEB_CONCURRENCY": "1"}
    with served(tmp_path, worker=False, env=env) as (server, url):
        pids = list(process_tree(server.proc.pid))
        for pid in pids:
            resource.prlimit(pid, resource.RLIMIT_DATA, (SAFETY_BYTES, SAFETY_BYTES))
        reads = [fetch(f"{url}/api/archives/{bomb_id}/page?path=001.png") for _ in range(3)]
        bomb_peak = max(peak_mb(pid) for pid in pids)
        tall = fetch(f"{url}/api/archives/{large_id}/page?path=001.png")
        big = fetch(f"{url}/api/archives/{large_id}/page?path=002.jpg")
        large_peak = max(peak_mb(pid) for pid in pids)
    assert bomb_peak < BOMB_PEAK_MB, (bomb_peak, [r[:2] for r in reads])
    assert all(r == (200, "image/png", bomb) for r in reads), [r[:2] for r in reads]
    assert large_peak < LARGE_PEAK_MB, large_peak
    assert tall[:2] == big[:2] == (200, "image/jpeg")
    assert decoded(tall[2]).size == (reading.RESIZE_WIDTH, 2394)
    assert decoded(big[2]).size == (reading.RESIZE_WIDTH, 1596)


# --- The budget, piece by piece ---------------------------------------------------------


def test_pillows_own_bomb_limit_is_not_lifted():
    assert Image.MAX_IMAGE_PIXELS is not None


def test_a_large_jpeg_within_budget_gets_a_true_thumbnail_and_resize():
    page = two_tone_jpeg(6000, 9000)  # over the budget as a whole, not at draft scale
    thumb = decoded(images.thumbnail_jpeg(page, quality=80))
    assert thumb.size == (500, 750)
    assert thumb.getpixel((250, 100))[0] > 240 and thumb.getpixel((250, 650))[0] < 45
    resized = decoded(images.resize_jpeg(page, width=1064, quality=80))
    assert resized.size == (1064, 1596)
    assert resized.getpixel((500, 200))[0] > 240 and resized.getpixel((500, 1400))[0] < 45
    assert images.resize_jpeg(two_tone_jpeg(1000, 1500), width=1064, quality=80) is None  # not wider


def test_a_png_over_budget_is_refused_before_decoding(settings):
    settings.HONDANA_MAX_IMAGE_PIXELS = 1_000_000
    with pytest.raises(images.ImageError, match="budget"):
        images.thumbnail_jpeg(flat_png(1001, 1000), quality=80)
    with pytest.raises(images.ImageError, match="budget"):
        images.resize_jpeg(flat_png(1001, 1000), width=800, quality=80)
    assert decoded(images.thumbnail_jpeg(flat_png(1000, 1000), quality=80)).size == (500, 500)


def test_jpegs_decoded_whole_whatever_the_draft_count_at_full_size(settings):
    # libjpeg holds every coefficient of a progressive or multi-scan file at full
    # size: decoding it at 1/8 scale saves nothing.
    settings.HONDANA_MAX_IMAGE_PIXELS = 1_000_000
    baseline = two_tone_jpeg(1600, 1200)
    assert decoded(images.thumbnail_jpeg(baseline, quality=80)).size == (500, 375)
    with pytest.raises(images.ImageError, match="budget"):
        images.thumbnail_jpeg(two_tone_jpeg(1600, 1200, progressive=True), quality=80)
    colour = io.BytesIO()
    Image.new("RGB", (1600, 1200), "teal").save(colour, "JPEG", subsampling=0)
    assert decoded(images.thumbnail_jpeg(colour.getvalue(), quality=80)).size == (500, 375)
    with pytest.raises(images.ImageError, match="budget"):
        images.thumbnail_jpeg(_first_scan_one_component(colour.getvalue()), quality=80)


def _first_scan_one_component(jpeg: bytes) -> bytes:
    """`jpeg` with its first scan cut down to one of its three components."""
    sos = jpeg.index(b"\xff\xda")
    length = int.from_bytes(jpeg[sos + 2 : sos + 4], "big")
    assert jpeg[sos + 4] == 3
    scan = b"\xff\xda" + (8).to_bytes(2, "big") + b"\x01" + jpeg[sos + 5 : sos + 7] + b"\x00\x3f\x00"
    return jpeg[:sos] + scan + jpeg[sos + 2 + length :]


def test_other_formats_are_not_decoded_at_all():
    tiff = io.BytesIO()
    Image.new("RGB", (100, 100)).save(tiff, "TIFF")
    with pytest.raises(images.ImageError):
        images.thumbnail_jpeg(tiff.getvalue(), quality=80)


@pytest.mark.django_db
def test_a_resized_read_over_budget_serves_the_page_as_it_is(client, auth_header, settings):
    page = flat_png(1500, 1000)
    arcid = upload(client, "a.cbz", stored_cbz({"001.png": page}), headers=auth_header).json()["id"]
    ServerConfig.objects.update_or_create(pk=1, defaults={"enableresize": True, "sizethreshold": 0})
    config_changed()
    archive = Archive.objects.get(pk=arcid)
    resized = reading.page_get(archive=archive, path="001.png")
    assert resized.content_type == "image/jpeg" and decoded(resized.data).size == (1064, 709)
    settings.HONDANA_MAX_IMAGE_PIXELS = 1_000_000
    served_page = reading.page_get(archive=archive, path="001.png")
    body = served_page.data if served_page.file is None else served_page.file.read()
    if served_page.file is not None:
        served_page.file.close()
    assert (served_page.content_type, body) == ("image/png", page)


# --- PDF ---------------------------------------------------------------------------------


def pdf_with_image(width: int, height: int) -> bytes:
    """A one-page A4 PDF drawing one flat width x height image over the page."""
    stream = zlib.compress(b"\x80" * (width * height * 3))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length 30 >>\nstream\nq 595 0 0 842 0 0 cm /Im0 Do Q\nendstream",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB"
        b" /BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
        % (width, height, len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_a_pdf_page_drawing_an_image_over_budget_is_refused(tmp_path):
    # pdfium decodes some images whole (JPEG 2000, progressive JPEG) whatever the
    # scale the page is rendered at: the page render alone is not the bound.
    limits = formats.Limits(max_pdf_pixels=1_000_000)
    for size, refused in [((1000, 1000), False), ((1001, 1000), True)]:
        path = tmp_path / f"{size[0]}.pdf"
        path.write_bytes(pdf_with_image(*size))
        with formats.open_archive(path, limits=limits) as reader:
            if refused:
                with pytest.raises(formats.CorruptArchive, match="budget"):
                    reader.read("1.jpg")
            else:
                page = decoded(reader.read("1.jpg"))
                assert page.width * page.height <= 1_000_000
