"""Chromium driven by Playwright against a live server (Debian's browser: nothing is
downloaded). One browser per test module; a fresh context (cookies, storage) per test."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.reader.conftest import configure
from tests.samples import upload

CHROMIUM = os.environ.get("HONDANA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


# Module scope, not session: while Playwright's sync API is started it keeps an event
# loop running in this thread, which would break later tests of the same process that
# call asyncio.run() (the aio-lanraragi client tests). All browser tests share one
# module, hence one browser.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found (apt install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread, which Django's ORM
    # (used by the tests themselves) takes for an async context.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Session:
    """Opens pages of the live server in one browser context and collects the
    JavaScript errors and dialogs (alert() must never run) they cause."""

    def __init__(self, browser, base_url: str, **context_options) -> None:
        options = {"viewport": DESKTOP, "reduced_motion": "reduce", "color_scheme": "light", **context_options}
        self.context = browser.new_context(base_url=base_url, **options)
        self.context.set_default_timeout(10_000)
        self.base_url = base_url
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    def page(self):
        page = self.context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        return page

    def log_in_as(self, user) -> None:
        """Put a logged-in session cookie in the browser (the login form has its own test)."""
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        self.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": self.base_url}])

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def session(browser, live_server) -> Iterator[Session]:
    opened = Session(browser, live_server.url)
    yield opened
    opened.close()
    assert not opened.dialogs, f"a dialog opened: {opened.dialogs}"
    assert not opened.errors, f"JavaScript errors: {opened.errors}"


@pytest.fixture
def phone(browser, live_server) -> Iterator[Session]:
    opened = Session(browser, live_server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    yield opened
    opened.close()
    assert not opened.errors, f"JavaScript errors: {opened.errors}"


@pytest.fixture
def server_config():
    """server_config(localprogress=True) changes the settings for one test."""
    return configure


@pytest.fixture
def editor(django_user_model):
    """A logged-in user without a password (hashing one is slow)."""
    return django_user_model.objects.create_user(username="editor", password=None, is_staff=True)


@pytest.fixture
def library(corpus, auth_header) -> dict[str, dict]:
    """A handful of corpus archives uploaded through the API: {file name: manifest entry + id}."""
    manifest = json.loads((corpus / "manifest.json").read_text())
    wanted = {"cbz", "zip", "cbr", "cb7", "pdf"}
    loaded: dict[str, dict] = {}
    client = Client()
    for entry in manifest["archives"]:
        if entry["format"] not in wanted:
            continue
        wanted.discard(entry["format"])
        data = (corpus / entry["file"]).read_bytes()
        tags = f"artist:{entry['format']} artist,language:english,series:browser test"
        response = upload(client, entry["file"], data, headers=auth_header, tags=tags)
        assert response.status_code == 200, response.content
        loaded[entry["file"]] = {**entry, "id": response.json()["id"], "bytes": data}
    return loaded


def screenshot(page, name: str) -> None:
    """docs/screenshots/<name>.png, overwritten on every run (CI keeps the folder)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
