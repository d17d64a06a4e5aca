from __future__ import annotations

import pytest

from cherish.core.emailaddress import normalise_address


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Carla@Example.COM ", "carla@example.com"),
        ("josé@exämple.es", "josé@exämple.es"),
        ("JOSÉ@EXÄMPLE.ES", "josé@exämple.es"),
        ("jose\u0301@example.es", "josé@example.es"),  # decomposed é, NFC-normalised
        ("用户@例子.广告", "用户@例子.广告"),
        ("δοκιμή@παράδειγμα.δοκιμή", "δοκιμή@παράδειγμα.δοκιμή"),
        ("first.last@xn--exmple-cua.es", "first.last@xn--exmple-cua.es"),
    ],
)
def test_addresses_are_normalised(raw, expected):
    assert normalise_address(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "no-at-sign",
        "josé@",
        "@exämple.es",
        "jo sé@exämple.es",
        "jo\u00a0sé@exämple.es",  # a no-break space is still a space
        "josé..x@exämple.es",
        ".josé@exämple.es",
        "jos\u200bé@exämple.es",  # zero-width space (format character)
        "josé@exämple",
        "josé@exä mple.es",
        "é" * 33 + "@exämple.es",  # 66 octets, over the 64-octet local-part limit
        "a@b.c\r\nBcc: x@example.com",
    ],
)
def test_non_addresses_are_refused(raw):
    assert normalise_address(raw) is None
