"""``cherish serve`` as a process: a child that dies is restarted, the rest keep serving,
and only SIGTERM stops the whole (before, killing the task worker stopped everything)."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from tests.core import processes
from tests.outbox.conftest import free_port

from cherish.cases.models import Case
from cherish.core.management.commands.serve import site_url_for
from cherish.core.middleware import CSP
from cherish.core.supervisor import Supervisor
from cherish.intake.apikeys import create_api_key
from cherish.outbox.models import OutgoingEmail

pytestmark = pytest.mark.slow


def _children(pid: int) -> dict[int, str]:
    """The direct children of ``pid`` and their process names (Linux /proc): forked
    children share their parent's command line; the supervisor names each one."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(FileNotFoundError):
                found[int(child)] = Path(f"/proc/{child}/comm").read_text().strip()
    return found


def _pid_of(pid: int, name: str) -> int | None:
    return next((c for c, comm in _children(pid).items() if comm.startswith(name)), None)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_serve_restarts_a_killed_child_and_stops_only_on_sigterm(
    transactional_db: Any, tmp_path: Path
) -> None:
    # given a running Cherish
    port = free_port()
    env = processes.cherish_env(tmp_path, SMTP_PORT=str(free_port()), LOG_LEVEL="INFO")
    log = tmp_path / "serve.log"
    serve = processes.start(
        ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-migrate"], env, log
    )
    try:
        processes.wait_for(lambda: _healthy(port), timeout=90, what="the web server")
        worker = processes.wait_for(
            lambda: _pid_of(serve.pid, "cherish-worker"), timeout=30, what="w"
        )
        web = _pid_of(serve.pid, "cherish-web")
        smtpd = _pid_of(serve.pid, "cherish-smtpd")
        applier = _pid_of(serve.pid, "cherish-applier")
        # the intake store process: SQLite's (the form's complaints into the intake journal)
        journaled = connection.vendor == "sqlite"
        store = _pid_of(serve.pid, "cherish-store")
        assert web and smtpd and applier and bool(store) == journaled

        # when the task worker is killed outright
        os.kill(worker, signal.SIGKILL)

        # then a new worker starts, while the web server and mail listener never stopped
        new_worker = processes.wait_for(
            lambda: (p := _pid_of(serve.pid, "cherish-worker")) and p != worker and p,
            timeout=30,
            what="a new task worker",
        )
        assert new_worker != worker
        assert _healthy(port)
        assert _pid_of(serve.pid, "cherish-web") == web
        assert _pid_of(serve.pid, "cherish-smtpd") == smtpd

        # and the intake applier process, killed, comes back too
        os.kill(applier, signal.SIGKILL)
        processes.wait_for(
            lambda: (p := _pid_of(serve.pid, "cherish-applier")) and p != applier,
            timeout=30,
            what="a new applier process",
        )

        # and so does the intake store process
        if store:
            os.kill(store, signal.SIGKILL)
            processes.wait_for(
                lambda: (p := _pid_of(serve.pid, "cherish-store")) and p != store,
                timeout=30,
                what="a new store process",
            )

        # and when the web server itself dies, it comes back too
        os.kill(web, signal.SIGKILL)
        processes.wait_for(
            lambda: (p := _pid_of(serve.pid, "cherish-web")) and p != web and _healthy(port),
            timeout=60,
            what="the web server to come back",
        )
        assert serve.poll() is None
    finally:
        code = processes.stop(serve, timeout=60)

    # and SIGTERM stops everything, cleanly
    assert code == 0
    text = log.read_text()
    assert "worker-1 exited with status -9" in text
    assert "worker-1 restarted (restart 1)" in text
    assert "web exited with status -9" in text
    assert "applier exited with status -9" in text
    assert not _healthy(port)


def test_backoff_doubles_while_a_child_keeps_dying_young() -> None:
    supervisor = Supervisor({}, first_backoff_s=1, max_backoff_s=30)
    assert [supervisor.backoff(n) for n in range(8)] == [0, 1, 2, 4, 8, 16, 30, 30]


def test_a_child_that_dies_young_waits_and_one_that_lived_restarts_at_once(tmp_path: Path) -> None:
    # given a supervisor with a fake clock, over a child that exits at once
    clock = [100.0]
    supervisor = Supervisor(
        {"quick": ["true"]}, stable_after_s=30, first_backoff_s=1, clock=lambda: clock[0]
    )
    child = supervisor.children["quick"]
    supervisor.start(child)
    assert child.proc is not None
    child.proc.wait()
    # when it is noticed dead 1 s after it started
    clock[0] += 1
    supervisor.check()
    # then its restart waits for the backoff
    assert (child.proc, child.restart_at, child.quick_exits) == (None, 102.0, 1)
    clock[0] += 1
    supervisor.check()
    assert child.proc is not None and child.restarts == 1
    child.proc.wait()
    # and after a long, healthy run it is restarted at once
    clock[0] += 60
    supervisor.check()
    assert child.restarts == 2 and child.quick_exits == 0
    assert child.exits == [0, 0]
    child.proc.wait()


def _note_and_exit(path: Path, status: int) -> None:
    comm = Path("/proc/self/comm").read_text().strip()
    with open(path, "a") as out:
        out.write(f"{os.getpid()} {comm}\n")
    raise SystemExit(status)


def test_a_forked_child_is_named_and_restarted_with_its_exit_status(tmp_path: Path) -> None:
    # given a supervisor over a function, run in a forked child, that exits with status 3
    clock = [100.0]
    notes = tmp_path / "notes"
    supervisor = Supervisor(
        {"job-1": partial(_note_and_exit, notes, 3)}, first_backoff_s=1, clock=lambda: clock[0]
    )
    child = supervisor.children["job-1"]
    supervisor.start(child)
    assert child.proc is not None and child.proc.wait(timeout=30) == 3
    # when it is noticed dead, and again once its backoff is over
    clock[0] += 1
    supervisor.check()
    clock[0] += 1
    supervisor.check()
    assert child.proc is not None and child.proc.wait(timeout=30) == 3
    # then it ran twice, in two processes, each under the child's name, not this process's
    runs = [line.split() for line in notes.read_text().splitlines()]
    assert [comm for _, comm in runs] == ["cherish-job1", "cherish-job1"]
    assert len({pid for pid, _ in runs} | {str(os.getpid())}) == 3
    assert child.exits == [3] and child.restarts == 1


def _sleep() -> None:
    time.sleep(60)


def test_a_forked_child_stops_on_sigterm_not_with_the_supervisors_handler() -> None:
    # given a forked child of a supervisor whose own SIGTERM handler only sets a flag
    supervisor = Supervisor({"sleeper": _sleep})
    child = supervisor.children["sleeper"]
    supervisor.start(child)
    assert child.proc is not None
    time.sleep(0.5)
    # when it gets SIGTERM
    child.proc.send_signal(signal.SIGTERM)
    # then it ends by that signal, as a fresh process would
    assert child.proc.wait(timeout=30) == -signal.SIGTERM


def _send_complaint(port: int, email: str) -> int:
    """The public form, posted as a browser does (its CSRF cookie and token)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    html = opener.open(f"{base}/complain/", timeout=30).read().decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None
    form = {
        "csrfmiddlewaretoken": found.group(1),
        "kind": "complaint",
        "text": "The blender stopped working after two days.",
        "name": "Carla Customer",
        "email": email,
        "website": "",
    }
    with opener.open(f"{base}/complain/", urllib.parse.urlencode(form).encode(), timeout=60) as r:
        return int(r.status)


def _api_request(
    port: int, path: str, body: dict[str, Any] | None = None, **headers: str
) -> tuple[int, Any, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return int(r.status), r.headers, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return int(error.code), error.headers, json.loads(error.read())


def _check_the_api(port: int, email: str) -> None:
    """The API through the real server, under its own middleware (cherish.core.handlers):
    the security headers of every page, English whatever the client asks, no session or
    CSRF cookie, and a case created by key."""
    # a request without a key, from a German client: refused, with the pages' headers, in
    # the API's one language (English, and said so: core.middleware.ApiLanguageMiddleware)
    status, headers, body = _api_request(port, "/api/v1/cases", **{"Accept-Language": "de"})
    assert status == 401
    assert body["code"] == "not_authenticated"
    assert body["detail"].startswith("Send a valid, unrevoked API key")
    assert headers["Content-Language"] == "en"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == CSP
    assert headers.get("Set-Cookie") is None
    # a complaint sent with a key: its case, and still no cookie
    _, key = create_api_key("shop backend", scopes=["cases:create"])
    status, headers, body = _api_request(
        port,
        "/api/v1/cases",
        {"customer": {"name": "Api Customer", "email": email}, "text": "My order never came."},
        Authorization=f"Bearer {key}",
        **{"Idempotency-Key": f"serve-{email}"},
    )
    assert status == 201, body
    assert Case.objects.filter(reference=body["reference"], channel="api").exists()
    assert headers.get("Set-Cookie") is None
    assert headers["Content-Security-Policy"] == CSP


def test_customer_links_follow_the_bound_port_when_site_url_is_unset(
    transactional_db: Any, tmp_path: Path
) -> None:
    # given Cherish served on another port than 8000, CHERISH_SITE_URL unset
    port = free_port()
    env = processes.cherish_env(tmp_path, LOG_LEVEL="INFO")
    assert "CHERISH_SITE_URL" not in env
    log = tmp_path / "serve.log"
    serve = processes.start(
        ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-smtp", "--no-migrate"],
        env,
        log,
    )
    try:
        processes.wait_for(lambda: _healthy(port), timeout=90, what="the web server")
        # when a customer sends a complaint through the form
        assert _send_complaint(port, "carla@example.com") == 200
        # then the acknowledgement links to this server, on its port
        ack = processes.wait_for(
            lambda: OutgoingEmail.objects.filter(to_address="carla@example.com").first(),
            timeout=120,
            what="the acknowledgement",
        )
    finally:
        processes.stop(serve, timeout=60)
    assert f"http://127.0.0.1:{port}/c/" in ack.text_body
    assert f"Links to customers use http://127.0.0.1:{port}" in log.read_text()


@pytest.mark.parametrize(
    ("server", "access_log"), [("granian", False), ("granian", True), ("gunicorn", True)]
)
def test_either_web_server_takes_a_complaint_logs_it_and_stops_on_sigterm(
    transactional_db: Any, tmp_path: Path, server: str, access_log: bool
) -> None:
    # given Cherish served by granian (the default) or gunicorn, with or without its access
    # log (off by default: the reverse proxy's has every request)
    port = free_port()
    env = processes.cherish_env(tmp_path, LOG_LEVEL="INFO")
    if access_log:
        env["CHERISH_ACCESS_LOG"] = "1"
    log = tmp_path / "serve.log"
    args = ["serve", "--bind", f"127.0.0.1:{port}", "--no-worker", "--no-smtp", "--no-migrate"]
    if server != "granian":
        args += ["--server", server]
    serve = processes.start(args, env, log)
    try:
        processes.wait_for(lambda: _healthy(port), timeout=90, what="the web server")
        web = _pid_of(serve.pid, "cherish-web")
        assert web is not None
        # when a customer sends a complaint through the form (CSRF cookie and token)
        status = _send_complaint(port, f"{server}@example.com")
        # then the thank-you page answers, the case is stored, and the web server wrote an
        # access line for the post if asked to
        assert status == 200
        case = processes.wait_for(
            lambda: Case.objects.filter(
                customer__contact_points__value=f"{server}@example.com"
            ).first(),
            timeout=30,
            what="the case",
        )
        assert case.channel == "web"
        # and the API answers through the same server
        _check_the_api(port, f"api-{server}-{int(access_log)}@example.com")
        if access_log:
            processes.wait_for(
                lambda: re.search(r'"POST /complain/ HTTP/1.1" 302', log.read_text()),
                timeout=10,
                what="the access line",
            )
        # and the web processes are children of the web server's process (the workers that
        # the fault suite kills)
        assert _children(web), "the web server forked no worker"
    finally:
        code = processes.stop(serve, timeout=60)
    # and SIGTERM stops it cleanly; it was the server asked for
    assert code == 0
    assert not _healthy(port)
    assert f"Starting {server}" in log.read_text()
    if not access_log:
        assert "POST /complain/" not in log.read_text()


@pytest.mark.parametrize(
    ("bind", "url", "warns"),
    [
        ("127.0.0.1:8300", "http://127.0.0.1:8300", False),
        ("care.example.com:80", "http://care.example.com", False),
        ("[::1]:8301", "http://[::1]:8301", False),
        ("0.0.0.0:8302", f"http://{socket.getfqdn()}:8302", True),
        ("unix:/run/cherish.sock", None, True),
    ],
)
def test_the_site_address_is_derived_from_bind_or_warned_about(
    bind: str, url: str | None, warns: bool
) -> None:
    derived, warning = site_url_for(bind)
    assert derived == url
    assert (warning is not None) == warns
    if warning:
        assert "Set CHERISH_SITE_URL" in warning
