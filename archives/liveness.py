"""Long jobs asking, now and then, whether what they work on is still there."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class StillThere:
    """Asks at most once per `every` seconds whether `rows` still match anything.

    Once they do not, `check()` raises `gone()`, then and at every later call: a
    format that swallows one error from a callback and goes on is stopped again.
    """

    def __init__(self, rows: Any, gone: Callable[[], Exception], *, every: float = 1.0) -> None:
        self.rows = rows
        self.gone = gone
        self.every = every
        self._asked = time.monotonic()
        self._lost = False

    def check(self) -> None:
        if not self._lost and time.monotonic() - self._asked < self.every:
            return
        self._asked = time.monotonic()
        if self._lost or not self.rows.exists():
            self._lost = True
            raise self.gone()
