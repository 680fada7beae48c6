"""Domain errors raised by services; archives.api.errors turns them into replies."""

from __future__ import annotations


class HondanaError(Exception):
    """Base class of the errors that services raise on purpose."""


class ArchiveNotFound(HondanaError):
    def __init__(self, arcid: str) -> None:
        super().__init__(f"No archive {arcid}")
        self.arcid = arcid


class Locked(HondanaError):
    """Another request holds the named write lock; nothing waits for it."""

    def __init__(self, resource: str) -> None:
        super().__init__(f"Locked resource: {resource}.")
        self.resource = resource


class UploadRejected(HondanaError):
    """An upload that cannot be stored; `status` and `arcid` shape the reply."""

    status = 400

    def __init__(self, message: str, *, arcid: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.arcid = arcid


class NoFileAttached(UploadRejected):
    status = 400

    def __init__(self) -> None:
        super().__init__("No file attached")


class ChecksumMismatch(UploadRejected):
    status = 417

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"Checksum mismatch: expected {expected}, got {actual}.")


class UnsupportedExtension(UploadRejected):
    status = 415

    def __init__(self, filename: str) -> None:
        super().__init__(f"Unsupported file extension ({filename})")


class DuplicateArchive(UploadRejected):
    status = 409

    def __init__(self, arcid: str) -> None:
        super().__init__(
            "This file already exists in the Library. Enable replace duplicated archive in config to replace old ones.",
            arcid=arcid,
        )


class DuplicateFilename(UploadRejected):
    status = 409

    def __init__(self, arcid: str) -> None:
        super().__init__(
            "A file with the same name is present in the Library. "
            "Enable replace duplicated archive in config to replace old ones.",
            arcid=arcid,
        )


class UnreadableArchive(UploadRejected):
    status = 422

    def __init__(self) -> None:
        super().__init__("Unreadable archive.")
