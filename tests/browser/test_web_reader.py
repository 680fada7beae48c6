"""The web pages in a real browser: log in, search, read, upload, edit, escaping.

Each test also writes the screenshots of the page it drives to docs/screenshots/.
"""

from __future__ import annotations

import base64
import re
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import expect

from archives.models import Archive
from archives.models import CategoryItem
from archives.models import ReadingState
from archives.services import archive_update_metadata
from jobs.models import Job
from jobs.services import job_enqueue
from tests.browser.conftest import PHONE
from tests.browser.conftest import screenshot
from tests.samples import cbz_bytes
from tests.samples import lrr_id

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = PHONE["width"]
MARKUP = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def eventually(check, timeout: float = 5.0):
    """Poll `check()` until it returns a truthy value (the server answers asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def settle(page) -> None:
    """Wait until the covers and pages in view have arrived (for screenshots)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => Array.from(document.images).every(i => !i.getAttribute('src') || i.complete)", timeout=10_000
    )


def longest(library: dict[str, dict]) -> dict:
    return max(library.values(), key=lambda e: e["pages"])


def test_log_in_search_and_open_an_archive(session, phone, library):
    call_command("hondana_init", stdout=open("/dev/null", "w"))  # noqa: SIM115  (the first-run admin)
    page = session.page()

    page.goto("/")
    expect(page.locator("#grid > li")).to_have_count(len(library))
    settle(page)
    screenshot(page, "library-desktop")
    phone_page = phone.page()
    phone_page.goto("/")
    settle(phone_page)
    screenshot(phone_page, "library-phone")

    page.goto("/upload")
    expect(page).to_have_url(re.compile(r"/login\?next=/upload$"))
    page.get_by_label("Password").fill(settings.HONDANA_ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/upload$"))
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_be_visible()

    # Search with a suggestion from the tag statistics: namespace, then the tag.
    target = next(e for e in library.values() if e["format"] == "cbz")
    page.goto("/")
    search = page.get_by_role("combobox", name="Search titles and tags")
    search.click()
    search.press_sequentially("artis")
    expect(page.get_by_role("option", name=re.compile(r"^artist:")).first).to_be_visible()
    search.press("ArrowDown")
    search.press("Enter")
    expect(search).to_have_value("artist:")
    search.press_sequentially("cbz")
    expect(page.get_by_role("option", name=re.compile("artist:cbz artist"))).to_be_visible()
    search.press("ArrowDown")
    search.press("Enter")
    expect(search).to_have_value("artist:cbz artist$")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"\?filter=artist%3Acbz\+artist%24$"))
    expect(page.locator(".card-title")).to_have_text([target["title_stem"]])
    expect(page.locator("#result-count")).to_contain_text(f"1\u20131 of 1 matching ({len(library)} in the library)")

    # Back restores the previous search; forward again, then open the archive.
    page.go_back()
    expect(page.locator("#grid > li")).to_have_count(len(library))
    page.go_forward()
    expect(page.locator("#grid > li")).to_have_count(1)
    page.locator(".card-link").first.click()
    expect(page).to_have_url(re.compile(rf"/reader\?id={target['id']}$"))
    expect(page.locator("#reader")).to_have_attribute("data-ready", "true")
    expect(page.get_by_role("heading", level=1)).to_have_text(target["title_stem"])


def test_read_with_keys_clicks_and_settings_and_progress_reaches_the_server(session, phone, library):
    entry = longest(library)
    assert entry["pages"] >= 7, "the corpus should have an archive of 7 pages or more"
    arcid = entry["id"]
    assert ReadingState.objects.get(archive_id=arcid, user=None).isnew
    page = session.page()
    page.goto(f"/reader?id={arcid}")
    reader = page.locator("#reader")
    expect(reader).to_have_attribute("data-ready", "true")
    expect(reader).to_have_attribute("data-current-page", "1")
    assert eventually(lambda: not ReadingState.objects.get(archive_id=arcid, user=None).isnew), "new flag not cleared"
    settle(page)
    screenshot(page, "reader-desktop")

    page.keyboard.press("ArrowRight")
    expect(reader).to_have_attribute("data-current-page", "2")
    page.keyboard.press("Space")
    expect(reader).to_have_attribute("data-current-page", "3")
    stage = page.locator("#stage")
    box = stage.bounding_box()
    stage.click(position={"x": box["width"] * 0.9, "y": box["height"] / 2})
    expect(reader).to_have_attribute("data-current-page", "4")
    stage.click(position={"x": box["width"] * 0.1, "y": box["height"] / 2})
    expect(reader).to_have_attribute("data-current-page", "3")
    page.get_by_role("button", name="Next").click()
    expect(reader).to_have_attribute("data-current-page", "4")
    page.keyboard.press("End")
    expect(reader).to_have_attribute("data-current-page", str(entry["pages"]))
    page.keyboard.press("Home")
    expect(reader).to_have_attribute("data-current-page", "1")
    expect(page.locator("#spread img")).to_have_attribute("alt", "Page 1")

    # Right to left, two pages at a time.
    page.get_by_role("button", name="Settings").click()
    page.get_by_label("Right to left (manga)").check()
    page.get_by_label("Double page").check()
    page.get_by_role("button", name="Done").click()
    expect(reader).to_have_attribute("data-dir", "rtl")
    expect(reader).to_have_attribute("data-mode", "double")
    page.keyboard.press("ArrowLeft")  # in right-to-left reading, left is forward
    expect(page.locator("#page-current")).to_have_text("2\u20133")
    first, second = page.get_by_alt_text("Page 2"), page.get_by_alt_text("Page 3")
    expect(second).to_be_visible()
    assert first.bounding_box()["x"] > second.bounding_box()["x"], "page 2 should be on the right"
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#page-current")).to_have_text("4\u20135")
    stage.click(position={"x": box["width"] * 0.1, "y": box["height"] / 2})  # the left zone is forward too
    expect(page.locator("#page-current")).to_have_text("6\u20137")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#page-current")).to_have_text("4\u20135")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#page-current")).to_have_text("6\u20137")

    # The last page shown reached the server, through the API and in the database.
    expect(reader).to_have_attribute("data-saved-page", "7")
    assert eventually(lambda: ReadingState.objects.get(archive_id=arcid, user=None).progress == 7)
    assert session.context.request.get(f"/api/archives/{arcid}/metadata").json()["progress"] == 7

    # The page-thumbnail overview: thumbnails made by a job, then a jump.
    page.keyboard.press("o")
    overview = page.get_by_role("dialog", name="Pages")
    expect(overview).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('#overview-grid li[data-page=\"2\"] img');"
        " return i && i.complete && i.naturalWidth > 0 && i.src.includes('page=2'); }"
    )
    overview.get_by_role("button", name="Page 3", exact=True).click()
    expect(overview).to_be_hidden()
    expect(page.locator("#page-current")).to_have_text("2\u20133")
    expect(reader).to_have_attribute("data-saved-page", "3")

    # Settings are remembered; reading resumes where the server says.
    page.goto(f"/reader?id={arcid}")
    expect(reader).to_have_attribute("data-ready", "true")
    expect(reader).to_have_attribute("data-dir", "rtl")
    expect(page.locator("#page-current")).to_have_text("2\u20133")

    # On a phone: single page, and a swipe to the left turns the page.
    phone_page = phone.page()
    phone_page.goto(f"/reader?id={arcid}&p=1")
    phone_reader = phone_page.locator("#reader")
    expect(phone_reader).to_have_attribute("data-ready", "true")
    settle(phone_page)
    screenshot(phone_page, "reader-phone")
    swipe(phone_page, "#stage", dx=-150)
    expect(phone_reader).to_have_attribute("data-current-page", "2")


def swipe(page, selector: str, dx: int) -> None:
    page.evaluate(
        """([selector, dx]) => {
            const target = document.querySelector(selector);
            const box = target.getBoundingClientRect();
            const y = box.top + box.height / 2, x = box.left + box.width / 2;
            const touch = (x) => new Touch({identifier: 1, target, clientX: x, clientY: y});
            target.dispatchEvent(new TouchEvent("touchstart", {touches: [touch(x)], changedTouches: [touch(x)], bubbles: true}));
            target.dispatchEvent(new TouchEvent("touchend", {touches: [], changedTouches: [touch(x + dx)], bubbles: true}));
        }""",
        [selector, dx],
    )


def test_upload_two_files_and_one_is_a_duplicate(session, phone, library, editor, tmp_path):
    existing = next(iter(library.values()))
    fresh = cbz_bytes(["p1.jpg", "p2.jpg"], seed=4242)
    fresh_path = tmp_path / "A fresh volume.cbz"
    fresh_path.write_bytes(fresh)
    copy_path = tmp_path / "Renamed copy.cbz"
    copy_path.write_bytes(existing["bytes"])

    session.log_in_as(editor)
    page = session.page()
    page.goto("/upload")
    page.locator("#files").set_input_files([str(fresh_path), str(copy_path)])
    added = page.locator('.upload-item[data-state="added"]')
    duplicate = page.locator('.upload-item[data-state="duplicate"]')
    expect(added).to_have_count(1)
    expect(duplicate).to_have_count(1)
    expect(added.locator(".upload-name")).to_have_text("A fresh volume.cbz")
    expect(added.get_by_role("link", name="Read")).to_have_attribute("href", f"/reader?id={lrr_id(fresh)}")
    expect(duplicate).to_contain_text("already in the library")
    expect(duplicate.get_by_role("link", name="Open the existing archive")).to_have_attribute(
        "href", f"/reader?id={existing['id']}"
    )
    expect(page.locator("#upload-summary")).to_have_text("1 file added, 1 already in the library.")
    assert Archive.objects.filter(pk=lrr_id(fresh)).exists()
    assert Archive.objects.count() == len(library) + 1
    screenshot(page, "upload-desktop")

    # Dropped files on a phone; a file that is not an archive is refused with the server's reason.
    phone.log_in_as(editor)
    phone_page = phone.page()
    phone_page.goto("/upload")
    drop(phone_page, "#dropzone", [("notes.txt", b"just text"), ("Another copy.cbz", existing["bytes"])])
    expect(phone_page.locator(".upload-item")).to_have_count(2)
    refused = phone_page.locator('.upload-item[data-state="refused"]')
    expect(refused).to_contain_text("Unsupported file extension (notes.txt)")
    expect(phone_page.locator('.upload-item[data-state="duplicate"]')).to_have_count(1)
    screenshot(phone_page, "upload-phone")


def drop(page, selector: str, files: list[tuple[str, bytes]]) -> None:
    """Drop files on an element, as dragging them from the desktop does."""
    payload = [[name, base64.b64encode(data).decode()] for name, data in files]
    transfer = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const [name, b64] of files) {
                const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                dt.items.add(new File([bytes], name));
            }
            return dt;
        }""",
        payload,
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def test_edit_tags_categories_cover_and_batch(session, library, editor):
    from archives.categories import category_create

    entry = longest(library)
    arcid = entry["id"]
    shelf = category_create(name="Shelf")
    session.log_in_as(editor)
    page = session.page()
    page.goto(f"/edit?id={arcid}")

    tags = page.get_by_role("combobox", name="Tags")
    tags.fill("artist:someone, genre:comedy, ")
    tags.press_sequentially("langu")
    expect(page.get_by_role("option", name=re.compile("^language:english"))).to_be_visible()
    tags.press("ArrowDown")
    tags.press("ArrowDown")  # past the namespace, onto the tag
    tags.press("Enter")
    expect(tags).to_have_value("artist:someone, genre:comedy, language:english, ")
    page.get_by_label("Summary").fill("A summary with <b>markup</b>.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#metadata-status")).to_have_text("Saved.")
    archive = Archive.objects.get(pk=arcid)
    assert archive.tags == "artist:someone,genre:comedy,language:english"
    assert archive.summary == "A summary with <b>markup</b>."

    page.get_by_label("Shelf").check()
    expect(page.locator("#categories-status")).to_have_text("Added to Shelf.")
    assert CategoryItem.objects.filter(category=shelf, archive_id=arcid).exists()

    page.get_by_label("Cover from page").fill("2")
    page.get_by_role("button", name="Use as cover").click()
    expect(page.locator("#cover-status")).to_have_text("The cover is now page 2.")

    # Batch: add a tag to, and remove one from, every archive of a search.
    page.goto("/batch?filter=language:english$")
    expect(page.get_by_role("heading", name=f"{len(library)} matching archives")).to_be_visible()
    page.get_by_label("Add these tags").fill("shelved")
    page.get_by_label("Remove these tags").fill("series:*")
    page.get_by_role("button", name=f"Apply to {len(library)} archives").click()
    expect(page.locator("#batch-status")).to_have_text(f"{len(library)} archives changed, 0 already right.")
    for archive in Archive.objects.all():
        tags = archive.tags.split(",")
        assert "shelved" in tags and not any(t.startswith("series:") for t in tags), archive.tags

    # Deletion asks first; cancelling keeps the archive.
    page.goto(f"/edit?id={arcid}")
    page.get_by_role("button", name="Delete this archive…").click()
    confirm = page.get_by_role("dialog")
    expect(confirm).to_contain_text("for good")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    assert Archive.objects.filter(pk=arcid).exists()
    page.get_by_role("button", name="Delete this archive…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#grid > li")).to_have_count(len(library) - 1)
    assert not Archive.objects.filter(pk=arcid).exists()


def test_categories_page_and_jobs_page(session, library, editor):
    session.log_in_as(editor)
    page = session.page()
    page.goto("/categories")
    form = page.locator("#create-form")
    form.get_by_label("Name").fill("English ones")
    form.get_by_label("Saved search (optional)").fill("language:english")
    form.get_by_label("Pinned").check()
    form.get_by_role("button", name="Create").click()
    item = page.locator(".category-list form").filter(has=page.get_by_label("Saved search", exact=True))
    expect(item).to_have_count(1)
    expect(item.get_by_label("Name")).to_have_value("English ones")
    item.get_by_label("Name").fill("In English")
    item.get_by_role("button", name="Save").click()
    expect(item.locator(".status")).to_have_text("Saved.")

    # The pinned saved search is the first tab of the library, and filters it.
    page.goto("/")
    tabs = page.get_by_role("navigation", name="Categories").get_by_role("link")
    expect(tabs.nth(1)).to_have_text(re.compile("In English"))
    tabs.nth(1).click()
    expect(tabs.nth(1)).to_have_attribute("aria-current", "page")
    expect(page.locator("#grid > li")).to_have_count(len(library))
    expect(page).to_have_url(re.compile(r"\?category=SET_\d{10}$"))

    # Unpin and delete.
    page.goto("/categories")
    item = page.locator(".category-list form").filter(has=page.get_by_label("Saved search", exact=True))
    item.get_by_label("Pinned").uncheck()
    item.get_by_role("button", name="Save").click()
    expect(item.locator(".status")).to_have_text("Saved.")
    item.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(item).to_have_count(0)

    # A finished job with done/total notes, and one still queued that finishes meanwhile.
    done = job_enqueue("build_stat_hashes", [])
    queued = Job.objects.create(
        task="page_thumbnails",
        celery_id="not-published",
        args=[longest(library)["id"]],
        notes={"1": "processed", "total_pages": "4"},
    )
    page.goto("/jobs")
    row = page.locator(f'tr[data-job="{done.pk}"]')
    expect(row).to_contain_text("Rebuild tag index")
    expect(row.locator('[data-field="state"]')).to_have_text("finished")
    expect(row.locator('[data-field="count"]')).to_have_text(f"{len(library)}/{len(library)}")
    waiting = page.locator(f'tr[data-job="{queued.pk}"]')
    expect(waiting.locator('[data-field="count"]')).to_have_text("1/4")
    Job.objects.filter(pk=queued.pk).update(
        state="finished", notes={**{str(n): "processed" for n in range(1, 5)}, "total_pages": "4"}
    )
    expect(waiting.locator('[data-field="state"]')).to_have_text("finished")  # polled by jobs.js
    expect(waiting.locator('[data-field="count"]')).to_have_text("4/4")

    # A job queued after the page loaded shows up without a reload.
    later = job_enqueue("build_stat_hashes", [])
    fresh = page.locator(f'tr[data-job="{later.pk}"]')
    expect(fresh).to_contain_text("Rebuild tag index", timeout=15_000)
    expect(fresh.locator('[data-field="state"]')).to_have_text("finished")


def test_a_title_with_markup_stays_text(session, library, editor):
    entry = next(iter(library.values()))
    archive_update_metadata(arcid=entry["id"], title=MARKUP, tags=f"artist:{MARKUP}")
    session.log_in_as(editor)
    page = session.page()

    page.goto("/")  # rendered by the server
    expect(page.locator(".card-title").filter(has_text="<script>")).to_have_text(MARKUP)
    search = page.get_by_role("combobox", name="Search titles and tags")
    search.fill("script")
    search.press("Enter")  # rendered by library.js from the API's JSON
    expect(page.locator("#grid > li")).to_have_count(1)
    expect(page.locator(".card-title")).to_have_text(MARKUP)
    search.fill("")
    search.press_sequentially("artist:<scr")
    expect(page.get_by_role("option").first).to_have_text(re.compile(re.escape(f"artist:{MARKUP}".lower())))
    search.press("Escape")

    page.goto(f"/reader?id={entry['id']}")
    expect(page.locator("#reader")).to_have_attribute("data-ready", "true")
    expect(page.get_by_role("heading", level=1)).to_have_text(MARKUP)
    page.goto(f"/edit?id={entry['id']}")
    expect(page.get_by_label("Title")).to_have_value(MARKUP)
    expect(page.locator("#edit-heading")).to_have_text(MARKUP)

    assert page.locator("main script:not([type='application/json']), main img[src='x']").count() == 0
    assert not session.dialogs


def test_the_library_pages_by_offset_and_loads_covers_lazily(session, server_config):
    from tests.library import make_archive

    server_config(archives_per_page=100)
    for i in range(150):
        make_archive(f"Volume {i:03d}", "artist:many")
    covers: list[str] = []
    page = session.page()
    page.on("request", lambda request: covers.append(request.url) if "/thumbnail" in request.url else None)
    page.goto("/")
    expect(page.locator("#grid > li")).to_have_count(100)
    page.wait_for_load_state("networkidle")
    # Only the covers on screen (and a margin) are asked for, not the hundred of the page.
    assert 0 < len(covers) <= 40, len(covers)
    assert page.locator(".cover").first.bounding_box()["height"] > 100  # the box is there before its image

    page.get_by_role("navigation", name="Result pages").get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"\?start=100$"))
    expect(page.locator("#grid > li")).to_have_count(50)
    expect(page.locator(".card-title").first).to_have_text("Volume 100")
    expect(page.locator("#result-count")).to_have_text("101\u2013150 of 150")
    page.go_back()
    expect(page.locator(".card-title").first).to_have_text("Volume 000")


def test_progress_stays_in_the_browser_when_the_server_does_not_track_it(session, library, server_config):
    server_config(localprogress=True)
    entry = longest(library)
    arcid = entry["id"]
    page = session.page()
    page.goto(f"/reader?id={arcid}")
    reader = page.locator("#reader")
    expect(reader).to_have_attribute("data-ready", "true")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(reader).to_have_attribute("data-saved-page", "3")
    assert page.evaluate(f"localStorage.getItem('hondana.progress.{arcid}')") == "3"
    assert ReadingState.objects.get(archive_id=arcid, user=None).progress == 0

    # The library's card shows the browser's progress, as it shows the server's.
    page.goto("/")
    card = page.locator(f'li.card[data-id="{arcid}"]')
    expect(card.locator(".card-meta")).to_contain_text("read 3")
    expect(card.locator(".cover-progress")).to_have_count(1)
    page.locator("#filter").fill(Archive.objects.get(pk=arcid).title)
    page.locator("#filter").press("Enter")
    expect(page.locator(f'li.card[data-id="{arcid}"] .card-meta')).to_contain_text("read 3")  # cards built by JS

    # Reopened, it resumes from the browser's copy; then the vertical mode, to the end.
    page.goto(f"/reader?id={arcid}")
    expect(reader).to_have_attribute("data-current-page", "3")
    page.get_by_role("button", name="Settings").click()
    page.get_by_label("Vertical (webtoon)").check()
    page.get_by_role("button", name="Done").click()
    expect(page.locator(".webtoon-page")).to_have_count(entry["pages"])
    page.keyboard.press("End")
    expect(reader).to_have_attribute("data-current-page", str(entry["pages"]))
    expect(page.get_by_alt_text(f"Page {entry['pages']}")).to_be_visible()
    expect(reader).to_have_attribute("data-saved-page", str(entry["pages"]))
    assert ReadingState.objects.get(archive_id=arcid, user=None).progress == 0


# The contrast of the focus outline of the focused element against the first opaque
# background behind it (WCAG 2.2: a focus indicator needs 3:1 against what is next to it).
FOCUS_CONTRAST = """() => {
  const el = document.activeElement;
  const rgb = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return m.length > 3 ? m : [...m, 1]; };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = [255, 255, 255, 1];
  for (let n = el.parentElement; n; n = n.parentElement) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c[3] > 0.5) { bg = c; break; }
  }
  const style = getComputedStyle(el);
  if (style.outlineStyle === "none" || parseFloat(style.outlineWidth) < 2) return 0;
  const a = lum(rgb(style.outlineColor)), b = lum(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_reader_dialogs_show_the_focus_and_leave_space_to_turn_pages(browser, live_server, library, scheme):
    from tests.browser.conftest import Session

    session = Session(browser, live_server.url, color_scheme=scheme)
    try:
        entry = longest(library)
        page = session.page()
        page.goto(f"/reader?id={entry['id']}&p=1")
        reader = page.locator("#reader")
        expect(reader).to_have_attribute("data-ready", "true")

        # Opened and closed with the mouse: the Settings button gets the focus back,
        # and Space still turns the page rather than opening the settings again.
        page.get_by_role("button", name="Settings").click()
        page.get_by_role("button", name="Done").click()
        expect(page.get_by_role("dialog")).to_have_count(0)
        page.keyboard.press("Space")
        expect(reader).to_have_attribute("data-current-page", "2")
        expect(page.get_by_role("dialog")).to_have_count(0)
        page.get_by_role("button", name="Next").click()
        page.keyboard.press("Space")
        expect(reader).to_have_attribute("data-current-page", "4")

        # From the keyboard, Space on a focused button still presses it.
        page.get_by_role("button", name="Pages").focus()
        page.keyboard.press("Tab")
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Space")
        overview = page.get_by_role("dialog", name="Pages")
        expect(overview).to_be_visible()
        expect(reader).to_have_attribute("data-current-page", "4")

        # Inside the dialogs (light or dark surfaces) the focus ring stands out.
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUS_CONTRAST) >= 3, page.evaluate("document.activeElement.outerHTML")
        page.keyboard.press("Escape")
        page.keyboard.press("s")
        settings_dialog = page.get_by_role("dialog", name="Reading settings")
        expect(settings_dialog).to_be_visible()
        checked = 0
        for _ in range(6):  # the radio groups, Done, and around (Tab leaves the page once)
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.closest('dialog') !== null"):
                checked += 1
                assert page.evaluate(FOCUS_CONTRAST) >= 3, page.evaluate("document.activeElement.outerHTML")
        assert checked >= 4
        # On the reader's dark bars too.
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Settings").focus()
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUS_CONTRAST) >= 3
        assert not session.errors, session.errors
    finally:
        session.close()


def test_every_page_fits_a_360_px_phone(phone, library, editor):
    """No sideways scrolling, and what matters on each page stays on screen."""
    entry = longest(library)
    Job.objects.create(
        task="page_thumbnails",
        celery_id="not-published",
        args=[entry["id"]],
        notes={"1": "processed", "2": "processed", "total_pages": str(entry["pages"])},
    )
    phone.log_in_as(editor)
    page = phone.page()
    width = PHONE_WIDTH
    for path in ("/", "/upload", f"/edit?id={entry['id']}", "/batch", "/categories", "/jobs", "/settings"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path

    # The batch editor's search field takes the width, its label clear of the others.
    page.goto("/batch?filter=language:english")
    search = page.get_by_label("Search")
    assert search.bounding_box()["width"] >= 250
    label, category = (
        page.locator("label[for=batch-filter]").bounding_box(),
        page.get_by_text("Category").bounding_box(),
    )
    assert label["y"] + label["height"] <= category["y"] or label["x"] + label["width"] <= category["x"]

    # Jobs: every progress bar is in view, nothing scrolls sideways.
    page.goto("/jobs")
    bars = page.locator('progress[data-field="bar"]')
    expect(bars.first).to_be_visible()
    for i in range(bars.count()):
        box = bars.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["width"] >= 150, box
    assert page.evaluate("[...document.querySelectorAll('.table-scroll')].every(t => t.scrollWidth <= t.clientWidth)")
    expect(page.locator('tr[data-job] [data-field="count"]').first).to_have_text(f"2/{entry['pages']}")

    # The reader's page slider is long enough to aim at a page, the bars still fit.
    page.goto(f"/reader?id={entry['id']}")
    expect(page.locator("#reader")).to_have_attribute("data-ready", "true")
    assert page.get_by_label("Go to page").bounding_box()["width"] >= 300
    # The title is read whole (two short lines), not cut after a few letters.
    title = page.get_by_role("heading", level=1)
    assert len(entry["title_stem"]) >= 30
    assert title.evaluate("h => h.scrollHeight <= h.clientHeight + 1 && h.scrollWidth <= h.clientWidth")
    assert page.locator(".reader-top").bounding_box()["height"] <= 56
    for name in ("Previous", "Next"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_tankoubon_page_shows_its_covers(session, library):
    from archives.tankoubons import tank_add_archive
    from archives.tankoubons import tank_create

    tank = tank_create(name="A <i>series</i>")
    members = [e["id"] for e in library.values()][:3]
    for arcid in members:
        tank_add_archive(tank_id=tank.pk, arcid=arcid)
    page = session.page()
    page.goto("/")
    page.locator(".card-link").filter(has_text="A <i>series</i>").click()
    expect(page).to_have_url(re.compile(rf"/reader\?id={tank.pk}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("A <i>series</i>")
    covers = page.locator(".cover-img")
    expect(covers).to_have_count(3)
    settle(page)
    for i in range(3):
        assert covers.nth(i).evaluate("i => i.naturalWidth > 0 && getComputedStyle(i).opacity === '1'"), i
    page.get_by_role("link", name=re.compile("Start reading")).click()
    expect(page).to_have_url(re.compile(rf"/reader\?id={members[0]}$"))


def test_back_from_the_reader_the_library_shows_what_was_read(browser, live_server, library):
    from tests.browser.conftest import CHROMIUM
    from tests.browser.conftest import CHROMIUM_ARGS
    from tests.browser.conftest import Session

    # Playwright turns the back/forward cache off; every user's Chrome has it on.
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, ignore_default_args=["--disable-back-forward-cache"]
    )
    session = Session(chromium, live_server.url)
    try:
        entry = longest(library)
        page = session.page()
        page.goto("/")
        page.evaluate("window.keptByTheBrowser = true")
        card = page.locator(".card").filter(has_text=entry["title_stem"])
        expect(card.locator(".badge-new")).to_have_count(1)
        card.locator(".card-link").click()
        reader = page.locator("#reader")
        expect(reader).to_have_attribute("data-ready", "true")
        page.keyboard.press("ArrowRight")
        expect(reader).to_have_attribute("data-saved-page", "2")
        page.go_back(wait_until="commit")
        expect(page).to_have_url(re.compile(r"/$"))
        assert page.evaluate("window.keptByTheBrowser === true"), "the page was not restored from the cache"
        expect(card.locator(".badge-new")).to_have_count(0)
        expect(card.locator(".card-meta")).to_contain_text("read 2")
        expect(card.locator(".cover-img")).to_have_class(re.compile("is-loaded"))
        assert not session.errors, session.errors
    finally:
        session.close()
        chromium.close()
