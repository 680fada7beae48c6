"""Keep a few child processes running: restart each one that exits, with backoff, and
stop them all on SIGINT, SIGTERM or SIGHUP.

Each child starts in its own session, so its process group is its own: a terminal's
Ctrl-C reaches the supervisor only, which then stops every child exactly once (SIGTERM
to the child, which stops its own processes). Whatever is left of a child's group when
it has exited, or has not stopped in time, is killed before a restart or the exit, so
processes it forked (gunicorn's workers, Celery's pool) never outlive it holding the
port, the queue or the database.
A dead child is reaped only after its group has been killed: until then its pid, and so
its group id, cannot be reused by an unrelated process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from dataclasses import field
from typing import Any

POLL = 0.2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class Backoff:
    """The delay before a restart: `first`, doubling up to `ceiling` while the child
    keeps dying, and back to `first` once a run lasted `reset_after` seconds."""

    first: float = 1.0
    ceiling: float = 30.0
    reset_after: float = 60.0
    failures: int = 0

    def delay(self, ran_for: float) -> float:
        if ran_for >= self.reset_after:
            self.failures = 0
        delay = min(self.first * 2**self.failures, self.ceiling)
        self.failures += 1
        return delay


@dataclass
class ChildSpec:
    name: str
    argv: list[str]
    # Give up (stop everything, exit 1) after this many exits in a row, each within
    # `fast` seconds of starting: a web server that cannot bind its port never will.
    give_up_after: int | None = None
    fast: float = 10.0
    hint: str = ""


@dataclass
class Child:
    spec: ChildSpec
    backoff: Backoff
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    # Set when the process has exited (it stays unreaped until its group is killed).
    returncode: int | None = None
    restart_at: float = 0.0
    fast_failures: int = 0

    def running(self) -> bool:
        if self.proc is None or self.returncode is not None:
            return False
        self.returncode = exit_status(self.proc.pid)
        return self.returncode is None


def exit_status(pid: int) -> int | None:
    """The exit status of a child in Popen's convention (-N: killed by signal N), or
    None while it runs; it is left a zombie, to be reaped by Popen.wait()."""
    result = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    if result is None:
        return None
    return result.si_status if result.si_code == os.CLD_EXITED else -result.si_status


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


def signal_group(pgid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """On Linux, a child gets SIGTERM if the supervisor itself is killed (SIGKILL, the
    OOM killer): in its own session nothing else would ever stop it."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the supervisor died before prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


@dataclass
class Supervisor:
    specs: list[ChildSpec]
    log: Callable[[str], None]
    backoff: Callable[[], Backoff] = Backoff
    stop_timeout: float = 20.0
    children: list[Child] = field(default_factory=list)
    stop_requests: int = 0

    def run(self) -> int:
        """Supervise until a stop signal (returns 0) or until a child gives up (1)."""
        previous = {signum: signal.signal(signum, self._request_stop) for signum in STOP_SIGNALS}
        try:
            self.children = [Child(spec, self.backoff()) for spec in self.specs]
            status = 0
            try:
                for child in self.children:
                    self._start(child)
                while not self.stop_requests and not status:
                    for child in self.children:
                        status = self._tend(child, time.monotonic()) or status
                    time.sleep(POLL)
            finally:
                self._stop_all()
            return status
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _request_stop(self, signum: int, frame: Any) -> None:
        self.stop_requests += 1
        if self.stop_requests == 1:
            self.log(f"serve: {signal.Signals(signum).name} received; stopping (again to kill at once).")

    def _reap(self, child: Child) -> None:
        """Kill what is left of the child's group, then reap the leader."""
        if child.proc is not None:
            signal_group(child.proc.pid, signal.SIGKILL)
            child.proc.wait()
            child.proc = None

    def _start(self, child: Child) -> None:
        self._reap(child)
        child.proc = subprocess.Popen(child.spec.argv, start_new_session=True, preexec_fn=_die_with_parent(os.getpid()))
        child.started, child.returncode = time.monotonic(), None

    def _tend(self, child: Child, now: float) -> int:
        """Notice an exit and schedule the restart, or restart when due; 1 to give up."""
        assert child.proc is not None
        if child.returncode is not None:
            if now >= child.restart_at:
                self._start(child)
                self.log(f"serve: {child.spec.name} restarted (pid {child.proc.pid}).")
            return 0
        if child.running():
            return 0
        assert child.returncode is not None
        # What the leader left in its group gets SIGTERM now, SIGKILL at the restart.
        signal_group(child.proc.pid, signal.SIGTERM)
        ran_for = now - child.started
        name, pid, how = child.spec.name, child.proc.pid, describe_exit(child.returncode)
        child.fast_failures = child.fast_failures + 1 if ran_for < child.spec.fast else 0
        limit = child.spec.give_up_after
        if limit is not None and child.fast_failures >= limit:
            hint = f" {child.spec.hint}" if child.spec.hint else ""
            self.log(
                f"serve: {name} (pid {pid}) {how}; it failed {child.fast_failures} times in a row, "
                f"each within {child.spec.fast:g}s of starting. Giving up.{hint}"
            )
            return 1
        delay = child.backoff.delay(ran_for)
        child.restart_at = now + delay
        self.log(f"serve: {name} (pid {pid}) {how} after {ran_for:.1f}s; restarting in {delay:g}s.")
        return 0

    def _stop_all(self) -> None:
        """SIGTERM every child, wait up to `stop_timeout` (or a second stop signal),
        then SIGKILL what is left of each group and reap."""
        for child in self.children:
            if child.proc is None:
                continue
            # A live leader gets SIGTERM alone and stops its own processes: Celery's main
            # process hangs in its warm shutdown when its pool is terminated under it.
            if child.running():
                child.proc.send_signal(signal.SIGTERM)
            else:
                signal_group(child.proc.pid, signal.SIGTERM)
        hurry = max(self.stop_requests, 1)
        deadline = time.monotonic() + self.stop_timeout
        while any(child.running() for child in self.children):
            if time.monotonic() > deadline or self.stop_requests > hurry:
                break
            time.sleep(POLL / 2)
        for child in self.children:
            if child.proc is not None and child.running():
                self.log(f"serve: {child.spec.name} (pid {child.proc.pid}) did not stop in time; killing it.")
            self._reap(child)
