"""The web pages under their Content-Security-Policy, in Chromium: every page of the
site and the admin is used as a visitor would, and the browser must report no
violation (the policy would have blocked something the page needed).

Violations are caught twice: a listener for `securitypolicyviolation` events, put in
every page before its own scripts run, and Chromium's console messages.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from archives.categories import category_create
from archives.models import Archive
from tests.browser.conftest import Session
from tests.browser.conftest import browser  # noqa: F401  (fixture)
from tests.browser.conftest import library  # noqa: F401  (fixture)
from tests.samples import cbz_bytes
from tests.samples import lrr_id
from tests.security.test_headers import PAGE_CSP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-12345678"
LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("csp-violation " + JSON.stringify({
    directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile,
    line: e.lineNumber, sample: e.sample, page: location.pathname,
  }));
});
"""


class WatchedSession(Session):
    """A browser context whose pages report every CSP violation into `violations`."""

    def __init__(self, chromium, base_url: str) -> None:
        super().__init__(chromium, base_url)
        self.violations: list[str] = []
        self.context.add_init_script(script=LISTENER)

    def page(self):
        page = super().page()
        page.on("console", self._console)
        return page

    def _console(self, message) -> None:
        text = message.text
        if text.startswith("csp-violation ") or "Content Security Policy" in text:
            self.violations.append(text)

    def clean(self, where: str) -> None:
        assert not self.violations, f"{where}: {self.violations}"
        assert not self.errors, f"{where}: JavaScript errors {self.errors}"


@pytest.fixture
def watched(browser, live_server):  # noqa: F811
    opened = WatchedSession(browser, live_server.url)
    yield opened
    opened.close()
    assert not opened.dialogs, f"a dialog opened: {opened.dialogs}"
    opened.clean("at the end")


def visit(page, path: str):
    """Open a page and check it came with the policy."""
    response = page.goto(path)
    assert response is not None and response.ok, (path, response and response.status)
    assert response.headers.get("content-security-policy") == PAGE_CSP, path
    return response


def settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => Array.from(document.images).every(i => !i.getAttribute('src') || (i.complete && i.naturalWidth > 0))",
        timeout=10_000,
    )


def test_every_page_works_under_the_policy(watched, library, django_user_model, tmp_path):  # noqa: F811
    django_user_model.objects.create_superuser(username="boss", password=PASSWORD)
    shelf = category_create(name="Shelf")
    entry = max(library.values(), key=lambda e: e["pages"])
    arcid = entry["id"]
    page = watched.page()

    # Log in through the form (a POST, then a redirect: form-action).
    visit(page, "/login?next=/upload")
    page.get_by_label("User name").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/upload$"))
    watched.clean("login")

    # The library: covers load lazily, a search goes through the API.
    visit(page, "/")
    expect(page.locator("#grid > li")).to_have_count(len(library))
    settle(page)
    page.locator("#filter").fill(entry["title_stem"])
    page.locator("#filter").press("Enter")
    expect(page.locator("#grid > li")).to_have_count(1)
    settle(page)
    watched.clean("library")

    # The reader: pages turn, double mode, the overview of thumbnails.
    visit(page, f"/reader?id={arcid}")
    reader = page.locator("#reader")
    expect(reader).to_have_attribute("data-ready", "true")
    page.keyboard.press("ArrowRight")
    expect(reader).to_have_attribute("data-current-page", "2")
    page.get_by_role("button", name="Next").click()
    expect(reader).to_have_attribute("data-current-page", "3")
    page.get_by_role("button", name="Settings").click()
    page.get_by_label("Double page").check()
    page.get_by_role("button", name="Done").click()
    expect(reader).to_have_attribute("data-mode", "double")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#page-current")).to_have_text(re.compile(r"^\d+\u2013\d+$"))
    page.keyboard.press("o")
    overview = page.get_by_role("dialog", name="Pages")
    expect(overview).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('#overview-grid li[data-page=\"2\"] img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    overview.get_by_role("button", name="Page 2", exact=True).click()
    expect(overview).to_be_hidden()
    expect(page.locator("#page-current")).to_have_text("2\u20133")
    expect(reader).to_have_attribute("data-saved-page", "3")
    page.get_by_role("button", name="Settings").click()
    page.get_by_label("Vertical (webtoon)").check()
    page.get_by_role("button", name="Done").click()
    expect(page.locator(".webtoon-page")).to_have_count(entry["pages"])
    settle(page)
    watched.clean("reader")

    # Back in the library, the server-rendered card's progress bar has its width
    # (a data attribute read by library.js, no longer a style attribute).
    visit(page, "/")
    bar = page.locator(f'li.card[data-id="{arcid}"] .cover-progress')
    expect(bar).to_have_count(1)
    assert bar.evaluate("b => b.getBoundingClientRect().width > 0 && b.style.width.endsWith('%')")
    watched.clean("library with progress")

    # Upload.
    fresh = cbz_bytes(["p1.jpg", "p2.jpg"], seed=777)
    path = tmp_path / "Fresh volume.cbz"
    path.write_bytes(fresh)
    visit(page, "/upload")
    page.locator("#files").set_input_files(str(path))
    expect(page.locator('.upload-item[data-state="added"]')).to_have_count(1)
    watched.clean("upload")

    # Edit: metadata, a category, the cover, the delete confirmation (cancelled).
    visit(page, f"/edit?id={arcid}")
    page.get_by_label("Title").fill("Renamed under the policy")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#metadata-status")).to_have_text("Saved.")
    page.get_by_label("Shelf").check()
    expect(page.locator("#categories-status")).to_have_text("Added to Shelf.")
    page.get_by_label("Cover from page").fill("2")
    page.get_by_role("button", name="Use as cover").click()
    expect(page.locator("#cover-status")).to_have_text("The cover is now page 2.")
    page.get_by_role("button", name="Delete this archive…").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert Archive.objects.get(pk=arcid).title == "Renamed under the policy"
    watched.clean("edit")

    # The other pages of a member.
    visit(page, "/batch?filter=language:english$")
    page.get_by_label("Add these tags").fill("checked")
    page.get_by_role("button", name=re.compile(r"^Apply to")).click()
    expect(page.locator("#batch-status")).to_contain_text("archives changed")
    visit(page, "/categories")
    before = page.locator(".category-list form").count()
    form = page.locator("#create-form")
    form.get_by_label("Name").fill("Pinned one")
    form.get_by_role("button", name="Create").click()
    expect(page.locator(".category-list form")).to_have_count(before + 1)
    visit(page, "/jobs")
    visit(page, "/settings")
    page.get_by_role("button", name="Save settings").click()
    expect(page).to_have_url(re.compile(r"/settings$"))
    visit(page, f"/reader?id={lrr_id(fresh)}")
    expect(page.locator("#reader")).to_have_attribute("data-ready", "true")
    watched.clean("member pages")

    # The admin, under the same policy.
    for path in ("/admin/", "/admin/archives/archive/", "/admin/jobs/job/", "/admin/archives/category/"):
        visit(page, path)
        expect(page.locator("#content")).to_be_visible()
    visit(page, "/admin/archives/archive/")
    page.locator("#action-toggle").check()  # actions.js
    expect(page.locator(".action-counter")).to_contain_text("selected")
    visit(page, f"/admin/archives/archive/{arcid}/change/")
    page.locator("input[name=title]").fill("Renamed in the admin")
    page.locator("input[name=_save]").click()
    expect(page).to_have_url(re.compile(r"/admin/archives/archive/$"))
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")
    visit(page, f"/admin/archives/category/{shelf.pk}/change/")
    visit(page, "/admin/auth/user/add/")
    watched.clean("admin")

    # Logged out: the admin's login page and the public pages.
    visit(page, "/")
    page.get_by_role("button", name=re.compile("Log out")).click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    visit(page, "/admin/login/")
    page.locator("#id_username").fill("boss")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    watched.clean("logged out, admin login")

    # The listener does catch what the policy refuses: an inline script and a style attribute.
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.ranInline = true";
            document.body.append(s);
            document.body.setAttribute("style", "outline: 1px solid red");
        }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.ranInline === undefined")
    caught = [json.loads(v.removeprefix("csp-violation ")) for v in watched.violations if v.startswith("csp-")]
    assert {v["directive"] for v in caught} >= {"script-src-elem", "style-src-attr"}, watched.violations
    watched.violations.clear()
