"""A stretch of a file as a file object that a WSGI server can send with sendfile().

A page stored unencoded in an archive (a stored zip member, a plain tar's member)
or unpacked in the page cache is sent from the file by the kernel under gunicorn:
`fileno()` is the file's, its position is the slice's start, and Django's
FileResponse sets Content-Length to the slice's length, which gunicorn's sendfile
honours. Servers without sendfile read it in Python, never past its end.
"""

from __future__ import annotations

import io
import os


class FileSlice(io.RawIOBase):
    """`length` bytes of the file at `path` from `offset`, opened unbuffered.

    Positions are relative to the slice: tell() is 0 at its start and seek(0, 2)
    moves to its end. It owns the file and closes it.
    """

    def __init__(self, path: str | os.PathLike[str], offset: int = 0, length: int | None = None) -> None:
        super().__init__()
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 -- closed by close()
        try:
            size = os.fstat(self._file.fileno()).st_size
            if length is None:
                length = size - offset
            if offset < 0 or length < 0 or offset + length > size:
                raise ValueError(f"{offset}+{length} is outside a {size}-byte file")
            self.start = offset
            self.length = length
            self._pos = 0
            self._file.seek(offset)
        except BaseException:
            self._file.close()
            raise

    def narrow(self, start: int, length: int) -> FileSlice:
        """A new slice of `length` bytes from `start` within this one (for a Range);
        this one is closed."""
        if start < 0 or length < 0 or start + length > self.length:
            raise ValueError(f"{start}+{length} is outside a {self.length}-byte slice")
        narrowed = FileSlice(self._file.name, self.start + start, length)
        self.close()
        return narrowed

    def fileno(self) -> int:
        return self._file.fileno()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.length}[whence]
        self._pos = min(max(base + pos, 0), self.length)
        self._file.seek(self.start + self._pos)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self.length - self._pos)
        if wanted <= 0:
            return 0
        count = self._file.readinto(memoryview(buffer)[:wanted]) or 0
        self._pos += count
        return count

    def close(self) -> None:
        file = getattr(self, "_file", None)  # None when __init__ failed to open it
        if file is not None:
            file.close()
        super().close()
