"""Adding an archive from a URL: POST /api/download_url and its download_url job.

The file is streamed into the upload spool with the same hashing as an upload, then
goes through archive_create_from_upload: the same checks, the same record, and a
`source:<url>` tag, which is also how a URL already downloaded is recognised.
"""

from __future__ import annotations

import http.client
import logging
import re
from typing import Any
from typing import cast
from urllib.parse import unquote
from urllib.parse import urlsplit

from django.conf import settings

from archives.categories import CategoryError
from archives.categories import category_add
from archives.exceptions import UploadRejected
from archives.models import ArchiveTag
from archives.models import Tag
from archives.netguard import AddressRefused
from archives.netguard import FetchError
from archives.netguard import open_url
from archives.plugins.runs import plugins_run_enabled
from archives.services import archive_create_from_upload
from archives.uploads import HashedUpload
from archives.uploads import HashingUploadHandler

logger = logging.getLogger(__name__)

TIMEOUT = 60  # seconds without a byte before the download is given up
MAX_REDIRECTS = 5
CHUNK = 1024 * 1024
ALREADY = "URL already downloaded!"
# Whatever went wrong on the way (refused, closed, 404, timeout, unknown host, an
# address that may not be fetched from), the caller reads this: telling those apart
# would let an API user map the server's network. The real reason is logged.
FAILED = "The URL could not be downloaded."
# Characters Windows refuses in file names, which LANraragi strips from them.
_BAD_NAME_CHARS = re.compile(r'[\\/:"*?<>|]+')
_URL = re.compile(r"https?://(?:www\.)?([^?]*)", re.IGNORECASE)


class DownloadError(Exception):
    """`message` is the caller's; `reason` and `level` are for the server's log."""

    def __init__(self, message: str, *, reason: str = "", level: int = logging.INFO) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or message
        self.level = level


def trim_url(url: str) -> str:
    """LANraragi's form of a URL for `source:` tags: no scheme, `www.`, query or final `/`."""
    url = url.strip()
    found = _URL.search(url)
    if found:
        url = found.group(1)
    return url.removesuffix("/")


def url_recorded(url: str) -> str | None:
    """The ID of an archive whose `source:` tag is this URL (compared trimmed), if any."""
    trimmed = trim_url(url).lower()
    if not trimmed:
        return None
    candidates = Tag.objects.filter(namespace="source", name__contains=trimmed).values_list("id", "name")
    tag_ids = [pk for pk, name in candidates if trim_url(name.partition(":")[2]).lower() == trimmed]
    if not tag_ids:
        return None
    links = ArchiveTag.objects.filter(tag_id__in=tag_ids, archive__missing=False)
    return links.values_list("archive_id", flat=True).first()


def _file_name(response: http.client.HTTPResponse, url: str) -> str:
    """Content-Disposition's name (plain or RFC 5987), else the URL's last path part."""
    name = response.headers.get_filename() or ""
    if not name:
        name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    name = _BAD_NAME_CHARS.sub("", name).strip()
    return name or "download"


def _fetch(url: str) -> HashedUpload:
    """Stream the URL into the upload spool, hashing on the way, within the size cap."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise DownloadError("Not a proper URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise DownloadError("Not a proper URL")
    cap = settings.HONDANA_DOWNLOAD_MAX_BYTES
    try:
        response, final_url = open_url(
            url, headers={"User-Agent": "Hondana (LANraragi API)"}, timeout=TIMEOUT, max_redirects=MAX_REDIRECTS
        )
    except FetchError as exc:
        level = logging.WARNING if isinstance(exc, AddressRefused) else logging.INFO
        raise DownloadError(FAILED, reason=exc.reason, level=level) from None
    with response:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise DownloadError(f"The file is larger than {cap} bytes.")
        # The same spooling and hashing as an upload over the API.
        handler = HashingUploadHandler()
        handler.new_file("file", _file_name(response, final_url), response.headers.get_content_type(), None)
        size = 0
        try:
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if size > cap:
                    raise DownloadError(f"The file is larger than {cap} bytes.")
                handler.receive_data_chunk(chunk, size - len(chunk))
        except (OSError, http.client.HTTPException) as exc:
            handler.file.close()
            raise DownloadError(FAILED, reason=f"{final_url}: {exc!r}") from None
        except BaseException:
            handler.file.close()
            raise
    return cast(HashedUpload, handler.file_complete(size))


def url_download(*, url: str, catid: str = "") -> dict[str, Any]:
    """The download_url job: fetch, record as an upload, run the enabled metadata
    plugins, add to the category. Returns LANraragi's job result; a failure is a
    result with success 0, as LANraragi finishes such jobs rather than failing them."""
    source = trim_url(url)
    recorded = url_recorded(url)
    if recorded:
        return {"success": 0, "url": source, "id": recorded, "message": ALREADY}
    try:
        upload = _fetch(url)
    except DownloadError as exc:
        logger.log(exc.level, "Download of %s failed: %s", url, exc.reason)
        return {"success": 0, "url": source, "message": exc.message}
    try:
        archive = archive_create_from_upload(upload=upload, tags=f"source:{source}", queue_plugins=False)
    except UploadRejected as exc:
        return {
            "success": 0,
            "url": source,
            "id": exc.arcid,
            "category": catid or None,
            "title": upload.name,
            "message": exc.message,
        }
    finally:
        upload.close()
    message = plugins_run_enabled(arcid=archive.pk).message()
    if catid:
        try:
            category, _ = category_add(catid=catid, item_id=archive.pk)
            message += f"Added to Category '{category.name}'!"
        except CategoryError as exc:
            message += f"Couldn't add to Category: {exc.message}"
    archive.refresh_from_db()
    return {
        "success": 1,
        "url": source,
        "id": archive.pk,
        "category": catid or None,
        "title": archive.display_title,
        "message": message,
    }
