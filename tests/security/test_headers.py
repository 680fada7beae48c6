"""Cookie flags and security headers: Secure per request over TLS, the pages' CSP.

The browser test (test_csp_browser.py) checks that the pages work under the policy;
these check what the server sends, and that every page's markup leaves the policy
nothing to refuse: no inline script, event handler attribute or style attribute.
"""

from __future__ import annotations

import re
import runpy
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from archives.categories import category_create
from archives.models import Archive
from archives.tankoubons import tank_create
from archives.tankoubons import tank_update
from tests.reader.conftest import configure
from tests.samples import cbz_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-12345678"
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SAME_ON_EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
TLS_PROXY = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser(username="boss", password=PASSWORD)


def log_in(client: Client, **extra):
    """GET the form (sets the CSRF cookie), then POST it (sets the session cookie)."""
    form = client.get("/login", **extra)
    assert form.status_code == 200
    response = client.post("/login", {"username": "boss", "password": PASSWORD}, **extra)
    assert response.status_code == 302, response.content
    return form, response


def flags(response, name: str) -> dict:
    morsel = response.cookies[name]
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"]}


# --- cookies ----------------------------------------------------------------------


def test_cookies_are_secure_over_https_through_the_configured_proxy(client, boss, settings):
    settings.SECURE_PROXY_SSL_HEADER = TLS_PROXY
    form, login = log_in(client, HTTP_X_FORWARDED_PROTO="https")
    assert flags(form, settings.CSRF_COOKIE_NAME) == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert flags(login, settings.SESSION_COOKIE_NAME) == {"secure": True, "httponly": True, "samesite": "Lax"}
    # Django rotates the CSRF token at login: the new cookie is Secure too.
    assert flags(login, settings.CSRF_COOKIE_NAME)["secure"]
    # Logging out deletes the session cookie, with a Secure deletion.
    logout = client.post("/logout", HTTP_X_FORWARDED_PROTO="https")
    assert logout.cookies[settings.SESSION_COOKIE_NAME].value == ""
    assert flags(logout, settings.SESSION_COOKIE_NAME)["secure"]


def test_cookies_are_not_secure_over_plain_http_behind_the_proxy(client, boss, settings):
    """The same server reached over plain HTTP on the LAN: a Secure cookie would be dropped."""
    settings.SECURE_PROXY_SSL_HEADER = TLS_PROXY
    form, login = log_in(client, HTTP_X_FORWARDED_PROTO="http")
    assert flags(form, settings.CSRF_COOKIE_NAME) == {"secure": False, "httponly": True, "samesite": "Lax"}
    assert flags(login, settings.SESSION_COOKIE_NAME) == {"secure": False, "httponly": True, "samesite": "Lax"}
    assert client.get("/upload").status_code == 200  # the login took


def test_x_forwarded_proto_is_ignored_without_the_proxy_setting(client, boss, settings):
    settings.SECURE_PROXY_SSL_HEADER = None
    form, login = log_in(client, HTTP_X_FORWARDED_PROTO="https")
    assert not flags(form, settings.CSRF_COOKIE_NAME)["secure"]
    assert not flags(login, settings.SESSION_COOKIE_NAME)["secure"]


def test_cookies_are_secure_over_https_without_a_proxy(client, boss, settings):
    settings.SECURE_PROXY_SSL_HEADER = None
    form, login = log_in(client, secure=True)
    assert flags(form, settings.CSRF_COOKIE_NAME)["secure"]
    assert flags(login, settings.SESSION_COOKIE_NAME)["secure"]


def test_https_only_makes_the_cookies_secure_even_over_plain_http(client, boss, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True  # what HONDANA_HTTPS_ONLY=1 sets
    form, login = log_in(client)
    assert flags(form, settings.CSRF_COOKIE_NAME)["secure"]
    assert flags(login, settings.SESSION_COOKIE_NAME)["secure"]


def test_https_only_and_hsts_come_from_the_environment(monkeypatch):
    def load(**env: str) -> dict:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(ROOT / "config" / "settings.py"))

    monkeypatch.delenv("HONDANA_HTTPS_ONLY", raising=False)
    monkeypatch.delenv("HONDANA_HSTS_SECONDS", raising=False)
    default = load()
    assert (default["SESSION_COOKIE_SECURE"], default["CSRF_COOKIE_SECURE"], default["SECURE_HSTS_SECONDS"]) == (
        False,
        False,
        0,
    )
    strict = load(HONDANA_HTTPS_ONLY="1", HONDANA_HSTS_SECONDS="31536000")
    assert (strict["SESSION_COOKIE_SECURE"], strict["CSRF_COOKIE_SECURE"], strict["SECURE_HSTS_SECONDS"]) == (
        True,
        True,
        31536000,
    )
    with pytest.raises(ImproperlyConfigured, match="HONDANA_HTTPS_ONLY"):
        load(HONDANA_HTTPS_ONLY="maybe")


def test_hsts_only_on_https_replies(client, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = TLS_PROXY
    assert client.get("/", HTTP_X_FORWARDED_PROTO="https")["Strict-Transport-Security"] == "max-age=3600"
    assert "Strict-Transport-Security" not in client.get("/")


# --- headers of the pages ---------------------------------------------------------


class InlineCode(HTMLParser):
    """Collects what a `script-src 'self'; style-src 'self'` policy refuses in markup."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append(f"inline <script {names}>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


@pytest.fixture
def shelf(client, auth_header) -> dict[str, str]:
    """An archive read half-way (a progress bar on its card), a category, a tankoubon."""
    response = upload(client, "a.cbz", cbz_bytes(["1.jpg", "2.jpg", "3.jpg", "4.jpg"]), headers=auth_header)
    arcid = response.json()["id"]
    Archive.objects.filter(pk=arcid).update(pagecount=4)
    progress = client.put(f"/api/archives/{arcid}/progress/2", **auth_header)
    assert progress.status_code == 200, progress.content
    category = category_create(name="Shelf")
    volume = upload(client, "b.cbz", cbz_bytes(seed=1), headers=auth_header).json()["id"]
    tank = tank_create(name="Series")  # its volumes leave the library's grid
    tank_update(tank_id=tank.pk, archives=[volume], metadata=None)
    return {"arcid": arcid, "category": category.pk, "tank": tank.pk}


def test_pages_send_the_policy_and_carry_no_inline_code(client, boss, shelf):
    arcid = shelf["arcid"]
    anonymous = ["/", f"/reader?id={arcid}", f"/reader?id={shelf['tank']}", "/reader?id=" + "0" * 40, "/login"]
    anonymous += ["/admin/login/"]
    member = ["/", "/upload", f"/edit?id={arcid}", "/batch?filter=a", "/categories", "/jobs", "/settings"]
    member += ["/admin/", "/admin/archives/archive/", f"/admin/archives/archive/{arcid}/change/"]
    member += ["/admin/archives/category/", f"/admin/archives/category/{shelf['category']}/change/"]
    signed_in = Client()
    signed_in.force_login(boss)
    for who, paths in ((client, anonymous), (signed_in, member)):
        for path in paths:
            response = who.get(path)
            assert response.status_code in (200, 404), (path, response.status_code)
            assert response["Content-Type"].startswith("text/html"), path
            assert response["Content-Security-Policy"] == PAGE_CSP, path
            assert "Content-Security-Policy-Report-Only" not in response, path
            for name, value in SAME_ON_EVERY_RESPONSE.items():
                assert response[name] == value, (path, name)
            assert inline_code(response.content.decode()) == [], path
    # The reader's data is a JSON block, not a script, and the card's bar a data attribute.
    reader = client.get(f"/reader?id={arcid}").content.decode()
    assert '<script id="reader-data" type="application/json">' in reader
    library = signed_in.get("/").content.decode()
    assert 'class="cover-progress" data-percent="50"' in library


def test_the_csrf_failure_page_styles_itself_with_a_nonce(boss):
    """Django's own 403 page has an inline <style>: the policy lets it in by nonce."""
    response = Client(enforce_csrf_checks=True).post("/login", {"username": "boss", "password": PASSWORD})
    assert response.status_code == 403
    nonce = re.search(r"style-src 'self' 'nonce-([\w-]+)'", response["Content-Security-Policy"])
    assert nonce and f'<style nonce="{nonce[1]}">' in response.content.decode()


def test_the_checker_finds_inline_code():
    html = (
        '<script>alert(1)</script><script src="/x.js"></script><script type="application/json">{}</script>'
        '<img src="x" onerror="alert(2)"><span style="width: 5%"></span><a href="javascript:void(0)">x</a>'
        "<style>p{}</style>"
    )
    found = inline_code(html)
    assert len(found) == 5, found


# --- the API ----------------------------------------------------------------------


def test_api_replies_carry_no_page_policy_and_keep_their_types(client, auth_header, shelf, settings):
    """JSON, images, XML and downloads are not pages: no CSP (a PDF opened in a tab,
    Chrome's JSON viewer), and nothing else of theirs changes."""
    settings.SECURE_PROXY_SSL_HEADER = TLS_PROXY
    arcid = shelf["arcid"]
    configure(enablecors=True)
    expected = {
        "/api/info": "application/json",
        f"/api/archives/{arcid}/metadata": "application/json",
        f"/api/archives/{arcid}/files": "application/json",
        f"/api/archives/{arcid}/thumbnail": "image/",
        f"/api/archives/{arcid}/page?path=1.jpg": "image/jpeg",
        f"/api/archives/{arcid}/download": "application/",
        "/api/opds": "application/",
        "/search?start=0&length=10": "application/json",
        "/api/nowhere": "application/json",  # Django's HTML 404, turned into JSON
    }
    for path, content_type in expected.items():
        response = client.get(path, HTTP_X_FORWARDED_PROTO="https", **auth_header)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert response["Content-Type"].startswith(content_type), (path, response["Content-Type"])
        assert "Content-Security-Policy" not in response, path
        assert response["Access-Control-Allow-Origin"] == "*", path
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert not response.cookies, (path, response.cookies)  # API replies set no cookie
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    # A CORS preflight as before.
    preflight = client.options("/api/info", HTTP_ORIGIN="http://elsewhere.example")
    assert preflight.status_code == 200 and "Content-Security-Policy" not in preflight


def test_static_files_carry_no_page_policy(settings):
    settings.WHITENOISE_USE_FINDERS = True  # serve from static/, uncollected (a new Client reads it)
    settings.WHITENOISE_AUTOREFRESH = True
    response = Client().get("/static/reader/js/common.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "Content-Security-Policy" not in response
    assert response["X-Content-Type-Options"] == "nosniff"


def test_settings_do_not_relax_the_policy():
    policy = settings.SECURE_CSP
    for directive in ("default-src", "script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[directive] and "'unsafe-eval'" not in policy[directive]
    assert policy["frame-ancestors"] == ["'none'"] and settings.X_FRAME_OPTIONS == "DENY"
