"""Run the web server and a Celery worker together, for the single-machine setup,
restarting either one that dies (see archives.supervise).

Production runs them as separate processes instead (see the Procfile).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from archives.supervise import ChildSpec
from archives.supervise import Supervisor


class Command(BaseCommand):
    help = "Start gunicorn and a Celery worker, restart either if it dies; stop both on Ctrl-C."

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
            # Finish in-flight requests within serve's 20 s stop deadline.
            "--graceful-timeout",
            "15",
            "--access-logfile",
            "-",
            # No gunicornc socket: every gunicorn of a user would share one path in $HOME.
            "--no-control-socket",
        ]
        worker = [python, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "2"]
        children = [
            ChildSpec(
                "web", web, give_up_after=5, hint=f"Is something else listening on {bind}? Its output above says why."
            )
        ]
        if not options["no_worker"]:
            children.append(ChildSpec("worker", worker))
        broker = "Redis" if settings.REDIS_URL else "the filesystem broker"
        self.stdout.write(self.style.SUCCESS(f"Hondana on http://{bind}/ (jobs on {broker}). Ctrl-C stops it."))
        self.stdout.flush()
        status = Supervisor(children, log=lambda line: self.stderr.write(line, self.style.WARNING)).run()
        if status:
            sys.exit(status)
