"""A circuit breaker for a service that may go away (the Redis cache, the job broker).

After a failed call, calls are skipped for `pause` seconds, then one is let through
to probe; so a dead service costs one failed call per pause, not one per request.
The outage is logged once at WARNING when it starts and once at INFO when a call
succeeds again, per process, however many calls fail in between.
"""

from __future__ import annotations

import logging
import threading
import time


class Breaker:
    """The state of one service as this process sees it: up, or down since when.

    `name` says what it is ("The Redis cache at host:6379/0"), `while_down` what the
    process does meanwhile, `when_back` what it does again once the service answers;
    both lines go to `log`, the logger of the code that uses the service.
    """

    def __init__(self, name: str, pause: float, *, log: logging.Logger, while_down: str, when_back: str) -> None:
        self.log = log
        self.name = name
        self.pause = pause
        self.while_down = while_down
        self.when_back = when_back
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._retry_at = 0.0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def allow(self) -> bool:
        """Whether to call the service now: always while it is up, once per pause while it is down."""
        if self._down_since is None:
            return True  # the common case takes no lock
        with self._lock:
            if self._down_since is None:
                return True
            now = time.monotonic()
            if now < self._retry_at:
                return False
            # This caller probes; every other one keeps skipping until it is done.
            self._retry_at = now + self.pause
            return True

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            now = time.monotonic()
            self._retry_at = now + self.pause
            if self._down_since is not None:
                return
            self._down_since = now
        self.log.warning(
            "%s is unreachable (%s: %s); %s and trying again every %g s.",
            self.name,
            type(exc).__name__,
            exc,
            self.while_down,
            self.pause,
        )

    def succeeded(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            outage = time.monotonic() - self._down_since
            self._down_since = None
        self.log.info("%s is back after %.1f s; %s.", self.name, outage, self.when_back)
