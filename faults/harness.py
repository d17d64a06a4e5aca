"""The parts a fault run is made of: a real Cherish, real clients, a real SMTP sink.

- ``Sink``: an SMTP server (aiosmtpd) that keeps every message Cherish sends, by Message-ID;
  stop() and start() make a real outage on the same port.
- ``Cherish``: one installation in its own data directory, run as ``cherish serve`` (the
  production entry point) with its children; helpers find and kill those children, or the
  whole process tree, and read the database directly.
- ``Load``: client threads sending complaints by the API (with an Idempotency-Key), the
  public form and SMTP, each retried until it is acknowledged: 201, a redirect to the
  thank-you page, or 250.
- ``Outcome``: what the database and the sink say afterwards, per complaint.

Only 127.0.0.1 and ports 8300-8399 are used (CHERISH_FAULTS_PORTS=FIRST-LAST changes them).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SECRET = "fault-suite-secret-key-not-for-production-0123456789abcdef"
INBOUND = "care@cherish.example.com"


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_range() -> tuple[int, int]:
    first, _, last = os.environ.get("CHERISH_FAULTS_PORTS", "8300-8399").partition("-")
    return int(first), int(last or first)


class Ports:
    """Hands out ports (8300-8399 unless CHERISH_FAULTS_PORTS says otherwise) that nothing
    is listening on."""

    def __init__(self, first: int | None = None, last: int | None = None) -> None:
        default_first, default_last = _port_range()
        first = default_first if first is None else first
        last = default_last if last is None else last
        self.next = first
        self.last = last
        self.lock = threading.Lock()

    def take(self) -> int:
        with self.lock:
            while self.next <= self.last:
                port = self.next
                self.next += 1
                if port_free(port):
                    return port
        raise RuntimeError(f"no free port left up to {self.last}")


PORTS = Ports()


# ----------------------------------------------------------------------------- the sink


class Sink:
    """A real SMTP server that records every message it accepts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.lock = threading.Lock()
        self.received: list[tuple[str, str, float]] = []  # (message_id, to, monotonic time)
        self.controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        parsed = message_from_bytes(content, policy=policy.default)
        with self.lock:
            self.received.append(
                (str(parsed["Message-ID"] or ""), str(parsed["To"] or "").lower(), time.monotonic())
            )
        return "250 OK"

    def start(self) -> None:
        import logging

        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def snapshot(self) -> list[tuple[str, str, float]]:
        with self.lock:
            return list(self.received)


# ----------------------------------------------------------------------------- processes


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def descendants(pid: int) -> list[int]:
    result = []
    for child in children(pid):
        result.append(child)
        result += descendants(child)
    return result


def role(pid: int) -> str:
    """What a process of ``cherish serve``'s tree is: the name its supervisor gave it after
    forking (/proc/<pid>/comm: ``cherish-web`` for the web server and its workers,
    ``cherish-worker1``, ``cherish-tick``, ``cherish-smtpd``); their command line is the
    parent's."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def kill(pids: Iterable[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


# ----------------------------------------------------------------------------- databases


class Db:
    """Plain SQL on the installation's database, from outside the service."""

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def path(self) -> str:
        return self.url.removeprefix("sqlite:///")

    def connect(self) -> Any:
        if self.is_sqlite:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            return db
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=5)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if not self.is_sqlite:
            sql = sql.replace("?", "%s")
        db = self.connect()
        try:
            return list(db.execute(sql, params).fetchall())
        finally:
            db.close()

    def integrity(self) -> str:
        if not self.is_sqlite:
            return "ok" if self.rows("SELECT 1") == [(1,)] else "unreachable"
        db = sqlite3.connect(self.path, timeout=30)
        try:
            return str(db.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            db.close()


# ----------------------------------------------------------------------------- Cherish


@dataclass(eq=False)
class Cherish:
    """One installation under test, run by ``cherish serve``."""

    name: str
    base: Path
    sink: Sink
    # None: `cherish serve`'s own layout (on SQLite one process of 8 threads, since 6c5de0a),
    # as an installation runs it unless told otherwise.
    web_workers: int | None = None
    task_workers: int = 1
    env_extra: dict[str, str] = field(default_factory=dict)
    # Start `cherish serve` (and so every child and restart) at this niceness.
    nice: int = 0
    data_dir: Path | None = None
    port: int = 0
    smtp_port: int = 0
    serve: subprocess.Popen[bytes] | None = None
    api_key: str = ""
    starts: int = 0

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir or self.base / self.name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or PORTS.take()
        self.smtp_port = self.smtp_port or PORTS.take()
        self.log_path = self.base / f"{self.name}.log"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHERISH_")}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.update(
            CHERISH_DATA_DIR=str(self.data_dir),
            CHERISH_SECRET_KEY=SECRET,
            CHERISH_EMAIL_URL=self.sink.url,
            CHERISH_SMTP_PORT=str(self.smtp_port),
            CHERISH_INBOUND_ADDRESSES=INBOUND,
            CHERISH_FROM_EMAIL=INBOUND,
            CHERISH_SITE_URL=f"http://127.0.0.1:{self.port}",
            CHERISH_PUBLIC_RATE_LIMIT="100000000",
            CHERISH_LOG_LEVEL="WARNING",
        )
        env.update(self.env_extra)
        return env

    @property
    def db(self) -> Db:
        url = self.env.get("CHERISH_DATABASE_URL") or f"sqlite:///{self.data_dir}/cherish.sqlite3"
        return Db(url)

    def cherish(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [PYTHON, "-m", "cherish", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode:
            raise RuntimeError(f"cherish {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def setup(self) -> None:
        """Schema, a team with two agents who take cases, an API key and the static files,
        in one process: four commands cost four Django start-ups (over a second of CPU
        each), and every later ``cherish serve`` of a copy skips ``collectstatic`` (its
        stamp is copied with the files). The system checks run once, when ``cherish
        serve`` starts."""
        out = self.cherish("shell", "-c", SETUP, timeout=1200)
        self.api_key = out.rsplit("API-KEY:", 1)[1].split()[0]

    def copy_static_from(self, other: Cherish) -> None:
        """The collected static files and their stamp (core.startup), from an installation
        set up before: ``cherish serve`` then finds nothing to collect."""
        assert self.data_dir is not None and other.data_dir is not None
        with contextlib.suppress(FileNotFoundError):
            shutil.copytree(other.data_dir / "static", self.data_dir / "static", dirs_exist_ok=True)
            shutil.copy2(other.data_dir / ".static.stamp", self.data_dir / ".static.stamp")

    def start(self, *, migrate: bool = False) -> None:
        args = [
            PYTHON,
            "-m",
            "cherish",
            "serve",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--task-workers",
            str(self.task_workers),
        ]
        if self.web_workers is not None:
            args += ["--workers", str(self.web_workers)]
        if not migrate:
            args.append("--no-migrate")
        with open(self.log_path, "ab") as out:
            self.serve = subprocess.Popen(
                args,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=(lambda: os.nice(self.nice)) if self.nice else None,
            )
        self.starts += 1
        RUNNING.add(self)
        if STOPPING.is_set():  # stop_all ran while this one was starting
            self.kill_tree()
            raise RuntimeError("the fault suite is stopping")
        # Generous: on a loaded machine (two cores at load 20) a start took over two minutes.
        wait_for(self.healthy, 300, f"{self.name} to answer")
        wait_for(lambda: self.child("cherish-smtpd"), 120, f"{self.name}'s mail listener")
        wait_for(lambda: smtp_ready(self.smtp_port), 120, f"{self.name}'s SMTP port")

    def healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def child(self, name: str) -> int | None:
        """The child of ``cherish serve`` whose process name starts with ``name``."""
        if self.serve is None:
            return None
        return next((c for c in children(self.serve.pid) if role(c).startswith(name)), None)

    def web_worker_pids(self) -> list[int]:
        master = self.child("cherish-web")
        return children(master) if master else []

    def applier_pids(self) -> list[int]:
        """The intake applier process (``cherish-applier``: adds the public form's stored
        complaints to their cases)."""
        if self.serve is None:
            return []
        return [c for c in children(self.serve.pid) if role(c) == "cherish-applier"]

    def task_worker_pids(self) -> list[int]:
        if self.serve is None:
            return []
        return [c for c in children(self.serve.pid) if role(c).startswith("cherish-worker")]

    def kill_tree(self) -> None:
        """Everything at once, as a power cut or the OOM killer taking the lot would."""
        if self.serve is None:
            return
        pids = [self.serve.pid, *descendants(self.serve.pid)]
        kill(pids)
        self.serve.wait()
        RUNNING.discard(self)
        for pid in pids:
            wait_for(lambda p=pid: not Path(f"/proc/{p}").exists(), 30, f"pid {pid} to go")
        self.serve = None

    def stop(self) -> None:
        if self.serve is None:
            return
        self.serve.send_signal(signal.SIGTERM)
        try:
            self.serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill_tree()
        RUNNING.discard(self)
        self.serve = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# Installations whose ``cherish serve`` is running: stopped by ``stop_all`` when the suite
# itself is stopped (CI ends it if the tests fail first).
RUNNING: set[Cherish] = set()
STOPPING = threading.Event()


def stop_all() -> None:
    STOPPING.set()  # a run still going (R3 restarting) starts nothing more
    for target in list(RUNNING):
        with contextlib.suppress(Exception):
            target.kill_tree()


def smtp_ready(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=2) as smtp:
            return smtp.noop()[0] == 250
    except OSError:
        return False


SETUP_SITE = """
from cherish.staff.actions import create_staff
from cherish.staff.models import AssignmentRule, Team
team = Team.objects.create(name="Customer Care")
for kind in ("complaint", "inquiry", "compliment", "suggestion"):
    AssignmentRule.objects.get_or_create(kind=kind, team=team)
for n, name in enumerate(["Alice Agent", "Bob Agent"]):
    create_staff(username=f"agent{n}", password="fault-suite-password-1", display_name=name,
                 email=f"agent{n}@example.com", team=team)
"""

# The whole set-up of an installation in one process: schema, the site, static files (and
# their stamp, so ``cherish serve`` skips collectstatic), an API key printed after a marker.
SETUP = (
    """
import io
from django.core.management import call_command
from cherish.core import startup
call_command("migrate", verbosity=0, skip_checks=True)
call_command("createcachetable", verbosity=0)
"""
    + SETUP_SITE
    + """
call_command("collectstatic", interactive=False, verbosity=0)
startup.remember_static()
out = io.StringIO()
call_command(
    "createapikey", "faults-setup", skip_checks=True, stdout=out,
    scope=["cases:create,cases:read,cases:write,customers:read,customers:write"],
)
print("API-KEY:" + out.getvalue().strip())
"""
)


# ----------------------------------------------------------------------------- clients


TEXTS = [
    "My parcel arrived with the lid smashed and the contents soaked. Order {n}.",
    "I was charged twice for the same order {n} and nobody answers the phone.",
    "The engineer never came on Tuesday although I took the day off for it ({n}).",
    "The heater you sold me (order {n}) stopped working after a week. I want it fixed.",
]


@dataclass
class Attempt:
    status: int  # 0 when no answer came (refused, reset, timed out)
    seconds: float


@dataclass
class Complaint:
    n: int
    channel: str
    email: str
    key: str
    acknowledged_at: float | None = None
    attempts: list[Attempt] = field(default_factory=list)


class Load:
    """Send ``n`` complaints over ``channels`` from ``threads`` clients, retrying each until
    it is acknowledged; ``rate`` (per second) paces the starts when given."""

    def __init__(
        self,
        target: Cherish,
        run: str,
        n: int,
        *,
        channels: tuple[str, ...] = ("api", "form", "smtp"),
        threads: int = 8,
        rate: float | None = None,
        smtp_ports: list[int] | None = None,
        give_up_s: float = 1200,
        until_s: float | None = None,
        nice: int = 0,
    ) -> None:
        self.target = target
        # Lower CPU priority for these client threads (Linux: per thread), as for the
        # installation they load (Cherish.nice).
        self.nice = nice
        self.run = run
        self.rate = rate
        self.smtp_ports = smtp_ports or [target.smtp_port]
        self.give_up_s = give_up_s
        # Offered for this long: a complaint not started by then is not sent (and not counted).
        self.until_s = until_s
        self.complaints = [
            Complaint(
                n=i,
                channel=channels[i % len(channels)],
                email=f"{run}.{i}@example.com",
                key=f"{run}-{i}",
            )
            for i in range(n)
        ]
        self.next = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(threads)]
        self.started = 0.0
        self.finished = 0.0

    # -- running

    def start(self) -> Load:
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def join(self) -> Load:
        for thread in self.threads:
            thread.join()
        self.finished = time.monotonic()
        return self

    def sent(self) -> int:
        """Complaints a client started on (all of them, unless ``until_s`` ended the load)."""
        return self.next

    def acknowledged(self) -> int:
        return sum(1 for c in self.complaints if c.acknowledged_at is not None)

    def _take(self) -> Complaint | None:
        with self.lock:
            if self.next >= len(self.complaints):
                return None
            if self.until_s is not None and time.monotonic() - self.started > self.until_s:
                return None
            complaint = self.complaints[self.next]
            self.next += 1
        if self.rate:
            due = self.started + complaint.n / self.rate
            time.sleep(max(0.0, due - time.monotonic()))
        return complaint

    def _client(self) -> None:
        if self.nice:
            os.setpriority(os.PRIO_PROCESS, 0, self.nice)  # 0: this thread, on Linux
        web = WebClient(self.target)
        while (complaint := self._take()) is not None:
            deadline = time.monotonic() + self.give_up_s
            pause = 0.1
            while complaint.acknowledged_at is None and time.monotonic() < deadline:
                began = time.monotonic()
                try:
                    if complaint.channel == "api":
                        status = web.post_api(complaint)
                    elif complaint.channel == "form":
                        status = web.post_form(complaint)
                    else:
                        status = send_smtp(random.choice(self.smtp_ports), complaint)
                except (OSError, http.client.HTTPException, smtplib.SMTPException):
                    status = 0
                    web.reset()
                complaint.attempts.append(Attempt(status, time.monotonic() - began))
                if status in (201, 302, 250):
                    complaint.acknowledged_at = time.monotonic()
                else:
                    time.sleep(pause * (0.5 + random.random()))
                    pause = min(2.0, pause * 2)

    # -- figures

    def statuses(self) -> Counter[int]:
        return Counter(a.status for c in self.complaints for a in c.attempts)

    def p99(self) -> float:
        times = sorted(
            a.seconds for c in self.complaints for a in c.attempts if a.status in (201, 302, 250)
        )
        return times[min(len(times) - 1, int(len(times) * 0.99))] if times else 0.0


class WebClient:
    """One keep-alive HTTP connection, as a browser or an integration would hold."""

    def __init__(self, target: Cherish) -> None:
        self.target = target
        self.conn: http.client.HTTPConnection | None = None
        self.csrf = ""
        self.cookie = ""

    def reset(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.csrf = ""

    def _conn(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.target.port, timeout=60)
        return self.conn

    def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> http.client.HTTPResponse:
        conn = self._conn()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.reset()
        return response

    def post_api(self, complaint: Complaint) -> int:
        text = TEXTS[complaint.n % len(TEXTS)].format(n=complaint.key)
        body = json.dumps(
            {
                "customer": {"name": f"Customer {complaint.n}", "email": complaint.email},
                "text": text,
                "subject": f"Complaint {complaint.key}",
            }
        ).encode()
        response = self._request(
            "POST",
            "/api/v1/cases",
            body,
            {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.target.api_key}",
                "Idempotency-Key": complaint.key,
            },
        )
        return response.status

    def post_form(self, complaint: Complaint) -> int:
        if not self.csrf:
            conn = self._conn()
            conn.request("GET", "/complain/")
            page = conn.getresponse()
            html = page.read().decode()
            if page.status != 200:
                return page.status
            cookie = page.getheader("Set-Cookie", "")
            self.cookie = cookie.split(";", 1)[0]
            found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
            self.csrf = found.group(1) if found else ""
        form = {
            "csrfmiddlewaretoken": self.csrf,
            "kind": "complaint",
            "text": TEXTS[complaint.n % len(TEXTS)].format(n=complaint.key),
            "name": f"Customer {complaint.n}",
            "email": complaint.email,
            "phone": "",
            "order_reference": "",
            "website": "",
        }
        response = self._request(
            "POST",
            "/complain/",
            urllib.parse.urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie},
        )
        if response.status == 302 and "/complain/thanks/" not in (
            response.getheader("Location") or ""
        ):
            return 0
        if response.status == 403:
            self.csrf = ""
        return response.status


def send_smtp(port: int, complaint: Complaint) -> int:
    message = EmailMessage()
    message["From"] = f"Customer {complaint.n} <{complaint.email}>"
    message["To"] = INBOUND
    message["Subject"] = f"Complaint {complaint.key}"
    message["Message-ID"] = f"<{complaint.key}@faults.example.com>"
    message["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    message.set_content(TEXTS[complaint.n % len(TEXTS)].format(n=complaint.key))
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        try:
            smtp.send_message(message, from_addr=complaint.email, to_addrs=[INBOUND])
        except smtplib.SMTPResponseException as refused:
            return int(refused.smtp_code)
        except smtplib.SMTPRecipientsRefused:
            return 550
    return 250


# ----------------------------------------------------------------------------- outcome


OUTBOX_OF = (
    "SELECT subject, is_automatic, case_pk, case_message_pk, created_at, status, attempts "
    "FROM outbox_outgoingemail WHERE to_address = ? ORDER BY id"
)


@dataclass
class Outcome:
    """What the database and the sink hold for one run, compared with what clients were told."""

    acknowledged: int
    stored: int
    triaged: int
    ack_emails: int
    missing: int
    duplicated: int
    unanswered: int
    resent: int
    five_xx: int
    p99_s: float
    statuses: dict[int, int]
    last_answer_at: float | None
    jobs_not_done: int
    # Stored and not yet on a case (the intake applier process adds them: it may be restarting).
    queued: int = 0
    # Which complaints were duplicated, and how their client's attempts were answered.
    duplicates: list[str] = field(default_factory=list)
    # Other mail the customers received (survey invitations), by Message-ID.
    other_emails: int = 0

    @classmethod
    def measure(cls, target: Cherish, loads: list[Load], sink: Sink) -> Outcome:
        complaints = [c for load in loads for c in load.complaints]
        emails = {c.email for c in complaints}
        prefixes = sorted({load.run for load in loads})
        cases: dict[str, list[tuple[int, bool]]] = {}
        # The acknowledgements are the automatic messages on cases; other automatic mail (a
        # survey invitation) is not a second answer to the complaint.
        ack_ids: set[str] = set()
        for prefix in prefixes:
            like = f"{prefix}.%@example.com"
            for email, case_id, triaged in target.db.rows(
                "SELECT cp.value, c.id, c.triage IS NOT NULL FROM customers_contactpoint cp "
                "JOIN cases_case c ON c.customer_id = cp.customer_id "
                "WHERE cp.kind = 'email' AND cp.value LIKE ?",
                (like,),
            ):
                cases.setdefault(email, []).append((case_id, bool(triaged)))
            ack_ids.update(
                message_id
                for (message_id,) in target.db.rows(
                    "SELECT message_id FROM outbox_outgoingemail WHERE is_automatic "
                    "AND case_message_pk IS NOT NULL AND to_address LIKE ?",
                    (like,),
                )
            )
        to_customers = [r for r in sink.snapshot() if r[1] in emails]
        received = [r for r in to_customers if r[0] in ack_ids]
        by_id = Counter(r[0] for r in received)
        sent_to: dict[str, set[str]] = {}
        for message_id, to, _ in received:
            sent_to.setdefault(to, set()).add(message_id)
        acked = [c for c in complaints if c.acknowledged_at is not None]
        stored = [e for e in emails if cases.get(e)]
        jobs = target.db.rows("SELECT count(*) FROM core_job WHERE status != 'done'")[0][0]
        queued = target.db.rows("SELECT count(*) FROM intake_rawcontact WHERE status = 'queued'")[
            0
        ][0] + _in_journal(target)
        statuses = Counter(a.status for c in complaints for a in c.attempts)
        duplicates = [
            f"{c.channel} {c.key}: {len(cases.get(c.email, []))} cases, "
            f"{len(sent_to.get(c.email, ()))} acknowledgements "
            f"{target.db.rows(OUTBOX_OF, (c.email,))}; answers {[a.status for a in c.attempts]}"
            for c in complaints
            if len(cases.get(c.email, [])) > 1 or len(sent_to.get(c.email, ())) > 1
        ]
        return cls(
            acknowledged=len(acked),
            stored=len(stored),
            triaged=sum(1 for e in stored if all(t for _, t in cases[e])),
            ack_emails=len(by_id),
            missing=sum(1 for c in acked if not cases.get(c.email)),
            duplicated=sum(len(cases[e]) - 1 for e in stored)
            + sum(max(0, len(ids) - 1) for ids in sent_to.values()),
            unanswered=sum(1 for e in stored if not sent_to.get(e)),
            resent=sum(count - 1 for count in by_id.values()),
            five_xx=sum(n for status, n in statuses.items() if status >= 500),
            p99_s=max((load.p99() for load in loads), default=0.0),
            statuses=dict(sorted(statuses.items())),
            last_answer_at=max((r[2] for r in received), default=None),
            jobs_not_done=int(jobs),
            queued=int(queued),
            duplicates=duplicates,
            other_emails=len({r[0] for r in to_customers}) - len(by_id),
        )

    def settled(self) -> bool:
        """Every stored complaint is on its case, triaged and answered. A complaint stored
        but not yet on a case (queued: its applier process was killed and is restarting) is
        not settled: before it was counted, a run could end with it "missing"."""
        return (
            self.unanswered == 0
            and self.stored == self.triaged
            and not self.jobs_not_done
            and not self.queued
        )


def _in_journal(target: Cherish) -> int:
    """Complaints stored in the intake journal (SQLite: the public form's, until the applier
    process moves them into the database)."""
    assert target.data_dir is not None
    path = target.data_dir / "intake-journal.sqlite3"
    if not target.db.is_sqlite or not path.exists():
        return 0
    db = sqlite3.connect(path, timeout=30)
    try:
        return int(db.execute("SELECT count(*) FROM entry").fetchone()[0])
    except sqlite3.OperationalError:  # created, its tables not yet
        return 0
    finally:
        db.close()


def wait_until_answered(
    target: Cherish, loads: list[Load], sink: Sink, *, within_s: float
) -> Outcome:
    """Measure until every stored complaint is triaged and answered, or ``within_s`` passes."""
    deadline = time.monotonic() + within_s
    while True:
        outcome = Outcome.measure(target, loads, sink)
        if outcome.settled() or time.monotonic() > deadline:
            return outcome
        time.sleep(2)


def fresh_base(name: str) -> Path:
    """A scratch directory of this run's own: two runs at once (two engineers, CI beside a
    developer) never share data directories."""
    parent = Path(os.environ.get("CHERISH_FAULTS_DIR", "/tmp"))
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"cherish-faults-{name}-", dir=parent))
