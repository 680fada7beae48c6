"""POST /api/download_url is no way into the server's own network.

Addresses that are not public are refused in every spelling, before a single byte
is sent to them, unless HONDANA_DOWNLOAD_ALLOW_NETWORKS lists them; each redirect is
checked again; and every failure reads the same to the caller, so that the job
result does not map which internal ports are open. Real servers on loopback
addresses record every connection they accept.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from archives import downloads
from archives.downloads import trim_url
from jobs.models import Job
from tests.conftest import ROOT
from tests.downloads.server import FileServer
from tests.downloads.server import Route
from tests.downloads.server import file_server
from tests.samples import cbz_bytes

pytestmark = pytest.mark.django_db

BOOK = cbz_bytes(seed=21)
GENERIC = "The URL could not be downloaded."


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


IPV6 = _has_ipv6_loopback()


@dataclass
class Loopback:
    """A recording server on 127.0.0.1:port and, where the machine has IPv6, on [::1]."""

    v4: FileServer
    v6: FileServer | None

    @property
    def servers(self) -> list[FileServer]:
        return [s for s in (self.v4, self.v6) if s is not None]

    def untouched(self) -> bool:
        return all(not s.hits and not s.connections for s in self.servers)


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    routes = {"/": Route(BOOK), "/x.cbz": Route(BOOK)}
    with ExitStack() as stack:
        v4 = stack.enter_context(file_server(routes))
        v6 = None
        if IPV6:
            # The same port, so that "localhost" finds a recording server whichever
            # family it resolves to first.
            try:
                v6 = stack.enter_context(file_server(routes, host="::1", port=v4.port))
            except OSError:
                v6 = stack.enter_context(file_server(routes, host="::1"))
        yield Loopback(v4, v6)


def queue(client, auth_header, capture, url: str) -> dict:
    with capture(execute=True):
        response = client.post(f"/api/download_url?{urlencode({'url': url})}", **auth_header)
    assert response.status_code == 200, response.content
    return Job.objects.get(pk=response.json()["job"]).result


# Every way of writing "this machine" (or its neighbours) in a URL. {port} is the
# IPv4 server's port, {port6} the IPv6 server's (the IPv4 one where there is none).
HOSTILE = [
    "http://127.0.0.1:{port}/x.cbz",
    "http://localhost:{port}/",
    "http://LOCALHOST:{port}/",
    "http://localhost.:{port}/",
    "http://0x7f000001:{port}/",
    "http://2130706433:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://127.1:{port}/",
    "http://127.0.1:{port}/",
    "http://0:{port}/",
    "http://0.0.0.0:{port}/",
    "http://[::1]:{port6}/",
    "http://[0:0:0:0:0:0:0:1]:{port6}/",
    "http://[::]:{port6}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/",
    "http://[::127.0.0.1]:{port}/",
    "http://[2002:7f00:1::]:{port}/",
    "http://[64:ff9b::7f00:1]:{port}/",
    "https://127.0.0.1:{port}/x.cbz",
    "http://user:pass@127.0.0.1:{port}/x.cbz",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.0.1/",
    "http://100.64.0.1/",
    "http://[fd00::1]/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
]


def spell(template: str, loopback: Loopback) -> str:
    port6 = loopback.v6.port if loopback.v6 else loopback.v4.port
    return template.format(port=loopback.v4.port, port6=port6)


@pytest.mark.parametrize("template", HOSTILE)
def test_addresses_that_are_not_public_are_never_contacted(
    template, client, auth_header, loopback, settings, django_capture_on_commit_callbacks
):
    settings.HONDANA_DOWNLOAD_ALLOW_NETWORKS = []
    url = spell(template, loopback)

    outcome = queue(client, auth_header, django_capture_on_commit_callbacks, url)

    assert outcome == {"success": 0, "url": trim_url(url), "message": GENERIC}
    assert loopback.untouched(), [(s.hits, s.connections) for s in loopback.servers]


# The spellings above that reach a recording server once their network is allowed:
# proof that "never contacted" is not only the server being out of reach.
REACHABLE = [
    "http://127.0.0.1:{port}/x.cbz",
    "http://localhost:{port}/x.cbz",
    "http://0x7f000001:{port}/x.cbz",
    "http://2130706433:{port}/x.cbz",
    "http://127.1:{port}/x.cbz",
    "http://[::ffff:127.0.0.1]:{port}/x.cbz",
    *(["http://[::1]:{port6}/x.cbz"] if IPV6 else []),
]


@pytest.mark.parametrize("template", REACHABLE)
def test_an_allowed_network_is_fetched_from(
    template, client, auth_header, loopback, settings, django_capture_on_commit_callbacks
):
    settings.HONDANA_DOWNLOAD_ALLOW_NETWORKS = ["127.0.0.0/8", "::1/128"]

    outcome = queue(client, auth_header, django_capture_on_commit_callbacks, spell(template, loopback))

    assert outcome["success"] == 1, outcome
    assert sum(len(s.hits) for s in loopback.servers) == 1


def test_only_the_listed_network_is_allowed(
    client, auth_header, loopback, settings, django_capture_on_commit_callbacks
):
    settings.HONDANA_DOWNLOAD_ALLOW_NETWORKS = ["127.0.0.2/32", "::2/128"]
    for template in ("http://127.0.0.1:{port}/x.cbz", "http://localhost:{port}/", "http://[::1]:{port6}/"):
        url = spell(template, loopback)
        assert queue(client, auth_header, django_capture_on_commit_callbacks, url)["message"] == GENERIC
    assert loopback.untouched()


def test_a_redirect_is_checked_like_the_first_url(
    client, auth_header, loopback, settings, django_capture_on_commit_callbacks
):
    # 127.0.0.2 plays an outside server that the owner allowed; it sends the
    # downloader back to this machine, which is not allowed.
    settings.HONDANA_DOWNLOAD_ALLOW_NETWORKS = ["127.0.0.2/32"]
    targets = [
        *(spell(t, loopback) for t in HOSTILE),
        "/x.cbz",  # relative: the redirecting server itself, which is allowed
    ]
    routes = {f"/go/{n}": Route(status=302, headers={"Location": target}) for n, target in enumerate(targets)}
    with file_server(routes, host="127.0.0.2") as outside:
        for n in range(len(targets) - 1):
            outcome = queue(client, auth_header, django_capture_on_commit_callbacks, f"{outside.url}/go/{n}")
            assert outcome["message"] == GENERIC, (targets[n], outcome)
        assert outside.hits == [f"/go/{n}" for n in range(len(targets) - 1)]
        assert loopback.untouched(), [(s.hits, s.connections) for s in loopback.servers]

        # A redirect to an allowed address is followed (404 there: no route).
        outcome = queue(client, auth_header, django_capture_on_commit_callbacks, f"{outside.url}/go/{len(targets) - 1}")
        assert outcome["message"] == GENERIC
        assert outside.hits[-2:] == [f"/go/{len(targets) - 1}", "/x.cbz"]


def test_redirects_are_capped(client, auth_header, settings, django_capture_on_commit_callbacks):
    settings.HONDANA_DOWNLOAD_ALLOW_NETWORKS = ["127.0.0.0/8"]
    routes = {"/loop": Route(status=302, headers={"Location": "/loop"}), "/hop/0.cbz": Route(BOOK)}
    routes |= {f"/hop/{n}.cbz": Route(status=301, headers={"Location": f"/hop/{n - 1}.cbz"}) for n in range(1, 8)}
    with file_server(routes) as server:
        looped = queue(client, auth_header, django_capture_on_commit_callbacks, f"{server.url}/loop")
        assert looped == {"success": 0, "url": trim_url(f"{server.url}/loop"), "message": GENERIC}
        assert server.hits == ["/loop"] * (downloads.MAX_REDIRECTS + 1)

        server.hits.clear()
        one_too_many = f"{server.url}/hop/{downloads.MAX_REDIRECTS + 1}.cbz"
        assert queue(client, auth_header, django_capture_on_commit_callbacks, one_too_many)["message"] == GENERIC
        assert "/hop/0.cbz" not in server.hits and len(server.hits) == downloads.MAX_REDIRECTS + 1

        server.hits.clear()
        just_enough = f"{server.url}/hop/{downloads.MAX_REDIRECTS}.cbz"
        assert queue(client, auth_header, django_capture_on_commit_callbacks, just_enough)["success"] == 1
        assert server.hits[-1] == "/hop/0.cbz"


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_every_failure_reads_the_same(
    client, auth_header, settings, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    settings.HONDANA_DOWNLOAD_ALLOW_NETWORKS = ["127.0.0.0/8"]
    monkeypatch.setattr(downloads, "TIMEOUT", 0.3)
    routes = {
        "/error.cbz": Route(b"oops", status=500),
        "/empty-redirect": Route(status=302),
        "/bad-redirect": Route(status=302, headers={"Location": "http://[::1/x.cbz"}),
        "/to-ftp": Route(status=302, headers={"Location": "ftp://127.0.0.1/x.cbz"}),
        "/to-metadata": Route(status=302, headers={"Location": "http://169.254.169.254/latest/"}),
        "/hang-up.cbz": Route(hang_up=True),
        "/slow.cbz": Route(BOOK, stall=1.5),
    }
    with file_server(routes) as server:
        failures = {
            "refused": f"http://127.0.0.1:{_closed_port()}/x.cbz",
            "404": f"{server.url}/missing.cbz",
            "500": f"{server.url}/error.cbz",
            "redirect without Location": f"{server.url}/empty-redirect",
            "redirect to a broken URL": f"{server.url}/bad-redirect",
            "redirect to ftp": f"{server.url}/to-ftp",
            "redirect to a blocked address": f"{server.url}/to-metadata",
            "closed without an answer": f"{server.url}/hang-up.cbz",
            "timeout": f"{server.url}/slow.cbz",
            "blocked address": "http://169.254.169.254/latest/",
            "blocked IPv6 loopback": f"http://[::1]:{server.port}/x.cbz",
            "unknown host": "http://no-such-host.invalid/x.cbz",
        }
        with caplog.at_level(logging.INFO, logger="archives"):
            messages = {
                reason: queue(client, auth_header, django_capture_on_commit_callbacks, url)
                for reason, url in failures.items()
            }
    assert {reason: outcome["message"] for reason, outcome in messages.items()} == dict.fromkeys(failures, GENERIC)
    assert all(
        outcome["success"] == 0 and set(outcome) == {"success", "url", "message"} for outcome in messages.values()
    )
    # The operator's log says what really happened.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for detail in ("refused", "404", "500", "169.254.169.254", "::1", "ftp:", "no-such-host.invalid"):
        assert detail in logged, detail
    assert any(r.levelno == logging.WARNING and "169.254.169.254" in r.getMessage() for r in caplog.records)


def _settings_with(value: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HONDANA_DOWNLOAD_ALLOW_NETWORKS=value, DJANGO_SETTINGS_MODULE="config.settings")
    code = "from django.conf import settings; print(settings.HONDANA_DOWNLOAD_ALLOW_NETWORKS)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_allow_list_is_checked_at_start():
    good = _settings_with(" 192.168.1.0/24, fd00::/8 ,10.1.2.3")
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "['192.168.1.0/24', 'fd00::/8', '10.1.2.3/32']"
    assert _settings_with("").stdout.strip() == "[]"
    for bad in ("192.168.1.0/33", "nas.local", "192.168.1.5/24"):
        run = _settings_with(f"10.0.0.0/8,{bad}")
        assert run.returncode != 0
        assert "ImproperlyConfigured" in run.stderr
        assert f"HONDANA_DOWNLOAD_ALLOW_NETWORKS: {bad!r} is not a network" in run.stderr, run.stderr


def test_the_connection_goes_to_the_address_that_was_checked(
    client, auth_header, loopback, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # A name whose DNS answer changes between lookups (rebinding): allowed the first
    # time, this machine's loopback after. Only the name service is faked.
    settings.HONDANA_DOWNLOAD_ALLOW_NETWORKS = ["127.0.0.2/32"]
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        return real_getaddrinfo("127.0.0.2" if len(lookups) == 1 else "127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with file_server({"/x.cbz": Route(BOOK)}, host="127.0.0.2", port=loopback.v4.port) as allowed:
        url = f"http://rebind.example:{allowed.port}/x.cbz"
        outcome = queue(client, auth_header, django_capture_on_commit_callbacks, url)

        assert outcome["success"] == 1, outcome
        assert lookups == ["rebind.example"]
        assert allowed.hits == ["/x.cbz"]
        # The Host header is the URL's, not the address connected to.
        assert allowed.hosts == [f"rebind.example:{allowed.port}"]
        assert loopback.untouched()

        # Once the name points at loopback, it is refused.
        again = f"http://rebind.example:{allowed.port}/other.cbz"
        outcome = queue(client, auth_header, django_capture_on_commit_callbacks, again)
        assert outcome["message"] == GENERIC
        assert allowed.hits == ["/x.cbz"] and loopback.untouched()


@pytest.fixture
def localhost_certificate(tmp_path):
    """A self-signed certificate for the name `localhost` (not for 127.0.0.1)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_https_is_verified_for_the_url_host_name(
    client, auth_header, settings, monkeypatch, localhost_certificate, django_capture_on_commit_callbacks
):
    settings.HONDANA_DOWNLOAD_ALLOW_NETWORKS = ["127.0.0.0/8"]
    cert, key = localhost_certificate
    # Trusted as a CA by the default context the downloader verifies with.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    names: list[str | None] = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    tls.sni_callback = lambda connection, name, context: names.append(name)
    with file_server({"/x.cbz": Route(BOOK)}, tls=tls) as server:
        outcome = queue(
            client, auth_header, django_capture_on_commit_callbacks, f"https://localhost:{server.port}/x.cbz"
        )
        assert outcome["success"] == 1, outcome
        assert (names, server.hosts) == (["localhost"], [f"localhost:{server.port}"])

        # Connected to the same address, but named by it: the certificate does not match.
        url = f"https://127.0.0.1:{server.port}/x.cbz"
        assert queue(client, auth_header, django_capture_on_commit_callbacks, url)["message"] == GENERIC
        assert server.hits == ["/x.cbz"]
