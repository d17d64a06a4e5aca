"""gunicorn's threaded worker, with its event loop kept free: ``cherish serve``'s web worker.

gunicorn 27's ``gthread`` worker runs one event loop per process (accept, hand a connection
to a thread, take it back) and closes a finished ``Connection: close`` connection there,
gracefully (RFC 9112 section 9.6, ``gunicorn.util.close_graceful``): it half-closes the
socket, then *blocks* reading until the client closes its side too, up to 2 s. While it
waits, that process accepts nothing and hands no finished request back: every other
connection waits with it. Under the public form's load (one connection per complaint) the
loop spent most of its time there; a profile of a bare WSGI app under gunicorn found 44 % of
the worker's samples in that one blocking read.

``ThreadWorker`` closes the same way, without the wait: the socket is half-closed at once and
put back in the event loop; what the client still sends is drained as it arrives, and the
socket is closed when the client closes (or after ``LINGER_S``, or once ``LINGER_MAX_BYTES``
were drained), exactly the bytes and the order of the graceful close, with nobody blocked.

Two smaller costs of the loop go too: a new connection whose request has already arrived
skips the temporary selector gunicorn opens for every connection to wait for it (an epoll
instance created and closed per request), and the liveness heartbeat to the arbiter (a
``fchmod`` of a temporary file) is written at most every ``NOTIFY_EVERY_S`` instead of on
every turn of the loop; the arbiter's timeout is 30 s.

Everything else (keep-alive, pending connections, graceful shutdown, HTTP/2, TLS) is the
parent's.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import selectors
import socket
import time
import traceback
from collections import deque
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

from gunicorn import glogging, util
from gunicorn.workers import gthread

from cherish.core import malloc

# How long a half-closed socket waits for the client to close its side (as close_graceful).
LINGER_S = 2.0
# Bytes drained from a closing socket before it is closed anyway (as close_graceful).
LINGER_MAX_BYTES = 65536
# The arbiter kills a worker silent for --timeout (30 s): a heartbeat a second is plenty.
NOTIFY_EVERY_S = 1.0


class _Conn(gthread.TConn):  # type: ignore[misc]
    sock: socket.socket
    data_ready: bool
    drained = 0
    linger_until = 0.0

    def wait_for_data(self, timeout: float) -> bool:
        if not self.data_ready:
            try:
                if self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                    self.data_ready = True
                    return True
            except (BlockingIOError, InterruptedError, ValueError):
                pass  # nothing yet (or a socket that cannot peek): wait as gunicorn does
            except OSError:
                return False
        return bool(super().wait_for_data(timeout))


class ThreadWorker(gthread.ThreadWorker):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lingering: deque[_Conn] = deque()
        self._notified_at = 0.0

    def notify(self) -> None:
        at = time.monotonic()
        if at - self._notified_at >= NOTIFY_EVERY_S:
            self._notified_at = at
            super().notify()
            # The pages malloc holds free go back to the kernel once a second (core.malloc).
            malloc.trim()

    def accept(self, listener: socket.socket) -> None:
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            client_sock.setblocking(True)
            conn = _Conn(self.cfg, client_sock, client_addr, listener.getsockname())
            self.enqueue_req(conn)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise

    def finish_request(self, conn: _Conn, fs: Future[Any]) -> None:
        closing = False
        if not fs.cancelled() and fs.exception() is None:
            result = fs.result()
            closing = not result and result is not gthread._DEFER
        if not closing:
            super().finish_request(conn, fs)
            return
        self.nr_conns -= 1
        self._close_gracefully(conn)

    def _close_gracefully(self, conn: _Conn) -> None:
        """close_graceful without blocking: half-close now, drain and close when the client
        has closed its side (or the linger is over)."""
        sock = conn.sock
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
        except OSError:
            util.close(sock)
            return
        if self._drain(conn):
            util.close(sock)
            return
        conn.linger_until = time.monotonic() + LINGER_S
        try:
            self.poller.register(sock, selectors.EVENT_READ, partial(self._on_readable, conn))
        except (OSError, ValueError, KeyError):
            util.close(sock)
            return
        self.lingering.append(conn)

    @staticmethod
    def _drain(conn: _Conn) -> bool:
        """Read what the client sent; True when the socket can be closed now."""
        while conn.drained < LINGER_MAX_BYTES:
            try:
                data = conn.sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                return True
            if not data:
                return True
            conn.drained += len(data)
        return True

    def _on_readable(self, conn: _Conn, sock: socket.socket) -> None:
        if self._drain(conn):
            self._unlinger(conn)
            self.lingering.remove(conn)

    def _unlinger(self, conn: _Conn) -> None:
        with contextlib.suppress(OSError, KeyError, ValueError):
            self.poller.unregister(conn.sock)
        util.close(conn.sock)

    def murder_pending(self) -> None:
        super().murder_pending()
        at = time.monotonic()
        while self.lingering and self.lingering[0].linger_until <= at:
            self._unlinger(self.lingering.popleft())

    def run(self) -> None:
        super().run()
        while self.lingering:
            self._unlinger(self.lingering.popleft())


class AccessLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger, with its access line in the default format written without
    building every atom: gunicorn's ``atoms`` fills a dict with ~20 entries plus one per
    request header, response header and WSGI environ key (then copies it to escape quotes)
    for the nine the default format uses, about 8 % of a web worker's Python time under
    the public form's load (py-spy, 2026-12-02, issue #14). The same bytes (tests/core:
    ``test_the_access_line_is_gunicorns``); any other ``access_log_format`` is gunicorn's."""

    _stamp = (0, "")

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if self.cfg.access_log_format != DEFAULT_ACCESS_FORMAT:
            super().access(resp, req, environ, request_time)
            return
        if not self.access_log_enabled:
            return
        try:
            self.access_log.info(self.access_line(resp, environ))
        except Exception:
            self.error(traceback.format_exc())

    def access_line(self, resp: Any, environ: dict[str, Any]) -> str:
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        return (
            f"{_safe(environ.get('REMOTE_ADDR', '-'))} - {_safe(self._get_user(environ) or '-')}"
            f" {self.now()}"
            f' "{_safe(environ["REQUEST_METHOD"])} {_safe(environ["RAW_URI"])}'
            f' {_safe(environ["SERVER_PROTOCOL"])}" {_safe(status)}'
            f" {(sent is not None and str(sent)) or '-'}"
            f' "{_safe(environ.get("HTTP_REFERER", "-"))}"'
            f' "{_safe(environ.get("HTTP_USER_AGENT", "-"))}"'
        )

    def now(self) -> str:
        """As gunicorn's, formatted once a second."""
        second = int(time.time())
        stamp = self._stamp
        if stamp[0] != second:
            stamp = self._stamp = (second, super().now())
        return stamp[1]


DEFAULT_ACCESS_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'


def _safe(value: Any) -> Any:
    """As gunicorn's SafeAtoms: a quote in a value is escaped (a client cannot end a field)."""
    return value.replace('"', '\\"') if isinstance(value, str) else value


def serve_wsgi(application: Any, options: dict[str, Any]) -> None:
    """Run gunicorn's arbiter in this process over ``application``, loaded already: with
    ``preload_app`` its workers are forked from this copy and import nothing themselves."""
    from gunicorn.app.base import BaseApplication

    class Preloaded(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    Preloaded().run()


def serve_granian(bind: str, *, workers: int, threads: int, access_log: bool = False) -> None:
    """Run granian in this process: ``workers`` processes forked from it (the application
    is imported already, so each only looks it up), each running Cherish's WSGI application
    in ``threads`` threads; with ``access_log`` a line per request (granian's format).

    Why granian rather than gunicorn (``cherish serve --server gunicorn`` still runs
    gunicorn): granian reads, parses and writes HTTP in Rust, outside Python's interpreter
    lock, where gunicorn does all of it in Python under that lock, and on SQLite one web
    process carries every request. With the public form at 8 clients on the 2-core
    benchmark machine it took 19 % more complaints a second (bench/README.md, 2026-12-03,
    issue #14). A worker that dies is started again; one that dies again within seconds
    stops granian, and ``cherish serve``'s supervisor starts the web server anew. SIGTERM
    stops it gracefully within 20 s. ``bind`` is ``HOST:PORT``, ``HOST`` (port 8000) or
    ``unix:PATH``, as for gunicorn.
    """
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import logger as granian_logger

    where: dict[str, Any]
    if bind.startswith("unix:"):
        where = {"uds": Path(bind.removeprefix("unix:"))}
    elif bind.startswith("fd://"):
        raise ValueError(f"--bind {bind}: granian listens on HOST:PORT or unix:PATH only")
    else:
        host, _, port = bind.rpartition(":")
        if not host or host.endswith(":"):  # "HOST" alone, or an IPv6 address without a port
            host, port = bind, "8000"
        where = {"address": host.strip("[]") or "127.0.0.1", "port": int(port)}
    # Eight threads on two cores is on purpose: they wait for the disk and for the intake
    # applier far more than they compute. granian warns about it at every start.
    granian_logger.addFilter(lambda record: "quite high" not in record.getMessage())
    Granian(
        "cherish.wsgi:application",
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        runtime_threads=1,
        websockets=False,
        log_access=access_log,
        respawn_failed_workers=True,
        workers_kill_timeout=20,
        **where,
    ).serve()


def settle() -> None:
    """Ready a web worker for its requests: load every page and the API now (Django loads
    the URLconf, and with it every view module, on the first request), then move everything
    loaded so far out of the cyclic garbage collector's way (``gc.freeze``).

    Those objects live as long as the process; without the freeze each full collection
    walked all of them again: 3 full collections per worker in 1,300 form complaints,
    75-85 ms each with the GIL held, and 4 % of the worker's CPU in the collector. Frozen,
    no full collection ran in the same load and the collector took 1 % of the CPU.

    Also compiled now: Django's email address patterns, which every complaint's address
    goes through and which compile on first use (about 20 ms, case-insensitive over the
    whole of Unicode), in the first customer's request and again in the intake applier
    process (forked from this one, as the web workers are).
    """
    from django.urls import get_resolver

    from cherish.core.emailaddress import normalise_address

    get_resolver().url_patterns  # noqa: B018 - imports every view module
    normalise_address("settle@example.com")
    gc.collect()
    gc.freeze()
