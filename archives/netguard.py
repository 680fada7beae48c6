"""Outbound HTTP GETs to URLs chosen by API callers, kept off the server's own network.

A caller-supplied URL is fetched only from public addresses, or from networks the
owner lists in HONDANA_DOWNLOAD_ALLOW_NETWORKS (a NAS on the LAN). The host name is
resolved here, once, every address it resolves to is checked, and the socket is
connected to exactly those addresses, while the Host header and the TLS server name
stay the URL's: a second lookup, which a hostile DNS server could answer with
127.0.0.1 (DNS rebinding), never happens. Each redirect target goes through the same
checks. Checking the resolved address, not the URL's text, covers every spelling of
an address (`0x7f000001`, `2130706433`, `127.1`, `[::ffff:127.0.0.1]`, ...).

Failures raise FetchError with the real reason, meant for the operator's log only:
told to the caller, "refused" against "404" against "timed out" would map which
internal hosts and ports exist.
"""

from __future__ import annotations

import functools
import http.client
import socket
import ssl
import string
from collections.abc import Sequence
from ipaddress import IPv4Address
from ipaddress import IPv4Network
from ipaddress import IPv6Address
from ipaddress import IPv6Network
from ipaddress import ip_address
from ipaddress import ip_network
from typing import Any
from urllib.parse import SplitResult
from urllib.parse import quote
from urllib.parse import urljoin
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
# getaddrinfo's rows: (family, type, proto, canonname, sockaddr).
AddrInfo = tuple[Any, ...]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_NAT64 = IPv6Network("64:ff9b::/96")


class FetchError(Exception):
    """A fetch that failed; `reason` is for the server's log, never for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AddressRefused(FetchError):
    """The URL, or a redirect, led to an address that may not be fetched from."""


def allowed_networks() -> tuple[Network, ...]:
    """HONDANA_DOWNLOAD_ALLOW_NETWORKS as networks (settings.py validated the text)."""
    return _parse_networks(tuple(settings.HONDANA_DOWNLOAD_ALLOW_NETWORKS))


@functools.lru_cache(maxsize=8)
def _parse_networks(items: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ip_network(item, strict=False) for item in items)


def _is_public(address: IPAddress) -> bool:
    # is_global alone misses multicast (224/4 and ff00::/8 count as global), the
    # reserved IPv4-compatible ::/96 and the deprecated site-local fec0::/10.
    if not address.is_global or address.is_private or address.is_reserved:
        return False
    if address.is_loopback or address.is_link_local or address.is_multicast or address.is_unspecified:
        return False
    return not (isinstance(address, IPv6Address) and address.is_site_local)


def _embedded_ipv4(address: IPv6Address) -> list[IPv4Address]:
    """IPv4 addresses that an IPv6 address routes to: 6to4, Teredo, NAT64."""
    embedded = []
    if address.sixtofour is not None:
        embedded.append(address.sixtofour)
    if address.teredo is not None:
        embedded.append(address.teredo[1])
    if address in _NAT64:
        embedded.append(IPv4Address(int(address) & 0xFFFFFFFF))
    return embedded


def address_refusal(address: IPAddress, allowed: Sequence[Network]) -> str | None:
    """Why `address` may not be fetched from, or None when it may."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 is 127.0.0.1 on a dual-stack socket: judge it as that.
        address = address.ipv4_mapped
    if address.is_unspecified or address.is_multicast:
        # 0.0.0.0 and :: connect to this machine; no allow-list entry means those.
        return "an unspecified or multicast address"
    if any(address in network for network in allowed):
        return None
    if not _is_public(address):
        return "not a public address, and not in HONDANA_DOWNLOAD_ALLOW_NETWORKS"
    if isinstance(address, IPv6Address):
        for inner in _embedded_ipv4(address):
            if not _is_public(inner):
                return f"which routes to {inner}, not a public address"
    return None


def resolve(host: str, port: int, allowed: Sequence[Network]) -> list[AddrInfo]:
    """The addresses to connect to for host:port; all of them must be allowed.

    One refused address refuses the host: a name that resolves to both a public and
    a private address is not trusted to pick the public one.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"{host} does not resolve: {exc}") from None
    if not infos:
        raise FetchError(f"{host} does not resolve")
    for info in infos:
        address = ip_address(info[4][0])
        refusal = address_refusal(address, allowed)
        if refusal:
            raise AddressRefused(f"{host} resolves to {address}, {refusal}")
    return infos


def _connect(addresses: Sequence[AddrInfo], timeout: float | None) -> socket.socket:
    """A TCP socket connected to the first of the vetted addresses that answers."""
    error: OSError = OSError("no address")
    for family, kind, proto, _, sockaddr in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to addresses resolved and checked beforehand."""

    def __init__(self, host: str, port: int, *, addresses: Sequence[AddrInfo], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to checked addresses; the certificate is verified for the URL's host."""

    def __init__(self, host: str, port: int, *, addresses: Sequence[AddrInfo], timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._addresses = addresses

    def connect(self) -> None:
        sock = _connect(self._addresses, self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _request_target(parts: SplitResult) -> str:
    # As urllib does with redirects: spaces and non-ASCII are escaped, escapes kept.
    target = quote(parts.path or "/", safe=string.punctuation, encoding="iso-8859-1")
    if parts.query:
        target += "?" + quote(parts.query, safe=string.punctuation, encoding="iso-8859-1")
    return target


def _open_once(
    url: str, *, headers: dict[str, str], timeout: float, allowed: Sequence[Network]
) -> http.client.HTTPResponse:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host, port = parts.hostname, parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise FetchError(f"{url}: {exc}") from None
    if scheme not in ("http", "https"):
        raise FetchError(f"{url} is not an http(s) URL")
    if not host:
        raise FetchError(f"{url} has no host")
    addresses = resolve(host, port, allowed)
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = kind(host, port, addresses=addresses, timeout=timeout)
    try:
        connection.request("GET", _request_target(parts), headers={**headers, "Connection": "close"})
        response = connection.getresponse()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        connection.close()
        raise FetchError(f"{url}: {exc!r}") from None
    # The response owns the socket from here on; closing it closes the connection.
    if connection.sock is not None:
        connection.sock.close()
        connection.sock = None
    return response


def open_url(
    url: str, *, headers: dict[str, str], timeout: float, max_redirects: int
) -> tuple[http.client.HTTPResponse, str]:
    """GET url, following up to max_redirects redirects, each to a checked address.

    Returns the 2xx response, to be closed by the caller, and the URL that answered
    it. Raises FetchError (AddressRefused for a refused address) on any failure.
    """
    allowed = allowed_networks()
    for hop in range(max_redirects + 1):
        try:
            response = _open_once(url, headers=headers, timeout=timeout, allowed=allowed)
        except FetchError as exc:
            if hop:
                exc.reason = f"redirected to {url}: {exc.reason}"
            raise
        status = response.status
        if 200 <= status < 300:
            return response, url
        location = response.headers.get("Location", "").strip()
        response.close()
        if status not in REDIRECT_STATUSES:
            raise FetchError(f"{url} answered {status} {response.reason}")
        if not location:
            raise FetchError(f"{url} answered {status} without a Location")
        try:
            url = urljoin(url, location)
        except ValueError:
            raise FetchError(f"{url} answered {status} with a bad Location: {location!r}") from None
    raise FetchError(f"more than {max_redirects} redirects, the last to {url}")
