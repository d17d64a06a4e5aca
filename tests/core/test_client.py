"""The client address behind trusted proxies (core.client), used by throttling and the audit log."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from cherish.core.client import client_address


def address(settings, proxies, remote, forwarded=None):
    settings.CHERISH_TRUSTED_PROXIES = proxies
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **meta))


@pytest.mark.parametrize(
    ("label", "proxies", "remote", "forwarded", "expected"),
    [
        ("no proxy configured: header ignored", [], "203.0.113.9", "198.51.100.1", "203.0.113.9"),
        (
            "untrusted sender: header ignored",
            ["10.0.0.0/8"],
            "203.0.113.9",
            "1.2.3.4",
            "203.0.113.9",
        ),
        ("one trusted proxy", ["10.0.0.1"], "10.0.0.1", "198.51.100.7", "198.51.100.7"),
        (
            "spoofed left entries are skipped",
            ["10.0.0.0/8"],
            "10.0.0.1",
            "6.6.6.6, 198.51.100.7, 10.0.0.2",
            "198.51.100.7",
        ),
        ("only proxies: the first hop", ["10.0.0.0/8"], "10.0.0.1", "10.0.0.5", "10.0.0.5"),
        ("garbage hop stops the walk", ["10.0.0.0/8"], "10.0.0.1", "nonsense", "10.0.0.1"),
        ("IPv6 proxy and client", ["fd00::/8"], "fd00::1", "2001:db8::5", "2001:db8::5"),
        ("proxy without header", ["10.0.0.1"], "10.0.0.1", None, "10.0.0.1"),
    ],
)
def test_client_address(settings, label, proxies, remote, forwarded, expected):
    assert address(settings, proxies, remote, forwarded) == expected, label
