"""The embedded Celery broker: kombu's filesystem transport, safe for many processes.

kombu's `filesystem://` transport creates a message file and then writes it, and its
reader lists, moves and parses files without a lock: a busy worker could read a
half-written message and die on a JSONDecodeError. This transport keeps kombu's
folders, options, exchanges and the `<stamp>_<uuid>.<queue>.msg` shape of file names
(so it still takes files an older version left), and changes how a message file is
written and taken:

* put: the message is written under `<data_folder_out>/tmp/`, fsynced (transport option
  `fsync`, on by default), then `os.replace`d to its `.msg` name, so a reader only ever
  sees complete files.
* get: a consumer takes a file by `os.rename` into its own claim folder
  `<data_folder_in>/claimed/<id>/`. One rename wins; a loser skips the file. A file that
  does not parse as a message is moved to `<data_folder_in>/bad/` and logged.
* a consumer holds an flock on `claimed/<id>/.lock` while it lives. A file left in the
  claim folder of a dead consumer was never delivered, so the next consumer puts it back.

Files are named `<9 - priority>_<time ns>_<uuid>.<queue>.msg`: in name order, a higher
priority comes first (AMQP's order, 0 to 9), then the oldest message.

Settings name it with `broker_transport = "jobs.broker:Transport"` on a `filesystem://`
URL: kombu refuses an import path as a URL scheme.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import shutil
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import suppress
from queue import Empty
from typing import Any
from typing import NamedTuple

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps
from kombu.utils.json import loads
from kombu.utils.objects import cached_property

logger = logging.getLogger(__name__)

TMP = "tmp"
CLAIMED = "claimed"
BAD = "bad"
LOCK = ".lock"
# A writer takes milliseconds: a temporary file this old was left by a dead one.
STALE_TMP_SECONDS = 3600
# A consumer looks for the claim folders of dead consumers this often (seconds).
RECOVER_EVERY = 60.0
# A consumer re-lists a queue at least this often, so a message of higher priority
# does not wait behind a long listing taken earlier.
RELIST_EVERY = 1.0


class _Claim(NamedTuple):
    folder: str
    queue_folder: str
    lock_fd: int
    pid: int


# The claim folders this process holds, by name. A channel never recovers these: flock
# locks belong to an open file, but where they are emulated with per-process locks (NFS)
# it could otherwise take a sibling channel's folder for a dead one's. Released when the
# channel closes, or at exit (clients such as `celery inspect` exit without closing).
_claims: dict[str, _Claim] = {}


def _put_back(folder: str, queue_folder: str) -> int:
    """Move the messages of a claim folder back to the queue (same names, same place
    in the order); the number moved."""
    moved = 0
    with suppress(FileNotFoundError):  # another consumer cleaned it up first
        for name in os.listdir(folder):
            if name.endswith(".msg"):
                with suppress(FileNotFoundError):
                    os.rename(os.path.join(folder, name), os.path.join(queue_folder, name))
                    moved += 1
    return moved


def _release(claim_id: str) -> None:
    claim = _claims.get(claim_id)
    if claim is None or claim.pid != os.getpid():
        return  # a forked child leaves its parent's folder alone
    del _claims[claim_id]
    try:
        _put_back(claim.folder, claim.queue_folder)  # nothing is there in the normal course
        shutil.rmtree(claim.folder, ignore_errors=True)
    finally:
        os.close(claim.lock_fd)


@atexit.register
def _release_all() -> None:
    for claim_id in list(_claims):
        _release(claim_id)


class Channel(filesystem.Channel):
    """Writes by rename, claims by rename, sets aside what does not parse."""

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self._claim_id: str | None = None  # this channel's claim folder, made on first get
        self._listings: dict[str, tuple[float, deque[str]]] = {}
        self._recovered_at = float("-inf")

    @cached_property
    def fsync(self) -> bool:
        return bool(self.transport_options.get("fsync", True))

    # --- put --------------------------------------------------------------------------

    # kombu-stubs call this argument `payload` here and `message` in the base channel.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        """Put `payload` onto `queue`: written in full under tmp/, then renamed into place."""
        priority = self._get_message_priority(payload, reverse=True)
        name = f"{priority}_{time.time_ns():020d}_{uuid.uuid4().hex}.{queue}.msg"
        data = str_to_bytes(dumps(payload))
        tmp = os.path.join(self.data_folder_out, TMP, name)
        try:
            os.makedirs(os.path.dirname(tmp), exist_ok=True)
            with open(tmp, "xb") as f:
                f.write(data)
                f.flush()
                if self.fsync:
                    # Without it a power cut could leave the renamed file empty.
                    os.fsync(f.fileno())
            os.replace(tmp, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            with suppress(OSError):
                os.remove(tmp)
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc

    # --- get --------------------------------------------------------------------------

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        """Take the next message of `queue`: the first file this channel renames into
        its claim folder, read, parsed and then removed."""
        claim = self._claim_folder()
        now = time.monotonic()
        if now - self._recovered_at > RECOVER_EVERY:
            self._recovered_at = now
            self._recover()
        for name in self._names(queue, now):
            claimed = os.path.join(claim, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue  # another consumer took it, or a purge removed it
            except OSError as exc:
                logger.warning("Cannot take broker message %s: %s", name, exc)
                continue
            payload = self._read(claimed)
            if payload is not None:
                return payload
        raise Empty()

    def _names(self, queue: str, now: float) -> Iterator[str]:
        """The queue's message names, oldest (after priority) first, from a listing that
        is kept while it lasts: names other consumers took since fail their rename."""
        listed_at, names = self._listings.get(queue, (0.0, deque()))
        if not names or now - listed_at > RELIST_EVERY:
            suffix = f"{queue}.msg"
            found = (name for name in os.listdir(self.data_folder_in) if name.partition(".")[2] == suffix)
            names = deque(sorted(found))
            self._listings[queue] = (now, names)
        while names:
            yield names.popleft()

    def _read(self, path: str) -> dict[str, Any] | None:
        """The message in the claimed file `path`, which is then gone; None if it was
        set aside or no longer there."""
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._set_aside(path, f"cannot be read: {exc}")
            return None
        try:
            payload = loads(bytes_to_str(raw))
        except Exception as exc:  # garbage of any kind must never stop the worker
            self._set_aside(path, f"is not JSON ({type(exc).__name__}: {exc}), {len(raw)} bytes")
            return None
        properties = payload.get("properties") if isinstance(payload, dict) else None
        if not isinstance(payload, dict) or not isinstance(properties, dict) or "delivery_tag" not in properties:
            self._set_aside(path, "is JSON but not a kombu message")
            return None
        # Gone from the claim folder before it is returned: a file still there was never
        # delivered, which is what makes putting back a dead consumer's files safe.
        kept = False
        if self.store_processed:
            try:
                shutil.move(path, os.path.join(self.processed_folder, os.path.basename(path)))
                kept = True
            except OSError as exc:
                logger.warning("Cannot keep processed broker message %s: %s", path, exc)
        if not kept:
            try:
                os.remove(path)
            except OSError as exc:
                raise ChannelError(f"Cannot remove file {path!r} from queue.") from exc
        return payload

    def _set_aside(self, path: str, reason: str) -> None:
        bad = os.path.join(self.data_folder_in, BAD)
        target = os.path.join(bad, os.path.basename(path))
        try:
            os.makedirs(bad, exist_ok=True)
            os.replace(path, target)
        except OSError as exc:
            logger.error("Broker message %s %s, and cannot be set aside (%s): removed", path, reason, exc)
            with suppress(OSError):
                os.remove(path)
            return
        logger.error("Broker message %s %s: moved to %s", os.path.basename(path), reason, target)

    # --- claim folders ----------------------------------------------------------------

    def _claim_folder(self) -> str:
        claim = _claims.get(self._claim_id or "")
        if claim is not None and claim.pid == os.getpid():
            # Cheap, and a missing folder would otherwise fail every rename as "taken".
            os.makedirs(claim.folder, exist_ok=True)
            return claim.folder
        root = os.path.join(self.data_folder_in, CLAIMED)
        claim_id = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        # Locked under a dot name, then renamed: a recovering consumer never sees the
        # folder before its lock is held.
        staging = os.path.join(root, f".{claim_id}")
        os.makedirs(staging)
        fd = os.open(os.path.join(staging, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        folder = os.path.join(root, claim_id)
        os.rename(staging, folder)
        _claims[claim_id] = _Claim(folder, self.data_folder_in, fd, os.getpid())
        self._claim_id = claim_id
        return folder

    def _recover(self) -> None:
        """Put back the files claimed by consumers that died (their lock is free), and
        remove temporary files that dead writers left."""
        root = os.path.join(self.data_folder_in, CLAIMED)
        with suppress(FileNotFoundError):
            for entry in os.listdir(root):
                if not entry.startswith(".") and entry not in _claims:
                    self._recover_folder(os.path.join(root, entry))
        tmp = os.path.join(self.data_folder_out, TMP)
        with suppress(FileNotFoundError):
            for name in os.listdir(tmp):
                path = os.path.join(tmp, name)
                with suppress(FileNotFoundError):
                    if time.time() - os.stat(path).st_mtime > STALE_TMP_SECONDS:
                        os.remove(path)

    def _recover_folder(self, folder: str) -> None:
        try:
            fd = os.open(os.path.join(folder, LOCK), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return  # being cleaned up by another consumer, or not a claim folder
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # its consumer is alive
            moved = _put_back(folder, self.data_folder_in)
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(fd)
        if moved:
            logger.warning("Put back %d broker message(s) claimed by a consumer that died", moved)

    def close(self) -> None:
        super().close()
        if self._claim_id is not None:
            _release(self._claim_id)
            self._claim_id = None


class Transport(filesystem.Transport):
    """kombu's filesystem transport with `Channel` above."""

    Channel = Channel
    global_state = virtual.BrokerState()
