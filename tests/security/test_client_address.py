"""The address the throttle counts a request against (archives.throttle.client_address)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from archives.throttle import client_address


def address(remote: str = "10.0.0.1", forwarded: str | None = None) -> str:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **extra))


def test_remote_addr_by_default_whatever_x_forwarded_for_says():
    assert address("10.0.0.1", "192.0.2.1") == "10.0.0.1"


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "192.0.2.66, 203.0.113.9", "203.0.113.9"),  # the left entry is the client's own claim
        (2, "192.0.2.66, 203.0.113.9, 10.1.1.1", "203.0.113.9"),
        (2, "203.0.113.9", "203.0.113.9"),  # fewer entries than proxies: the leftmost
        (1, "203.0.113.9:51234", "203.0.113.9"),
        (1, "[2001:db8::1]:443", "2001:db8::/64"),
        (1, "", "10.0.0.1"),
        (1, "not-an-address", "10.0.0.1"),
    ],
)
def test_behind_trusted_proxies(settings, hops, forwarded, expected):
    settings.HONDANA_TRUSTED_PROXIES = hops
    assert address("10.0.0.1", forwarded) == expected


def test_ipv6_counts_by_its_64_block():
    assert address("2001:db8:1:2:aaaa::1") == address("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert address("2001:db8:1:3::1") != address("2001:db8:1:2::1")
    assert address("::ffff:192.0.2.5") == "192.0.2.5"


def test_no_address_is_one_shared_subject():
    assert address("") == "unknown"
