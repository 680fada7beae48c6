"""Binary replies with HTTP Range support (206, 416), streamed, never read whole."""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterator
from typing import IO

from django.http import FileResponse
from django.http import HttpRequest
from django.http import HttpResponse
from django.http import HttpResponseBase
from django.http import StreamingHttpResponse

from archives.fileslice import FileSlice

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def _number(digits: str) -> int:
    # Past any file size; Python will not convert thousands of digits at all.
    return int(digits) if len(digits) <= 18 else 10**18


def parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """(start, end inclusive) for a single satisfiable range; None if absent or
    unparseable (serve everything); False if unsatisfiable (416)."""
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        length = _number(last)
        if length == 0:
            return False
        return max(size - length, 0), size - 1
    start = _number(first)
    end = _number(last) if last else size - 1
    if start >= size or end < start:
        return False
    return start, min(end, size - 1)


def _unsatisfiable(size: int, content_type: str, headers: dict[str, str] | None = None) -> HttpResponse:
    """416: the range starts past the end; Content-Range gives the real size."""
    response = HttpResponse(status=416, content_type=content_type, headers=headers)
    response["Content-Range"] = f"bytes */{size}"
    return response


def ranged_bytes_response(
    request: HttpRequest, data: bytes, *, content_type: str, headers: dict[str, str]
) -> HttpResponse:
    """Bytes already in memory (a page, a thumbnail), with Range support."""
    size = len(data)
    headers = {**headers, "Accept-Ranges": "bytes"}
    selected = parse_range(request.headers.get("Range", ""), size)
    if selected is False:
        return _unsatisfiable(size, content_type, headers)
    if selected is None:
        return HttpResponse(data, content_type=content_type, headers=headers)
    start, end = selected
    response = HttpResponse(data[start : end + 1], status=206, content_type=content_type, headers=headers)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


def ranged_slice_response(
    request: HttpRequest, sliced: FileSlice, *, content_type: str, headers: dict[str, str]
) -> HttpResponseBase:
    """A stretch of a file (a stored page), with Range support: gunicorn sends it
    with sendfile(), bounded by the Content-Length FileResponse takes from the slice."""
    size = sliced.length
    headers = {**headers, "Accept-Ranges": "bytes"}
    selected = parse_range(request.headers.get("Range", ""), size)
    if selected is False:
        sliced.close()
        return _unsatisfiable(size, content_type, headers)
    if selected is not None:
        start, end = selected
        sliced = sliced.narrow(start, end - start + 1)
    response = FileResponse(sliced, status=200 if selected is None else 206, content_type=content_type, headers=headers)
    response.block_size = CHUNK  # where there is no sendfile (runserver, tests)
    if selected is not None:
        response["Content-Range"] = f"bytes {selected[0]}-{selected[1]}/{size}"
    return response


def _stream(opener: Callable[[], IO[bytes]], start: int, length: int) -> Iterator[bytes]:
    with opener() as fh:
        fh.seek(start)
        left = length
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


def ranged_file_response(
    request: HttpRequest,
    *,
    opener: Callable[[], IO[bytes]],
    size: int,
    content_type: str,
    etag: str | None = None,
) -> HttpResponse:
    headers = {"Accept-Ranges": "bytes"}
    if etag:
        headers["ETag"] = etag
    selected = parse_range(request.headers.get("Range", ""), size)
    if selected is False:
        return _unsatisfiable(size, content_type)
    if request.method == "HEAD":
        response = HttpResponse(content_type=content_type, headers=headers)
        response["Content-Length"] = str(size)
        return response
    if selected is None:
        return FileResponse(opener(), content_type=content_type, headers=headers)
    start, end = selected
    response = StreamingHttpResponse(
        _stream(opener, start, end - start + 1), status=206, content_type=content_type, headers=headers
    )
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    return response
