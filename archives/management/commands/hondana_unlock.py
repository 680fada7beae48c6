"""Lift login and API-key lockouts (archives.throttle): when the owner locked
themselves out, or someone guessing at their user name did it for them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.core.management.base import CommandError

from archives.throttle import lockouts_lift


class Command(BaseCommand):
    help = "Forget wrong passwords and API keys counted against user names, addresses, or everyone."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("subjects", nargs="*", help="user names or client addresses")
        parser.add_argument("--all", action="store_true", help="forget every count")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["all"] and not options["subjects"]:
            raise CommandError("Name user names or client addresses, or pass --all.")
        count = lockouts_lift(None if options["all"] else list(options["subjects"]))
        self.stdout.write(f"Forgot {count} count(s); those logins and keys are accepted again.")
