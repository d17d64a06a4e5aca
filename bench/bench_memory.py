"""Web worker memory, request by request: anonymous memory (RssAnon) of every gunicorn worker
while each desk page, search, API call and intake path is served.

Starts a real ``cherish serve --no-worker --no-smtp`` (gunicorn, 2 workers x 4 threads by
default) over a data directory, e.g. the one ``bench_desk.py --cases 1000000 --build-only``
built (work on a copy: intake adds cases), logs in as the first agent (a session made in
process, so no login throttle), then sends the requests one at a time while a sampler thread
reads ``/proc/<pid>/status`` of every worker every millisecond. For each scenario it prints
the highest RssAnon any worker reached while one of its requests ran, how far that was above
the worker's RssAnon just before the request (the request's own transient allocation), and
the highest RssAnon after the request finished (what the worker kept).

    cp -r bench/out/desk-1000000 /tmp/mem-1m   # the copy is written to
    .venv/bin/python bench/bench_memory.py --data-dir /tmp/mem-1m --port 9510
    .venv/bin/python bench/bench_memory.py --data-dir /tmp/mem-1m --only "case page" --repeat 20

RssAnon (Python objects, malloc arenas, caches) is the figure issue #14 bounds (<= 120 MiB at
1M cases); RssFile (code and the memory-mapped SQLite file, shared by every process and
dropped by the kernel under pressure) is printed apart. Print ``uptime`` next to any figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

FIELDS = ("RssAnon", "RssFile", "VmHWM")


def status(pid: int) -> dict[str, int]:
    """RssAnon, RssFile and VmHWM of one process in KiB (empty when it is gone)."""
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f.read().decode().splitlines():
                name, _, rest = line.partition(":")
                if name in FIELDS:
                    values[name] = int(rest.split()[0])
    except OSError:
        pass
    return values


def private_and_shared(pid: int) -> tuple[int, int]:
    """(private, shared-dirty) KiB of one process (/proc/<pid>/smaps_rollup). Since ``cherish
    serve`` forks its web workers from the loaded application (preload_app), RssAnon counts
    the pages a worker still shares with ``serve`` and its siblings (copy-on-write) as its own;
    the private part is what the worker alone adds."""
    values = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f.read().decode().splitlines():
                name, _, rest = line.partition(":")
                if name in ("Private_Clean", "Private_Dirty", "Shared_Dirty"):
                    values[name] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return values.get("Private_Clean", 0) + values.get("Private_Dirty", 0), values.get(
        "Shared_Dirty", 0
    )


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in map(int, children):
        found.append(child)
        found.extend(descendants(child))
    return found


def gunicorn_workers(server_pid: int) -> list[int]:
    """The gunicorn workers under ``cherish serve``: the leaves of its process tree."""
    return sorted(pid for pid in descendants(server_pid) if not descendants(pid))


class Sampler(threading.Thread):
    """Reads RssAnon of every watched process every ``interval`` seconds and keeps the
    highest value per process since the last ``reset``."""

    def __init__(self, pids: list[int], interval: float = 0.001) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.peak: dict[int, int] = {}
        self.overall: dict[int, int] = {}
        self.lock = threading.Lock()
        self.running = True
        self.samples = 0

    def reset(self) -> dict[int, int]:
        with self.lock:
            now = {pid: status(pid).get("RssAnon", 0) for pid in self.pids}
            self.peak = dict(now)
        return now

    def read(self) -> dict[int, int]:
        with self.lock:
            return dict(self.peak)

    def run(self) -> None:
        while self.running:
            for pid in self.pids:
                anon = status(pid).get("RssAnon", 0)
                with self.lock:
                    if anon > self.peak.get(pid, 0):
                        self.peak[pid] = anon
                    if anon > self.overall.get(pid, 0):
                        self.overall[pid] = anon
            self.samples += 1
            time.sleep(self.interval)


def configure(data_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "cherish.settings"
    os.environ["CHERISH_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("CHERISH_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["CHERISH_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def credentials() -> tuple[str, str, str]:
    """Session cookies for the first agent and for a manager (the scorecard, the outbox and
    the audit log are theirs; made a manager in this data directory if none is), and an API
    key acting as the agent."""
    from django.test import Client

    from cherish.intake.apikeys import create_api_key
    from cherish.staff.actions import set_role
    from cherish.staff.models import Role, Staff

    agent = Staff.objects.select_related("user").order_by("id").first()
    assert agent is not None, "no staff in this data directory"
    manager = Staff.objects.select_related("user").filter(role=Role.MANAGER).first()
    if manager is None:
        manager = Staff.objects.select_related("user").order_by("-id").first()
        assert manager is not None
        set_role(manager, role=Role.MANAGER, by=None, data_protection=True)
    sessions = []
    for person in (agent, manager):
        client = Client()
        client.force_login(person.user)
        sessions.append(client.cookies["sessionid"].value)
    _, key = create_api_key(f"bench-memory-{os.getpid()}", staff=agent)
    return sessions[0], sessions[1], key


Scenario = tuple[str, str, Callable[[int], tuple[str, str, dict[str, str], str]]]


def scenarios(seed: int, with_intake: bool) -> list[Scenario]:
    """(group, label, i -> (method, path, extra headers, body)) for every page measured."""
    from bench_desk import FIRST, LAST, RARE_WORDS
    from django.db.models import Count

    from cherish.cases.access import visible_cases
    from cherish.cases.models import Case
    from cherish.customers.models import ContactPoint, Customer
    from cherish.staff.models import Staff

    rng = random.Random(seed)
    agent = Staff.objects.order_by("id").first()
    assert agent is not None
    max_id = Case.objects.order_by("-id").values_list("id", flat=True).first() or 1
    refs = list(
        Case.objects.filter(id__in=[rng.randint(1, max_id) for _ in range(50)]).values_list(
            "reference", flat=True
        )
    )
    open_refs = list(
        visible_cases(agent)
        .filter(is_open=True, id__gte=rng.randint(1, max_id // 2))
        .values_list("reference", flat=True)[:50]
    )
    max_customer = Customer.objects.order_by("-id").values_list("id", flat=True).first() or 1
    customer_ids = [rng.randint(1, max_customer) for _ in range(50)]
    # The customer with the most cases among a sample: the heaviest customer page.
    busiest = (
        Case.objects.filter(customer_id__in=customer_ids)
        .values("customer_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("customer_id", flat=True)
        .first()
    )
    emails = list(
        ContactPoint.objects.filter(kind="email", customer_id__in=customer_ids).values_list(
            "value", flat=True
        )
    )
    names = [f"{rng.choice(FIRST)} {rng.choice(LAST)[:3]}" for _ in range(50)]
    words = [rng.choice(["courier", "heater", "invoice", "sofa", *RARE_WORDS]) for _ in range(50)]
    owners = [str(pk) for pk in Staff.objects.order_by("id").values_list("pk", flat=True)]
    newest = Case.objects.order_by("-id").values_list("created_at", flat=True).first()
    assert newest is not None
    month = (
        f"opened_from={(newest - dt.timedelta(days=90)).date()}"
        f"&opened_to={(newest - dt.timedelta(days=60)).date()}"
    )

    def cycle(items: list[str], i: int) -> str:
        return items[i % len(items)] if items else ""

    def get(path: Callable[[int], str]) -> Callable[[int], tuple[str, str, dict[str, str], str]]:
        return lambda i: ("GET", path(i), {}, "")

    def lead(path: Callable[[int], str]) -> Callable[[int], tuple[str, str, dict[str, str], str]]:
        return lambda i: ("GET", path(i), {"X-Bench": "manager"}, "")

    def htmx(path: Callable[[int], str]) -> Callable[[int], tuple[str, str, dict[str, str], str]]:
        return lambda i: ("GET", path(i), {"HX-Request": "true"}, "")

    def api(path: Callable[[int], str]) -> Callable[[int], tuple[str, str, dict[str, str], str]]:
        return lambda i: ("GET", path(i), {"X-Bench": "api"}, "")

    rows: list[Scenario] = []
    views = ["mine", "unassigned", "at_risk", "team", "open", "waiting", "closed"]
    for view in views:
        rows.append(("inbox", f"inbox: {view}", get(lambda i, v=view: f"/desk/?view={v}")))
    for key in ("priority", "customer", "subject", "owner", "opened", "updated"):
        for way in ("", "-"):
            rows.append(
                (
                    "inbox",
                    f"inbox: open, sort {way}{key}",
                    get(lambda i, q=f"{way}{key}": f"/desk/?view=open&sort={q}"),
                )
            )
    for name, query in (
        ("owner", lambda i: f"owner={cycle(owners, i)}"),
        ("unassigned", lambda i: "owner=none"),
        ("team", lambda i: f"team={agent.team_id}"),
        ("topic", lambda i: "topic=billing"),
        ("flag leaving", lambda i: "flag=leaving"),
        ("a month", lambda i: month),
        ("kind", lambda i: "kind=inquiry"),
        ("channel", lambda i: "channel=phone"),
    ):
        rows.append(
            (
                "inbox",
                f"inbox: open, filter {name}",
                get(lambda i, q=query: f"/desk/?view=open&{q(i)}"),
            )
        )
    rows += [
        ("inbox", "inbox: open, page 20", get(lambda i: "/desk/?view=open&page=20")),
        ("inbox", "inbox: open, page 2000", get(lambda i: "/desk/?view=open&page=2000")),
        ("inbox", "inbox: news", get(lambda i: "/desk/inbox/news/")),
        ("search", "search: reference", get(lambda i: f"/desk/?q={cycle(refs, i)[3:].lower()}")),
        ("search", "search: email", get(lambda i: f"/desk/?q={cycle(emails, i)}")),
        (
            "search",
            "search: customer name",
            get(lambda i: f"/desk/?q={urllib.parse.quote_plus(cycle(names, i))}"),
        ),
        ("search", "search: word in messages", get(lambda i: f"/desk/?q={cycle(words, i)}")),
        ("search", "search: common word", get(lambda i: "/desk/?q=courier")),
        ("case", "case page", get(lambda i: f"/desk/cases/{cycle(open_refs, i)}/")),
        ("case", "case page, manager", lead(lambda i: f"/desk/cases/{cycle(refs, i)}/")),
        (
            "case",
            "case page, timeline 2",
            get(lambda i: f"/desk/cases/{cycle(open_refs, i)}/?timeline=2"),
        ),
        (
            "case",
            "case page, handover + macros",
            get(lambda i: f"/desk/cases/{cycle(open_refs, i)}/?handover=1&macros=1"),
        ),
        (
            "case",
            "case timeline (HTMX)",
            htmx(lambda i: f"/desk/cases/{cycle(open_refs, i)}/timeline/?page=2"),
        ),
        (
            "case",
            "case handover (HTMX)",
            htmx(lambda i: f"/desk/cases/{cycle(open_refs, i)}/handover/"),
        ),
        (
            "case",
            "case macros (HTMX)",
            htmx(lambda i: f"/desk/cases/{cycle(open_refs, i)}/macros/"),
        ),
        ("case", "case care page", get(lambda i: f"/desk/care/cases/{cycle(open_refs, i)}/")),
        ("customers", "customer list", get(lambda i: "/desk/customers/")),
        (
            "customers",
            "customer page",
            get(lambda i: f"/desk/customers/{customer_ids[i % len(customer_ids)]}/"),
        ),
        ("customers", "customer page, busiest", get(lambda i: f"/desk/customers/{busiest}/")),
        ("customers", "duplicates", get(lambda i: "/desk/customers/duplicates/")),
        ("customers", "leave reasons", get(lambda i: "/desk/customers/leave-reasons/")),
        ("customers", "moments", get(lambda i: "/desk/moments/")),
        ("customers", "radar", get(lambda i: "/desk/radar/")),
        ("desk", "care due", get(lambda i: "/desk/care/")),
        ("desk", "notifications", get(lambda i: "/desk/notifications/")),
        ("desk", "notification badge", get(lambda i: "/desk/notifications/badge/")),
        ("desk", "outbox", lead(lambda i: "/desk/outbox/")),
        ("desk", "unreadable", get(lambda i: "/desk/unreadable/")),
        ("desk", "log a contact", get(lambda i: "/desk/log-contact/")),
        ("desk", "surveys", get(lambda i: "/desk/surveys/")),
        ("desk", "audit log", lead(lambda i: "/desk/audit/")),
        ("desk", "scorecard", lead(lambda i: "/desk/scorecard/")),
        ("desk", "scorecard, year", lead(lambda i: "/desk/scorecard/?period=year")),
        (
            "desk",
            "scorecard drill CSV",
            lead(lambda i: "/desk/scorecard/cases/?figure=complaints&period=year&format=csv"),
        ),
        ("desk", "inbox, manager", lead(lambda i: "/desk/?view=open")),
        ("desk", "scorecard people", get(lambda i: "/desk/scorecard/people/")),
        ("desk", "people wall", get(lambda i: "/desk/people/")),
        ("desk", "nominations", get(lambda i: "/desk/people/nominations/")),
        ("desk", "pulse", get(lambda i: "/desk/people/pulse/")),
        ("desk", "creed", get(lambda i: "/desk/people/creed/")),
        ("learning", "learning", get(lambda i: "/desk/learning/")),
        ("learning", "reveal", get(lambda i: "/desk/learning/reveal/")),
        ("learning", "policies", get(lambda i: "/desk/learning/policies/")),
        ("learning", "actions", get(lambda i: "/desk/learning/actions/")),
        ("learning", "stories", get(lambda i: "/desk/learning/stories/")),
        ("learning", "weekly", get(lambda i: "/desk/learning/weekly/")),
        ("learning", "you said, we did", get(lambda i: "/you-said-we-did/")),
        ("api", "API: cases", api(lambda i: "/api/v1/cases")),
        ("api", "API: open cases", api(lambda i: "/api/v1/cases?is_open=true")),
        ("api", "API: case", api(lambda i: f"/api/v1/cases/{cycle(refs, i)}")),
        ("api", "API: case care", api(lambda i: f"/api/v1/cases/{cycle(open_refs, i)}/care")),
        (
            "api",
            "API: customer",
            api(lambda i: f"/api/v1/customers/{customer_ids[i % len(customer_ids)]}"),
        ),
        (
            "api",
            "API: customer by email",
            api(lambda i: f"/api/v1/customers/by-email/{urllib.parse.quote(cycle(emails, i))}"),
        ),
        (
            "api",
            "API: transactions",
            api(
                lambda i: f"/api/v1/transactions?customer_id={customer_ids[i % len(customer_ids)]}"
            ),
        ),
        ("api", "API: survey responses", api(lambda i: "/api/v1/survey-responses")),
        ("api", "API: scorecard", api(lambda i: "/api/v1/scorecard")),
        ("api", "API: themes", api(lambda i: "/api/v1/learning/themes")),
        ("api", "API: openapi.json", api(lambda i: "/api/v1/openapi.json")),
        ("api", "API: docs", api(lambda i: "/api/v1/docs")),
    ]
    if with_intake:
        rows += [
            ("intake", "public form page", get(lambda i: "/complain/")),
            ("intake", "public form POST", lambda i: ("FORM", "/complain/", {}, str(i))),
            ("intake", "API create case", lambda i: ("APICREATE", "/api/v1/cases", {}, str(i))),
        ]
    return rows


class Client:
    def __init__(self, port: int, session: str, manager: str, key: str) -> None:
        self.port = port
        self.session = session
        self.manager = manager
        self.key = key
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.csrf = ""
        self.csrf_field = ""
        self.run = os.getpid()

    def _send(
        self, method: str, path: str, headers: dict[str, str], body: str = ""
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body or None, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt == 2:
                    raise
        raise AssertionError

    def request(self, method: str, path: str, extra: dict[str, str], body: str) -> int:
        cookie = f"sessionid={self.session}"
        if method == "FORM":
            csrf = self.csrf_cookie()
            data = urllib.parse.urlencode(
                {
                    "csrfmiddlewaretoken": self.csrf_field,
                    "text": f"The heater broke after a week. Memory bench {self.run}-{body}.",
                    "name": f"Memory bench {body}",
                    "email": f"mem{self.run}-{body}@example.com",
                    "kind": "complaint",
                    "website": "",
                }
            )
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={csrf}",
                "Referer": f"http://127.0.0.1:{self.port}/complain/",
            }
            return self._send("POST", path, headers, data)[0]
        if method == "APICREATE":
            data = json.dumps(
                {
                    "text": f"My parcel never came. Memory bench {self.run}-{body}.",
                    "customer": {
                        "name": f"API bench {body}",
                        "email": f"api{self.run}-{body}@example.com",
                    },
                }
            )
            headers = {
                "Authorization": f"Bearer {self.key}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"mem-{self.run}-{body}",
            }
            return self._send("POST", path, headers, data)[0]
        if extra.get("X-Bench") == "api":
            return self._send(method, path, {"Authorization": f"Bearer {self.key}"})[0]
        if extra.get("X-Bench") == "manager":
            return self._send(method, path, {"Cookie": f"sessionid={self.manager}"})[0]
        return self._send(method, path, {"Cookie": cookie, **extra})[0]

    def csrf_cookie(self) -> str:
        # The CSRF cookie is the secret behind the form token; a fresh GET sets both.
        if not self.csrf:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            conn.request("GET", "/complain/")
            response = conn.getresponse()
            page = response.read()
            conn.close()
            match = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie", ""))
            field = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            assert match and field, "no CSRF cookie on /complain/"
            self.csrf = match.group(1)
            self.csrf_field = field.group(1).decode()
        return self.csrf


def start_server(data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CHERISH_DATA_DIR": str(data_dir),
        "CHERISH_PUBLIC_RATE_LIMIT": str(10**9),
        "PYTHONPATH": str(ROOT / "src"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = open(data_dir / f"bench-memory-serve-{port}.log", "ab")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cherish",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--no-worker",
            "--no-smtp",
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"cherish serve exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200 and len(gunicorn_workers(server.pid)) >= workers:
                return server
        except OSError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise RuntimeError("cherish serve did not answer within 300 s")


def concurrent(
    args: argparse.Namespace,
    rows: list[Scenario],
    sampler: Sampler,
    session: str,
    manager: str,
    key: str,
) -> None:
    """Every scenario from ``args.concurrency`` clients at once (each its own keep-alive
    connection, so both workers and all their threads serve): the peak under load."""
    before = sampler.reset()
    started = time.perf_counter()
    load = os.getloadavg()[0]
    errors: list[str] = []
    count = [0]

    def client_loop(n: int) -> None:
        client = Client(args.port, session, manager, key)
        order = list(rows)
        random.Random(n).shuffle(order)
        for r in range(args.rounds):
            for _, label, make in order:
                try:
                    client.request(*make(100_000 + n * 1000 + r))
                    count[0] += 1
                except Exception as error:
                    errors.append(f"{label}: {error!r}")

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    peak = sampler.read()
    print(
        f"\n{args.concurrency} clients at once, {count[0]} requests in "
        f"{time.perf_counter() - started:.0f} s (load average {load:.2f} -> "
        f"{os.getloadavg()[0]:.2f}), {len(errors)} errors; RssAnon per worker before -> peak: "
        + ", ".join(f"{before[pid] / 1024:.1f} -> {peak[pid] / 1024:.1f}" for pid in peak)
        + " MiB"
    )
    for error in errors[:5]:
        print("  error:", error)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=9510)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=6, help="requests per scenario")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", default="", help="only scenarios whose label contains this")
    parser.add_argument(
        "--skip", default="", help="leave out scenarios whose label has one of these (a,b,c)"
    )
    parser.add_argument("--no-intake", action="store_true")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="then every scenario again from this many clients at once (0: skip)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="passes of each concurrent client")
    parser.add_argument("--json", type=Path, help="also write every request's figures here")
    args = parser.parse_args()

    configure(args.data_dir.resolve())
    session, manager, key = credentials()
    rows = [
        row
        for row in scenarios(args.seed, with_intake=not args.no_intake)
        if args.only.lower() in row[1].lower()
        and not any(word and word in row[1].lower() for word in args.skip.lower().split(","))
    ]
    from django.db import connection

    connection.close()
    server = start_server(args.data_dir.resolve(), args.port, args.workers)
    try:
        pids = gunicorn_workers(server.pid)
        sampler = Sampler(pids)
        sampler.start()
        client = Client(args.port, session, manager, key)
        # Every worker serves a few requests first (imports, templates, caches warm).
        for _ in range(4 * len(pids)):
            client.request("GET", "/desk/", {}, "")
        started = {pid: status(pid) for pid in pids}
        print(
            f"workers {pids}; RssAnon after warm-up: "
            + ", ".join(f"{v['RssAnon'] / 1024:.1f}" for v in started.values())
            + f" MiB; load average {os.getloadavg()[0]:.2f} at {time.strftime('%H:%M:%S')}\n"
        )
        header = (
            f"{'scenario':34} {'status':>7} {'peak':>7} {'rise':>6} {'after':>7} "
            f"{'CPU ms':>7} {'wall ms':>8}"
        )
        print(header + "   (RssAnon MiB: peak while served, rise over before, kept after)")
        records = []
        for group, label, make in rows:
            peaks, rises, afters, cpus, walls, codes = [], [], [], [], [], set()
            for i in range(args.repeat):
                method, path, extra, body = make(i)
                before = sampler.reset()
                ticks = {pid: cpu_ticks(pid) for pid in pids}
                t = time.perf_counter()
                code = client.request(method, path, extra, body)
                wall = time.perf_counter() - t
                time.sleep(0.005)  # one more sample after the response
                peak = sampler.read()
                after = {pid: status(pid).get("RssAnon", 0) for pid in pids}
                spent = {pid: cpu_ticks(pid) - ticks[pid] for pid in pids}
                codes.add(code)
                peaks.append(max(peak.values()))
                rises.append(max(peak[pid] - before[pid] for pid in pids))
                afters.append(max(after.values()))
                cpus.append(sum(spent.values()) * 1000 / os.sysconf("SC_CLK_TCK"))
                walls.append(wall * 1000)
                records.append(
                    {
                        "group": group,
                        "label": label,
                        "path": path,
                        "method": method,
                        "status": code,
                        "before_kib": before,
                        "peak_kib": peak,
                        "after_kib": after,
                        "wall_ms": wall * 1000,
                    }
                )
            print(
                f"{label:34} {','.join(map(str, sorted(codes))):>7} {max(peaks) / 1024:7.1f} "
                f"{max(rises) / 1024:6.1f} {max(afters) / 1024:7.1f} "
                f"{sorted(cpus)[len(cpus) // 2]:7.0f} {sorted(walls)[len(walls) // 2]:8.1f}",
                flush=True,
            )
        if args.concurrency:
            concurrent(args, rows, sampler, session, manager, key)
        sampler.running = False
        end = {pid: status(pid) for pid in pids}
        print(
            "\nper worker, RssAnon peak seen / at the end, RssFile at the end, VmHWM (MiB): "
            + "; ".join(
                f"{pid}: {sampler.overall.get(pid, 0) / 1024:.1f} / "
                f"{end[pid].get('RssAnon', 0) / 1024:.1f}, "
                f"{end[pid].get('RssFile', 0) / 1024:.1f}, "
                f"{end[pid].get('VmHWM', 0) / 1024:.1f}"
                for pid in pids
            )
        )
        print(
            "per worker at the end, private / shared with serve and its siblings (MiB): "
            + "; ".join(
                f"{pid}: {private / 1024:.1f} / {shared / 1024:.1f}"
                for pid in pids
                for private, shared in [private_and_shared(pid)]
            )
        )
        print(
            f"highest RssAnon of any worker: {max(sampler.overall.values()) / 1024:.1f} MiB "
            f"(one request at a time: "
            f"{max(max(r['peak_kib'].values()) for r in records) / 1024:.1f} MiB); "
            f"{sampler.samples:,} samples; load average {os.getloadavg()[0]:.2f} at "
            f"{time.strftime('%H:%M:%S')}"
        )
        if args.json:
            args.json.write_text(json.dumps(records, indent=1))
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
