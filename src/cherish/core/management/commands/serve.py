"""``cherish serve``: the whole of Cherish on one machine, run by production servers.

Starts the web server (granian, or gunicorn with ``--server gunicorn``), the intake applier,
task workers, the periodic ticker and the inbound mail listener as child processes under a
supervisor (core.supervisor): a child that dies is restarted with backoff while the others
keep serving, and only SIGTERM or SIGINT stops them all. Each piece also runs on its own
(``cherish worker``, ``cherish tick --loop``, ``cherish smtpd``) for the scale-out path and
for systemd (docs/deploy.md).

The children are forked from this process once it has imported Django, the project and the
WSGI application (every page and the API), and the web server forks its workers from that
same copy: nothing is imported twice, so a child or web worker that dies comes back in
milliseconds of CPU, and a whole restart costs one import instead of seven.
"""

from __future__ import annotations

import os
import socket
import sys
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.db import connections

from cherish import env
from cherish.core import startup
from cherish.core.supervisor import Supervisor, Target

WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


def site_url_for(bind: str) -> tuple[str | None, str | None]:
    """The address customer links should use when CHERISH_SITE_URL is unset, from ``--bind``;
    and a warning when that address is only a guess.

    Links in emails and on pages must reach this server: with ``--bind 127.0.0.1:8300`` and
    no CHERISH_SITE_URL they used to say http://127.0.0.1:8000. A specific host is taken as
    it is; a wildcard address (0.0.0.0, ::) gets this machine's name and a warning; a Unix
    socket gives no address at all (behind a proxy only CHERISH_SITE_URL can say it).
    """
    if bind.startswith(("unix:", "fd://")):
        return None, (
            f"CHERISH_SITE_URL is not set and --bind {bind} is not a network address: links "
            f"sent to customers will point at {settings.SITE_URL}. Set CHERISH_SITE_URL to "
            "the address customers use (e.g. https://care.example.com)."
        )
    host, _, port = bind.rpartition(":")
    if not host:
        host, port = port, "8000"
    url_host = host
    warning = None
    if host in WILDCARD_HOSTS:
        url_host = socket.getfqdn()
        warning = (
            f"CHERISH_SITE_URL is not set and --bind {bind} listens on every address: links "
            f"sent to customers will use http://{url_host}:{port}. Set CHERISH_SITE_URL to "
            "the address customers use (e.g. https://care.example.com)."
        )
    elif ":" in host and not host.startswith("["):
        url_host = f"[{host}]"
    url = f"http://{url_host}" if port == "80" else f"http://{url_host}:{port}"
    return url, warning


def web_options(
    bind: str, *, workers: int, threads: int, access_log: bool = False
) -> dict[str, Any]:
    """gunicorn's settings: Cherish's threaded worker (core.webserver: gunicorn's, without
    the event loop waiting for each closing client), ``workers`` processes of ``threads``
    threads, forked from the application already loaded; with ``access_log`` a line per
    request on the standard output."""
    return {
        "bind": [bind],
        "workers": workers,
        "threads": threads,
        "worker_class": "cherish.core.webserver.ThreadWorker",
        "accesslog": "-" if access_log else None,
        "logger_class": "cherish.core.webserver.AccessLogger",
        "graceful_timeout": 20,
        "preload_app": True,
        # gunicorn 27 opens a control socket at one path per user ($HOME/.gunicorn/gunicorn.ctl):
        # every other gunicorn of the same user took it over; the supervisor is the control.
        "control_socket_disable": True,
    }


def web_layout(vendor: str, workers: int | None, threads: int | None) -> tuple[int, int]:
    """(processes, threads per process) of the web server: as given (``--workers``,
    ``--threads``, or CHERISH_WEB_WORKERS / CHERISH_WEB_THREADS), else eight threads in all,
    in one process on SQLite and two on PostgreSQL.

    On SQLite one process of 8 threads: each web process stores its complaints in groups
    (one commit, one fsync a group; the API's are applied there too), and SQLite lets one
    writer in at a time, so two processes took turns at the write lock with groups of at most
    their own 4 requests. One process carries all eight waiting complaints in one turn:
    measured on the 2-core benchmark machine, 28 % less CPU per form or API complaint and
    about half the p95 (bench/README.md, 2026-12-02, issue #14); with the applier process
    beside it (the form's complaints applied there, on the other core) two web processes
    still did worse (230 against 350 form complaints a second). On PostgreSQL, which has no
    single write lock, several processes keep Python on more than one core.
    """
    workers = workers or (1 if vendor == "sqlite" else 2)
    return workers, threads or (8 if workers == 1 else 4)


def before_fork() -> None:
    """Leave nothing a forked child could share with this process or its siblings: a
    database connection (an SQLite handle or a server socket used by two processes at once
    corrupts their conversation) or a cache client's socket."""
    connections.close_all()
    caches.close_all()


def _from_environment(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


class Command(BaseCommand):
    help = "Serve Cherish: web server, task worker and inbound mail listener."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("CHERISH_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers",
            type=int,
            default=_from_environment("CHERISH_WEB_WORKERS"),
            help="Web processes (default: 1 on SQLite, 2 on PostgreSQL; default_web_layout).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=_from_environment("CHERISH_WEB_THREADS"),
            help="Threads per web process (default: 8 with one process, else 4).",
        )
        parser.add_argument(
            "--task-workers",
            type=int,
            default=int(os.environ.get("CHERISH_TASK_WORKERS", "1")),
            help="How many task worker processes to run.",
        )
        parser.add_argument(
            "--access-log",
            action="store_true",
            default=env.get_bool("ACCESS_LOG"),
            help="Write a line per request to the standard output (CHERISH_ACCESS_LOG=1). Off"
            " by default, as granian's and gunicorn's own: behind a reverse proxy its log has"
            " every request, and the line cost the form's web process 7 % of its CPU.",
        )
        parser.add_argument("--no-worker", action="store_true", help="Do not start a task worker.")
        parser.add_argument(
            "--no-smtp", action="store_true", help="Do not start the mail listener."
        )
        parser.add_argument("--no-migrate", action="store_true")
        parser.add_argument(
            "--server",
            choices=["gunicorn", "granian"],
            default=os.environ.get("CHERISH_WEB_SERVER", "granian"),
            help="The web server: granian (the default: HTTP handled outside Python's"
            " interpreter lock, core.webserver.serve_granian) or gunicorn.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_migrate"] and not startup.migrated():
            call_command("migrate", interactive=False, verbosity=0)
            call_command("createcachetable", verbosity=0)
            startup.remember_migrated()
        if not startup.static_collected():
            call_command("collectstatic", interactive=False, verbosity=0)
            startup.remember_static()
        self._site_url(options["bind"])
        # Every page and the API, imported here once for every web worker (cherish.wsgi
        # also moves what it loaded out of the garbage collector's way, gc.freeze, which
        # keeps the forked children from touching, and so copying, those pages of memory).
        from cherish.core.webserver import serve_granian, serve_wsgi
        from cherish.wsgi import application

        workers, threads = web_layout(
            connections["default"].vendor, options["workers"], options["threads"]
        )
        # Commands run in the children skip Django's system checks: this one has run them.
        children: dict[str, Target] = {}
        if options["server"] == "granian":
            children["web"] = partial(
                serve_granian,
                options["bind"],
                workers=workers,
                threads=threads,
                access_log=options["access_log"],
            )
        else:
            web = web_options(
                options["bind"], workers=workers, threads=threads, access_log=options["access_log"]
            )
            children["web"] = partial(serve_wsgi, application, web)
        # The public form's complaints are added to their cases by an applier process of
        # their own, on the other core (intake.applier), unless CHERISH_INTAKE_APPLIER=thread
        # says the web processes apply everything themselves.
        if os.environ.get("CHERISH_INTAKE_APPLIER", "process") == "process":
            os.environ["CHERISH_INTAKE_APPLIER"] = settings.CHERISH_INTAKE_APPLIER = "process"
            children["applier"] = partial(call_command, "apply_intake", loop=True)
            if settings.CHERISH_INTAKE_JOURNAL and connections["default"].vendor == "sqlite":
                # The public form's complaints are stored in the intake journal by a process
                # with one thread: in the web process that thread waited for the interpreter
                # lock behind the request threads (intake.applier.send_to_store).
                children["store"] = partial(call_command, "apply_intake", store=True)
        available = get_commands()
        if not options["no_worker"]:
            for number in range(1, max(1, options["task_workers"]) + 1):
                children[f"worker-{number}"] = partial(call_command, "worker")
            children["tick"] = partial(call_command, "tick", loop=True)
        if not options["no_smtp"] and "smtpd" in available:
            children["smtpd"] = partial(call_command, "smtpd")
        supervisor = Supervisor(children, before_fork=before_fork)
        self.stdout.write(
            f"Cherish is running at http://{options['bind']}/ "
            f"(data in {settings.DATA_DIR}; {', '.join(children)}). Press Ctrl+C to stop."
        )
        self.stdout.flush()
        sys.exit(supervisor.run())

    def _site_url(self, bind: str) -> None:
        """Give the children (which read CHERISH_SITE_URL) the address derived from --bind."""
        if os.environ.get("CHERISH_SITE_URL"):
            return
        url, warning = site_url_for(bind)
        if url is not None:
            os.environ["CHERISH_SITE_URL"] = url
            settings.SITE_URL = url
            self.stdout.write(
                f"Links to customers use {url} (set CHERISH_SITE_URL to the public address)."
            )
        if warning:
            self.stderr.write(f"WARNING: {warning}")
