"""Every route that can change something refuses a caller with neither the API key nor
a logged-in session, unless LANraragi leaves it open (PUBLIC below).

The URL configuration is walked (the API, the web pages, the admin) and every route
gets every method that could write (POST, PUT, PATCH, DELETE), with its path filled
from real objects. Refused means 401, 403, 405, a redirect to a login page, or (for a
method the view does not take) the API's 404 for an unknown route; anything else is
accepted, and an accepted write off the PUBLIC list fails the test. Refused requests
must also leave the database and the stored files as they were.

The methods each view allows (read from its class, or from require_http_methods on a
function view; a function view without it takes every method) are kept in
write_routes.txt: a route or method that is not there fails the test until someone
has looked at it and added it, so no route is added unprotected without a reviewer
seeing it in the diff.

CSRF is not enforced here (the test client's default): it guards sessions, not
anonymous callers, who can fetch a token, so it must not be what refuses them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.storage import storages
from django.test import Client
from django.urls import URLPattern
from django.urls import URLResolver
from django.urls import get_resolver
from django.urls import resolve
from django.urls import reverse

from archives.config import config_changed
from archives.models import Archive
from archives.models import PluginSetting
from archives.models import ServerConfig
from jobs.models import Job
from tests.samples import cbz_bytes
from tests.samples import upload

WRITE_METHODS = ("DELETE", "PATCH", "POST", "PUT")
SNAPSHOT = Path(__file__).with_name("write_routes.txt")
REFUSED = {401, 403, 405}
# The API answers a method its view does not take as an unknown route (behavior.md §1).
NOT_ROUTED = {404, 405}

ARCHIVE_PROGRESS = r"api/archives/(?P<id>[^/]+)/progress/(?P<page>[^/.]+)$"
TANK_PROGRESS = r"api/tankoubons/(?P<id>[^/]+)/progress/(?P<page>[^/.]+)$"


def _always(config: ServerConfig) -> bool:
    return True


def _unless_nofun(config: ServerConfig) -> bool:
    return not config.nofunmode


def _progress_open(config: ServerConfig) -> bool:
    return not config.nofunmode and not config.authprogress


# What anyone may call, and under which settings. Everything else needs the API key
# or a logged-in session. With password protection off (`enablepass`=0) every route
# is open by design (behavior.md §2 (d)); that is not what this test is about.
PUBLIC: dict[tuple[str, str], Callable[[ServerConfig], bool]] = {
    # Reading progress: readers and apps save their page without a key (spec
    # `security: []`, behavior.md §8). `authprogress` closes it, No-Fun closes all /api/.
    (ARCHIVE_PROGRESS, "PUT"): _progress_open,
    (TANK_PROGRESS, "PUT"): _progress_open,
    # The web reader and the apps clear the new flag when an archive is opened (spec
    # `security: []`, behavior.md §2, §8). PUT, marking as new, needs the key.
    ("api/archives/<str:id>/isnew", "DELETE"): _unless_nofun,
    # Page thumbnails for the reader's page overview, queued on demand (spec
    # `security: []`, behavior.md §7).
    ("api/archives/<str:id>/files/thumbnails", "POST"): _unless_nofun,
    # Logging in is how a session is made (behavior.md §2). Django's LoginView takes
    # PUT as POST.
    ("login", "POST"): _always,
    ("login", "PUT"): _always,
    ("admin/login/", "POST"): _always,
    ("admin/login/", "PUT"): _always,
    # Logging out ends the caller's own session; without one it changes nothing.
    ("logout", "POST"): _always,
}


@dataclass(frozen=True)
class Route:
    route: str  # as ResolverMatch.route spells it
    pattern: URLPattern
    methods: frozenset[str]  # the write methods its view allows

    @property
    def params(self) -> list[str]:
        return _param_names(self.route)


def _walk(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        route = URLResolver._join_route(prefix, str(entry.pattern))
        if isinstance(entry, URLResolver):
            yield from _walk(entry, route)
        else:
            yield route, entry


def _allowed_methods(callback: Any) -> frozenset[str]:
    """The write methods a view answers to, as far as its code says."""
    cls = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if cls is not None:  # Django class-based views and DRF APIViews
        return frozenset(m.upper() for m in cls.http_method_names if hasattr(cls, m)) & set(WRITE_METHODS)
    func = callback
    while func is not None:
        code = getattr(func, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:  # require_http_methods
            cell = func.__closure__[code.co_freevars.index("request_method_list")]
            return frozenset(m.upper() for m in cell.cell_contents) & set(WRITE_METHODS)
        func = getattr(func, "__wrapped__", None)
    return frozenset(WRITE_METHODS)  # a plain function view takes any method


def all_routes() -> list[Route]:
    return [Route(route, pattern, _allowed_methods(pattern.callback)) for route, pattern in _walk(get_resolver())]


def _param_names(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", re.sub(r"\(\?P<(\w+)>", r"<\1>", route))


def _fill(route: str, values: dict[str, str]) -> str:
    """The route with its parameters replaced; regex groups may nest parentheses."""
    out, i = [], 0
    while i < len(route):
        if route.startswith("(?P<", i):
            name = route[i + 4 : route.index(">", i)]
            depth, j = 0, i
            while True:
                if route[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(route[j], 0)
                if depth == 0:
                    break
                j += 1
            out.append(values[name])
            i = j + 1
        elif m := re.match(r"<(?:\w+:)?(\w+)>", route[i:]):
            out.append(values[m.group(1)])
            i += m.end()
        else:
            if route[i] not in "^$":
                out.append(route[i])
            i += 1
    return "/" + "".join(out)


@dataclass
class Things:
    """Real objects to fill path parameters with."""

    archive: str
    category: str
    tank: str
    stamp: str
    job: str
    user: str


def _value(route: str, name: str, things: Things) -> str | None:
    if name == "id":
        for prefix, value in (
            ("api/categories", things.category),
            ("api/tankoubons", things.tank),
            ("api/stamps", things.stamp),
            ("api/archives", things.archive),
            ("api/opds", things.archive),
            ("admin/auth/user", things.user),
        ):
            if route.startswith(prefix):
                return value
        return None
    if name == "object_id":
        if m := re.match(r"admin/(\w+)/(\w+)/", route):
            model = apps.get_model(m.group(1), m.group(2))
            return str(model.objects.order_by("pk").values_list("pk", flat=True)[0])
        if route.startswith("admin/r/"):
            return things.archive
        return None
    return {
        "archive": things.archive,
        "page": "1",
        "index": "1",
        "jobid": things.job,
        "jobname": "regen_all_thumbnails",
        "type": "metadata",
        "content_type_id": str(ContentType.objects.get_for_model(Archive).pk),
        "app_label": "archives",
        "url": "archives/nothing/here/",
    }.get(name)


def url_for(entry: Route, things: Things) -> str:
    values = {}
    for name in entry.params:
        value = _value(entry.route, name, things)
        if value is None:
            pytest.fail(
                f"No value for <{name}> in route {entry.route!r}: add one to _value() in {Path(__file__).name} "
                "(a real object of the kind the route takes)."
            )
        values[name] = value
    url = _fill(entry.route, values)
    assert resolve(url).route == entry.route, f"{url} does not reach {entry.route!r}"
    # The pages that show one item take it from the query (Mihon stores /reader?id=).
    if entry.route in ("reader", "edit"):
        url += f"?id={things.archive}"
    return url


def _snapshot_lines(routes: list[Route]) -> set[str]:
    """One line per route that takes a write method: `METHOD,METHOD route`."""
    return {f"{','.join(sorted(r.methods))} {r.route}" for r in routes if r.methods}


def _read_snapshot() -> set[str]:
    lines = SNAPSHOT.read_text().splitlines()
    return {line for line in lines if line.strip() and not line.startswith("#")}


def test_every_write_route_is_known():
    routes = all_routes()
    found, known = _snapshot_lines(routes), _read_snapshot()
    new, gone = sorted(found - known), sorted(known - found)
    message = []
    if new:
        message.append(
            "Routes or methods that can change something and that nobody has classified yet. Check that each "
            "refuses callers without the API key or a login (or, if LANraragi leaves it open, add it to PUBLIC "
            f"with the reason), then add these lines to {SNAPSHOT.name}:\n  " + "\n  ".join(new)
        )
    if gone:
        message.append(f"Lines of {SNAPSHOT.name} that match no route or method any more:\n  " + "\n  ".join(gone))
    assert not message, "\n\n".join(message)
    # Every PUBLIC entry names a route and method that exists.
    assert set(PUBLIC) <= {(r.route, m) for r in routes for m in r.methods}, set(PUBLIC) - {
        (r.route, m) for r in routes for m in r.methods
    }


# --- Walking with requests ---------------------------------------------------------


@pytest.fixture
def things(client, auth_header) -> Things:
    arcid = upload(client, "a.cbz", cbz_bytes(), headers=auth_header).json()["id"]
    client.put(f"/api/archives/{arcid}/metadata?tags=artist:someone", **auth_header)  # a Tag row
    category = client.put("/api/categories?name=Favourites", **auth_header).json()["category_id"]
    tank = client.put("/api/tankoubons?name=Series", **auth_header).json()["tankoubon_id"]
    stamp = client.put(f"/api/archives/{arcid}/stamps/1?content=x", **auth_header).json()["stamp_id"]
    job = Job.objects.create(task="regen_all_thumbnails", celery_id="walk-job")
    ServerConfig.objects.get_or_create(pk=1)
    PluginSetting.objects.get_or_create(namespace="walk")
    Group.objects.create(name="readers")
    user = User.objects.create_user("editor", password="x", is_staff=True)
    return Things(archive=arcid, category=category, tank=tank, stamp=str(stamp), job=str(job.pk), user=str(user.pk))


def _fingerprint() -> str:
    """Every row of every table, and every stored file's name and size."""
    digest = hashlib.sha256()
    for model in apps.get_models(include_auto_created=True):
        rows = model._base_manager.order_by("pk").values_list()
        digest.update(repr((model._meta.db_table, list(rows))).encode())
    for name in ("archives", "thumbnails", "pagecache", "backups"):
        root = Path(storages[name].location)
        files = sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*") if p.is_file())
        digest.update(repr((name, files)).encode())
    return digest.hexdigest()


LOGIN_PATHS = {settings.LOGIN_URL, reverse("admin:login")}
WRITE_QUERY = "title=walked&tags=walked&name=walked&summary=walked&content=walked&search=walked"


def _outcome(client: Client, method: str, url: str, *, allowed: bool) -> tuple[bool, str]:
    """(refused, what happened). Redirects are followed (with GET) to where they lead."""
    # With what an edit would send, so that a write let through really changes something.
    query = ("&" if "?" in url else "?") + WRITE_QUERY
    response = client.generic(method, url + query, b"", content_type="application/x-www-form-urlencoded")
    trail = f"{method} {url} -> {response.status_code}"
    if not allowed and response.status_code in NOT_ROUTED:
        return True, trail
    for _ in range(4):
        if response.status_code in REFUSED:
            return True, trail
        if response.status_code not in (301, 302, 303, 307, 308):
            break
        location = urlsplit(response["Location"])
        trail += f" -> {response['Location']}"
        if location.path in LOGIN_PATHS:
            return True, trail
        if location.netloc:
            break
        response = client.get(response["Location"])
        trail += f" -> {response.status_code}"
    return False, trail


PASSES = {
    # No-Fun off, the default: the PUBLIC routes are open, nothing else.
    "default": ({}, False),
    # A browser that has a session (here one with something in it) but never logged in.
    "session-without-login": ({}, True),
    "nofun": ({"nofunmode": True}, False),
    "authprogress": ({"authprogress": True}, False),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(PASSES))
def test_anonymous_writes_are_refused(client, things, name):
    fields, with_session = PASSES[name]
    ServerConfig.objects.filter(pk=1).update(**fields)
    config_changed()
    config = ServerConfig.objects.get(pk=1)
    anonymous = Client()
    if with_session:
        session = SessionStore()
        session["seen"] = True  # a real, stored session: only no user in it
        session.create()
        anonymous.cookies[settings.SESSION_COOKIE_NAME] = session.session_key

    # Every URL is built before the first request: a write that got through must not
    # hide behind a missing object.
    targets = [(entry, url_for(entry, things)) for entry in all_routes()]
    accepted, changed, stale, walked = [], [], [], 0
    for entry, url in targets:
        # The refused methods first, all checked against one fingerprint; then the open ones.
        closed = [m for m in WRITE_METHODS if not ((entry.route, m) in PUBLIC and PUBLIC[entry.route, m](config))]
        before = _fingerprint()
        for method in closed:
            walked += 1
            refused, trail = _outcome(anonymous, method, url, allowed=method in entry.methods)
            if not refused:
                accepted.append(trail)
        if closed and _fingerprint() != before:
            changed.append(f"{' '.join(closed)} {url}")
        for method in sorted(set(WRITE_METHODS) - set(closed)):
            walked += 1
            refused, trail = _outcome(anonymous, method, url, allowed=True)
            if refused and name == "default":
                stale.append(trail)
    if with_session:
        assert SessionStore(session_key=session.session_key).get("_auth_user_id") is None

    assert not accepted, f"Writes accepted without the API key or a login ({name}):\n  " + "\n  ".join(accepted)
    assert not changed, f"Refused writes that changed something anyway ({name}):\n  " + "\n  ".join(changed)
    assert not stale, "PUBLIC entries that are refused anyway (remove them from PUBLIC):\n  " + "\n  ".join(stale)
    print(f"{name}: {walked} requests to {len(targets)} routes")  # shown with -rP
    assert walked > 400
