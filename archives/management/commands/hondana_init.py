"""First-run setup: an API key and an admin user, each printed once when generated."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from archives.config import api_key_configured
from archives.config import get_config
from archives.config import set_api_key
from archives.uploads import spool_sweep


class Command(BaseCommand):
    help = "Create the API key and the admin user if they do not exist yet."

    def handle(self, *args: Any, **options: Any) -> None:
        get_config()  # creates the settings row with its defaults
        spool_sweep()  # what uploads killed with an earlier run left behind
        lines: list[str] = []
        if not api_key_configured():
            key = secrets.token_urlsafe(24)
            set_api_key(key)
            lines.append(f"  API key:        {key}")

        user_model = get_user_model()
        username = settings.HONDANA_ADMIN_USER
        env_password = settings.HONDANA_ADMIN_PASSWORD
        user = user_model.objects.filter(username=username).first()
        if user is None and not user_model.objects.filter(is_superuser=True).exists():
            password = env_password or secrets.token_urlsafe(12)
            user_model.objects.create_superuser(username=username, email="", password=password)
            if not env_password:
                lines.append(f"  Admin login:    {username} / {password}")
        elif user is not None and env_password and not user.check_password(env_password):
            user.set_password(env_password)
            user.save(update_fields=["password"])

        if lines:
            self.stdout.write(
                self.style.WARNING("First run: these were generated and will not be shown again. Keep them.")
            )
            for line in lines:
                self.stdout.write(line)
