"""``cherish serve``'s web worker (cherish.core.webserver): gunicorn's threaded worker, but a
finished ``Connection: close`` connection is closed gracefully without stopping the worker's
event loop while the client takes its time to close its side."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.core.processes import ROOT
from tests.outbox.conftest import free_port

from cherish.core.management.commands.serve import web_options

pytestmark = pytest.mark.slow

WORKER = "cherish.core.webserver.ThreadWorker"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """gunicorn with Cherish's worker, one process, two threads: (port, worker pid)."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tests.core.tiny_wsgi:app", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "--threads", "2", "--worker-class", WORKER],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            if children and _get(port) == b"ok GET /":
                break
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        yield port, int(children[0])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _request(port: int, method: str = "GET", path: str = "/", body: bytes = b"") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _read_to_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _get(port: int) -> bytes | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(_request(port))
            return _read_to_eof(sock).partition(b"\r\n\r\n")[2]
    except OSError:
        return None


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_a_client_slow_to_close_its_side_holds_up_nobody(server: tuple[int, int]) -> None:
    port, _ = server
    # given a client that read its whole answer but keeps its side of the connection open
    slow = socket.create_connection(("127.0.0.1", port), timeout=5)
    slow.sendall(_request(port, path="/slow"))
    assert _read_to_eof(slow).endswith(b"ok GET /slow")  # the server half-closed: EOF
    try:
        # when other clients call meanwhile
        started = time.monotonic()
        answers = [_get(port) for _ in range(10)]
        took = time.monotonic() - started
    finally:
        slow.close()
    # then they are answered at once (gunicorn's own worker waited up to 2 s for the slow
    # client to close, in its only event-loop thread, before accepting anyone else)
    assert answers == [b"ok GET /"] * 10
    assert took < 1.0


def test_an_unread_body_is_drained_so_the_answer_arrives_whole(server: tuple[int, int]) -> None:
    port, _ = server
    # given a POST whose body the application never reads
    body = b"x" * 50_000
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(_request(port, "POST", "/upload", body))
        # then the answer arrives complete and the connection ends with a FIN, not a reset
        answer = _read_to_eof(sock)
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"ok POST /upload")


def test_a_closing_socket_is_closed_once_the_client_closes_or_after_the_linger(
    server: tuple[int, int],
) -> None:
    port, worker = server
    baseline = _open_fds(worker)
    # given clients that close at once, and one that never closes its side
    for _ in range(20):
        assert _get(port) == b"ok GET /"
    silent = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        silent.sendall(_request(port))
        assert _read_to_eof(silent).endswith(b"ok GET /")
        # then the worker keeps only the silent client's socket, until the linger is over
        time.sleep(0.3)
        assert _open_fds(worker) <= baseline + 1
        deadline = time.monotonic() + 5
        while _open_fds(worker) > baseline and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _open_fds(worker) == baseline
    finally:
        silent.close()


def test_keep_alive_connections_serve_one_request_after_another(server: tuple[int, int]) -> None:
    port, _ = server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/first")
        assert conn.getresponse().read() == b"ok GET /first"
        first_socket = conn.sock
        for number in range(20):
            conn.request("POST", f"/n{number}", body=b"payload")
            assert conn.getresponse().read() == f"ok POST /n{number}".encode()
        assert conn.sock is first_socket  # one connection for all of them
    finally:
        conn.close()


def test_cherish_serve_runs_gunicorn_with_this_worker_over_the_loaded_application() -> None:
    options = web_options("127.0.0.1:8123", workers=2, threads=4)
    assert options["worker_class"] == WORKER
    assert options["bind"] == ["127.0.0.1:8123"]
    assert (options["workers"], options["threads"]) == (2, 4)
    assert options["control_socket_disable"] is True
    assert options["preload_app"] is True


def test_cherish_serve_runs_one_web_process_of_eight_threads_on_sqlite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue #14: each web process has its own intake applier and SQLite one write lock, so
    on SQLite the web layer is one process whose applier carries every waiting complaint in
    one turn; PostgreSQL keeps two processes. Given counts are taken as they are."""
    from cherish.core.management.commands.serve import Command, web_layout

    monkeypatch.delenv("CHERISH_WEB_WORKERS", raising=False)
    monkeypatch.delenv("CHERISH_WEB_THREADS", raising=False)
    given = Command().create_parser("cherish", "serve").parse_args([])
    assert web_layout("sqlite", given.workers, given.threads) == (1, 8)
    assert web_layout("postgresql", given.workers, given.threads) == (2, 4)
    assert web_layout("sqlite", 3, None) == (3, 4)
    assert web_layout("sqlite", None, 2) == (1, 2)
    assert web_layout("postgresql", 1, None) == (1, 8)
    monkeypatch.setenv("CHERISH_WEB_WORKERS", "4")
    monkeypatch.setenv("CHERISH_WEB_THREADS", "6")
    given = Command().create_parser("cherish", "serve").parse_args([])
    assert web_layout("sqlite", given.workers, given.threads) == (4, 6)


def test_a_worker_loads_every_page_before_its_first_request_and_freezes_it(
    tmp_path: Path,
) -> None:
    # when a web worker loads the WSGI application
    script = (
        "import gc, sys; import cherish.wsgi; "
        "print(gc.get_freeze_count(), 'cherish.intake.views' in sys.modules, "
        "'cherish.desk.views' in sys.modules)"
    )
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        DJANGO_SETTINGS_MODULE="cherish.settings",
        CHERISH_DATA_DIR=str(tmp_path),
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=True,
    ).stdout.split()  # fmt: skip
    # then the pages are imported already, and what they loaded is out of the collector's way
    frozen, intake, desk = out[-3:]
    assert int(frozen) > 50_000
    assert (intake, desk) == ("True", "True")


@pytest.mark.parametrize(
    "environ",
    [
        {"REQUEST_METHOD": "POST", "RAW_URI": "/complain/", "SERVER_PROTOCOL": "HTTP/1.1",
         "REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "peer-bench/1"},
        # every field a client writes, with quotes in it; a user from Basic auth
        {"REQUEST_METHOD": "GET", "RAW_URI": '/desk/?q="x"', "SERVER_PROTOCOL": "HTTP/1.0",
         "REMOTE_ADDR": "10.0.0.9", "HTTP_REFERER": 'https://e.x/"', "HTTP_USER_AGENT": 'a"b',
         "HTTP_AUTHORIZATION": "Basic YWxpY2U6c2VjcmV0"},
        # nothing optional at all
        {"REQUEST_METHOD": "HEAD", "RAW_URI": "/", "SERVER_PROTOCOL": "HTTP/1.1"},
    ],
)  # fmt: skip
def test_the_access_line_is_gunicorns(environ: dict[str, str]) -> None:
    from types import SimpleNamespace

    from gunicorn.config import Config
    from gunicorn.glogging import Logger, SafeAtoms

    from cherish.core.webserver import AccessLogger

    config = Config()
    config.set("accesslog", "-")
    ours, theirs = AccessLogger(config), Logger(config)
    for status, sent in [("302 Found", 0), ("200 OK", 5120), ("500 Internal", None)]:
        resp = SimpleNamespace(status=status, sent=sent, headers=[("Location", "/x")])
        req = SimpleNamespace(headers=[("HOST", "care.example.com")])
        atoms = theirs.atoms(resp, req, environ, SimpleNamespace(seconds=0, microseconds=1500))
        atoms["t"] = ours.now()  # the same second for both
        assert ours.access_line(resp, environ) == config.access_log_format % SafeAtoms(atoms)


def test_serve_writes_its_access_lines_with_the_lean_logger() -> None:
    assert web_options("127.0.0.1:8000", workers=1, threads=8)["logger_class"] == (
        "cherish.core.webserver.AccessLogger"
    )


_SETTLE = """
import gc
import django
django.setup()
from django.core.validators import EmailValidator
from django.utils.functional import empty
from cherish.core.webserver import settle
before = EmailValidator.domain_regex._wrapped is empty
settle()
print(before, EmailValidator.domain_regex._wrapped is not empty, gc.get_freeze_count() > 0)
"""


def test_settle_readies_what_every_request_needs_before_the_workers_fork(tmp_path: Path) -> None:
    """The URLconf and Django's email patterns are loaded in the process the web workers
    and the intake applier are forked from (the patterns took the first customer's request
    about 20 ms more), and all of it is moved out of the garbage collector's way."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cherish.settings"}
    env["CHERISH_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _SETTLE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True"]
