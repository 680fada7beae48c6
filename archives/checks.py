"""System checks: problems a new user should hear about at start-up, in plain words."""

from __future__ import annotations

from typing import Any

from django.core import checks


@checks.register()
def rar_tool_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from archives.formats import rar_tool

    if rar_tool() is None:
        return [
            checks.Warning(
                "No tool for compressed RAR archives was found, so compressed .cbr/.rar pages "
                "cannot be read (stored ones still can).",
                hint="Install p7zip's 7z or unar (Debian/Ubuntu: apt install p7zip-full, or apt install unar; "
                "macOS: brew install p7zip). Debian's unrar-free and 7zz do not work.",
                id="hondana.W001",
            )
        ]
    return []


@checks.register()
def server_setting_pins_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from archives.config import env_pin_errors

    return [
        checks.Error(
            message,
            hint="Fix or unset the variable; an unset setting takes its value from the settings page.",
            id="hondana.E001",
        )
        for message in env_pin_errors()
    ]
