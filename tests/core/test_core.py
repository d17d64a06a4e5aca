from __future__ import annotations

import pytest

from cherish.core import ratelimit
from cherish.core.references import ALPHABET, find_reference, new_reference, normalise_reference
from cherish.core.text import excerpt, one_line, sanitise_html


def test_references_are_short_readable_and_unique_enough():
    refs = {new_reference() for _ in range(5000)}
    # 6 characters from 28 give 4.8e8 references: by the birthday bound 5,000 draws collide
    # about once in 40 runs, which the database's unique constraint and a retry absorb.
    assert len(refs) >= 4995
    for ref in list(refs)[:50]:
        assert ref.startswith("CH-") and len(ref) == 9
        assert set(ref[3:]) <= set(ALPHABET)
        assert not set(ref[3:]) & set("01OILU")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ch-7k2qx9", "CH-7K2QX9"),
        ("7K2 QX9", "CH-7K2QX9"),
        ("CH7K2QX9", "CH-7K2QX9"),
        ("CH-7K2QX", None),
        ("CH-0K2QX9", None),
        ("", None),
    ],
)
def test_normalise_reference(typed, expected):
    assert normalise_reference(typed) == expected


def test_find_reference_in_subject():
    assert find_reference("Re: Your case [CH-7K2QX9] update") == "CH-7K2QX9"
    assert find_reference("no reference here") is None


def test_text_helpers_strip_danger():
    assert "<script" not in sanitise_html('<p onclick="x()">hi<script>alert(1)</script></p>')
    assert 'href="javascript' not in sanitise_html('<a href="javascript:alert(1)">x</a>')
    assert one_line("Hello\r\nBcc: evil@example.com") == "Hello Bcc: evil@example.com"
    assert excerpt("word " * 100, 20).endswith("…")


def test_rate_limit_counts_per_identity(db):
    for _ in range(3):
        ratelimit.hit("test", "1.2.3.4", window_s=60)
    assert ratelimit.count("test", "1.2.3.4") == 3
    assert ratelimit.count("test", "5.6.7.8") == 0
    ratelimit.reset("test", "1.2.3.4")
    assert ratelimit.count("test", "1.2.3.4") == 0


def test_sqlite_commits_reach_the_disk_before_they_return(db):
    """#10.6: in WAL mode synchronous=NORMAL may lose the last commits on a power cut, after
    the customer was told we have their complaint."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's durability setting")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        (level,) = cursor.fetchone()
        cursor.execute("PRAGMA journal_mode")
        (journal,) = cursor.fetchone()
    assert (level, journal) == (2, "wal")  # 2 is FULL


def test_a_web_workers_sqlite_page_caches_stay_small(db, monkeypatch):
    """#14.3: every thread of a gunicorn worker (``cherish serve`` on SQLite: one process of
    8 request threads, plus the intake applier) holds its own SQLite connection, and each
    connection's page cache is anonymous memory until it closes. At 64 MB a connection, one
    pass of the inbox views over a 1M-case database took a worker from 85 to 152 MiB RssAnon
    (issue #14 asks <= 120 MiB); the one worker's page caches together stay within 5 MiB
    (500 KiB a connection: with 2 MiB, 8 clients at once took a worker to 132 MiB at 1M)."""
    from django.db import connection

    from cherish.core.management.commands.serve import Command, web_layout

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's page cache")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (size,) = cursor.fetchone()
        cursor.execute("PRAGMA page_size")
        (page,) = cursor.fetchone()
    per_connection_kib = -size if size < 0 else size * page // 1024
    monkeypatch.delenv("CHERISH_WEB_WORKERS", raising=False)
    monkeypatch.delenv("CHERISH_WEB_THREADS", raising=False)
    given = Command().create_parser("cherish", "serve").parse_args([])
    workers, threads = web_layout("sqlite", given.workers, given.threads)
    assert (threads + 1) * per_connection_kib <= 5 * 1024
    assert workers * (threads + 1) * per_connection_kib < 2 * 5 * 2 * 1024


@pytest.mark.parametrize(
    "text, quote",
    [
        (
            "Guten Tag,\n\nmeine Bestellung 4711 ist überfällig. Ich bin enttäuscht.\n\n"
            "Mit freundlichen Grüßen\nJürgen Weiß",
            "meine Bestellung 4711 ist überfällig. Ich bin enttäuscht.",
        ),
        (
            "Hello team,\nMy parcel never came.\nKind regards,\nAna Li\n+44 20 7946 0000",
            "My parcel never came.",
        ),
        ("Bonjour,\nLe colis est abîmé.\nCordialement\nMarie", "Le colis est abîmé."),
        ("Dear Sir or Madam,\nThe heater broke.\n-- \nAna Li\nACME Ltd", "The heater broke."),
        ("The heater broke.\n> On Monday you wrote:\n> we are sorry", "The heater broke."),
        # a greeting inside the first sentence is the customer's words
        ("Hello, my order is late and I am upset.", "Hello, my order is late and I am upset."),
        # "Thanks" in the middle of a long message is not its end
        (
            "It broke.\nThanks.\nThen it broke again.\nAnd again.\nI called twice.\n"
            "Nobody came.\nI waited all week.\nStill nothing.\nPlease call me.",
            "It broke. Thanks. Then it broke again. And again. I called twice. Nobody came. "
            "I waited all week. Still nothing. Please call me.",
        ),
        # nothing but a greeting: the customer's words as they are
        ("Hi", "Hi"),
    ],
)
def test_the_quote_leaves_out_greeting_and_sign_off(text, quote):
    from cherish.core.text import quote_excerpt

    assert quote_excerpt(text) == quote
