"""Run the web server and a Celery worker together, for the single-machine setup.

Production runs them as separate processes instead (see the Procfile).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start gunicorn and a Celery worker; stop both on Ctrl-C."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "3000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--no-worker", action="store_true", help="Do not start a Celery worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        bind = f"{options['host']}:{options['port']}"
        python = sys.executable
        # gthread keeps a long upload or download from tripping the worker timeout.
        web = [
            python,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            bind,
            "--worker-class",
            "gthread",
            "--workers",
            str(options["workers"]),
            "--threads",
            "8",
            "--timeout",
            "120",
            "--access-logfile",
            "-",
            # No gunicornc socket: every gunicorn of a user would share one path in $HOME.
            "--no-control-socket",
        ]
        worker = [python, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "2"]
        procs = [subprocess.Popen(web)]
        if not options["no_worker"]:
            procs.append(subprocess.Popen(worker))
        broker = "Redis" if settings.REDIS_URL else "the filesystem broker"
        self.stdout.write(self.style.SUCCESS(f"Hondana on http://{bind}/ (jobs on {broker}). Ctrl-C stops it."))

        def stop(signum: int, frame: Any) -> None:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while all(proc.poll() is None for proc in procs):
                time.sleep(0.5)
        finally:
            stop(signal.SIGTERM, None)
            deadline = time.monotonic() + 20
            for proc in procs:
                try:
                    proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    proc.kill()
        codes = [proc.returncode for proc in procs]
        if any(code not in (0, -signal.SIGTERM, None) for code in codes):
            sys.exit(1)
