"""Schemathesis fuzzes every operation of /api/openapi.json against a live server.

The library is seeded with real archives, categories, a tankoubon, a stamp and jobs, and
parameters that name objects (`id`, `archive`, `jobid`, `category`, ...) are sometimes
swapped for the seeded ones, so that requests reach real rows as well as missing ones.
Valid requests (schemathesis' positive mode) must get replies the document describes:
a documented status code and content type, and a body matching its schema. Invalid ones
(negative mode) must only never get a 5xx. Runs are deterministic (a fixed seed, Hypothesis
derandomized), except that a machine slow enough to pass BUDGET sends fewer requests.

Each operation runs on its own, in document order, with destructive ones moved to the
end (DESTRUCTIVE); every failure is collected and reported at the end. Schemathesis'
pytest loader (`schemathesis.pytest.from_fixture`) is not used: it sets a private
attribute pytest 9.2 no longer has (`Node._nodeid`).
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.checks import status_code_conformance

from archives import downloads
from archives.netguard import FetchError
from tests.conftest import bearer
from tests.samples import cbz_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db(transaction=True)

SEED = 20260724
MAX_EXAMPLES = 15
# Past this many seconds (a loaded machine), the remaining operations get FEW_EXAMPLES
# each, so that every operation, the destructive ones at the end included, still runs.
BUDGET = 150
FEW_EXAMPLES = 3

# Paths whose operations run after every other one, in this order, so that the rest of the
# run still finds the seeded objects (their reads move along with them). None is excluded.
DESTRUCTIVE = (
    "/stamps/{id}",  # DELETE drops the seeded stamp
    "/categories/{id}/{archive}",  # DELETE takes the archive out of the seeded category
    "/tankoubons/{id}/{archive}",  # DELETE takes an archive out of the seeded tank
    "/categories/{id}",  # DELETE drops the seeded categories
    "/tankoubons/{id}",  # DELETE drops the seeded tank
    "/archives/{id}",  # DELETE removes seeded archives, files and all
    "/database/restore",  # POST rewrites metadata from the seeded backup
    "/database/drop",  # POST empties the database: last of all
)

# Valid requests to these may never succeed here: every other operation must get at least
# one 2xx (none would mean the seeded objects are no longer reached).
MAY_NEVER_SUCCEED = {
    # A random file is never an archive with an accepted extension (415, 417 or 422).
    "PUT /archives/upload",
}

POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
NEGATIVE_CHECKS = [not_a_server_error]


@dataclass
class Library:
    """What the fixture seeded, by the kind of object a parameter names."""

    archives: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    tanks: list[str] = field(default_factory=list)
    stamps: list[str] = field(default_factory=list)
    jobs: list[int] = field(default_factory=list)
    backup_jobs: list[int] = field(default_factory=list)
    backup: bytes = b""

    def for_path(self, path: str, name: str) -> list[Any]:
        """Real values for the path parameter `name` of `path`."""
        if name == "archive":
            return self.archives
        if name in ("page", "index"):
            return ["1", "2", "3"]
        if name == "jobid":
            return [str(job) for job in (self.backup_jobs if path.startswith("/database/") else self.jobs)]
        if name != "id":
            return []
        kind = path.split("/")[1]
        return {
            "archives": self.archives,
            "opds": self.archives,
            "categories": self.categories,
            "tankoubons": self.tanks,
            "stamps": self.stamps,
        }.get(kind, [])

    def for_query(self, name: str) -> list[Any]:
        if name == "args":  # POST /minion/{jobname}/queue: a JSON array
            return ["[]", json.dumps(self.archives[:1]), json.dumps([self.archives[0], 1]), json.dumps(self.tanks)]
        return {
            "id": self.archives,
            "category": self.categories,
            "catid": self.categories,
            "path": self.pages,
            "page": [1, 2],
        }.get(name, [])


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def library(client, auth_header, corpus) -> Library:
    seeded = Library()
    files = [
        ("Alpha.cbz", cbz_bytes(seed=1)),
        ("Beta.cbz", cbz_bytes(["ch1/001.jpg", "ch1/002.jpg", "cover.jpg"], seed=2)),
        ("Gamma.pdf", (corpus / "0006 Sora Hana Tori Fuyu Vol. 6.pdf").read_bytes()),
    ]
    for name, data in files:
        seeded.archives.append(_ok(upload(client, name, data, headers=auth_header, tags="artist:wada rco"))["id"])
    seeded.pages = ["001.jpg", "ch1/002.jpg", "1.jpg"]
    alpha, beta, _ = seeded.archives
    form = "application/x-www-form-urlencoded"

    def put_form(url: str, **fields: str) -> dict[str, Any]:
        return _ok(client.put(url, urlencode(fields), content_type=form, **auth_header))

    static = put_form("/api/categories", name="Shelf")["category_id"]
    dynamic = put_form("/api/categories", name="Wada", search="artist:wada")["category_id"]
    seeded.categories += [static, dynamic]
    _ok(client.put(f"/api/categories/{static}/{alpha}", **auth_header))
    _ok(client.put(f"/api/categories/bookmark_link/{static}", **auth_header))

    tank = put_form("/api/tankoubons", name="Series")["tankoubon_id"]
    seeded.tanks.append(tank)
    body = {"archives": [alpha, beta], "metadata": {"name": "Series", "summary": "Two", "tags": "series:x"}}
    _ok(client.put(f"/api/tankoubons/{tank}", json.dumps(body), content_type="application/json", **auth_header))

    seeded.stamps.append(
        _ok(client.put(f"/api/archives/{alpha}/stamps/1?content=Note&position=1,1", **auth_header))["stamp_id"]
    )
    _ok(client.put(f"/api/archives/{alpha}/toc?page=2&title=Chapter", **auth_header))
    _ok(client.put(f"/api/archives/{alpha}/progress/2"))
    seeded.backup_jobs.append(_ok(client.post("/api/database/backup", **auth_header))["job"])
    seeded.jobs += seeded.backup_jobs
    thumbnails = client.post(f"/api/archives/{beta}/files/thumbnails")
    assert thumbnails.status_code == 202, thumbnails.content
    seeded.jobs.append(thumbnails.json()["job"])
    seeded.backup = b"".join(client.get("/api/database/backup", **auth_header).streaming_content)
    return seeded


def _sometimes_real(values: dict[str, Any] | None, real: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """The generated values, or the same with the named ones replaced by seeded objects."""
    keys = [key for key in (values or {}) if real.get(key)]
    if not values or not keys:
        return st.just(values)
    swapped = st.fixed_dictionaries({key: st.sampled_from(real[key]) for key in keys})
    return st.one_of(st.just(values), swapped.map(lambda chosen: {**values, **chosen}))


def _schema(document: dict[str, Any], base_url: str, library: Library, *, allow_x00: bool) -> Any:
    schema = schemathesis.openapi.from_dict(document, config=schemathesis.Config(seed=SEED))
    schema.config.update(base_url=base_url, headers={"Authorization": bearer()})
    schema.config.generation.update(allow_x00=allow_x00)

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> st.SearchStrategy[Any]:
        path = context.operation.path
        return _sometimes_real(path_parameters, {name: library.for_path(path, name) for name in path_parameters or {}})

    @schema.hook
    def flatmap_query(context: Any, query: dict[str, Any]) -> st.SearchStrategy[Any]:
        return _sometimes_real(query, {name: library.for_query(name) for name in query or {}})

    @schema.hook
    def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
        if context.operation.path == "/database/restore" and isinstance(body, dict):
            return st.sampled_from([body, {**body, "file": library.backup}])
        return st.just(body)

    return schema


@pytest.fixture
def api_schemas(live_server, library, monkeypatch) -> dict[GenerationMode, Any]:
    """The served document, loaded once per generation mode, destructive operations last."""

    # The network is the one thing mocked: fuzzed download URLs must reach no DNS server.
    def offline(url: str, **kwargs: Any) -> Any:
        raise FetchError("no network in tests")

    monkeypatch.setattr(downloads, "open_url", offline)

    response = requests.get(f"{live_server.url}/api/openapi.json", timeout=30)
    response.raise_for_status()
    document = response.json()
    order = {path: position for position, path in enumerate(DESTRUCTIVE, start=1)}
    document["paths"] = dict(sorted(document["paths"].items(), key=lambda item: order.get(item[0], 0)))
    base_url = live_server.url + document["servers"][0]["url"]
    return {
        # Hondana refuses NUL in every string with a 400 (PostgreSQL can't store it; see
        # archives.api.params), which LANraragi's document doesn't list on each operation:
        # valid requests carry none, invalid ones may.
        GenerationMode.POSITIVE: _schema(document, base_url, library, allow_x00=False),
        GenerationMode.NEGATIVE: _schema(document, base_url, library, allow_x00=True),
    }


def _fuzz(operation: Any, mode: GenerationMode, examples: int, reached: set[str]) -> str | None:
    """Fuzz one operation in one mode; what went wrong, or None. Adds the operation to
    `reached` when a valid request to it succeeds."""
    checks = POSITIVE_CHECKS if mode == GenerationMode.POSITIVE else NEGATIVE_CHECKS

    # No shrinking: a failing request is reported as sent, and the run stays bounded.
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call_and_validate(checks=checks, timeout=30)
        if mode == GenerationMode.POSITIVE and 200 <= response.status_code < 300:
            reached.add(operation.label)

    try:
        fuzz()
    except Unsatisfiable:
        # An operation without parameters, or whose only one is a free string, has no
        # invalid request to send.
        if mode == GenerationMode.POSITIVE:
            return f"{operation.label} ({mode.value}): no valid request could be generated"
    except (Exception, FailureGroup) as exc:
        return f"{operation.label} ({mode.value}): {exc}"
    return None


@pytest.mark.timeout(600)
def test_every_operation_survives_fuzzing_and_matches_the_document(api_schemas):
    started = time.monotonic()
    failures: list[str] = []
    labels: list[str] = []
    reached: set[str] = set()
    positive = api_schemas[GenerationMode.POSITIVE].get_all_operations()
    negative = api_schemas[GenerationMode.NEGATIVE].get_all_operations()
    hurried = []
    for valid, invalid in zip(positive, negative, strict=True):
        operation = valid.ok()
        labels.append(operation.label)
        examples = MAX_EXAMPLES
        if time.monotonic() - started > BUDGET:
            examples = FEW_EXAMPLES
            hurried.append(operation.label)
        for mode, each in ((GenerationMode.POSITIVE, operation), (GenerationMode.NEGATIVE, invalid.ok())):
            failure = _fuzz(each, mode, examples, reached)
            if failure is not None:
                failures.append(failure)
    if hurried:
        warnings.warn(
            f"Fuzzing took over {BUDGET} s; {len(hurried)} operations got {FEW_EXAMPLES} examples each", stacklevel=1
        )
    assert not failures, "\n\n".join(failures)

    unreached = set(labels) - reached
    assert unreached <= MAY_NEVER_SUCCEED, f"valid requests to {sorted(unreached - MAY_NEVER_SUCCEED)} never succeeded"
