"""What starting and restarting ``cherish serve`` costs in CPU: the whole tree, one web
worker, one task worker.

Sets up one installation (the fault suite's set-up: schema, a team, an API key, static
files) under bench/out/restart-<pid>/, then ``--starts`` times: starts ``cherish serve``,
waits until it answers on HTTP and SMTP with every child running, and sums the CPU time
(user + system, from /proc) of every process of the tree; kills one gunicorn worker and one
task worker and reads the CPU of their successors once they run; then kills the whole tree
(SIGKILL) as the fault suite's R3 does.

    .venv/bin/python bench/bench_restart.py
    .venv/bin/python bench/bench_restart.py --python /other/.venv/bin/python --src /other/src

``--python``/``--src`` run another checkout's ``cherish serve`` (before/after a change); the
set-up and the measuring are this one's. Print ``uptime`` next to any figure you quote.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faults.harness import (  # noqa: E402 - after the path above
    SETUP,
    Sink,
    children,
    descendants,
    kill,
    smtp_ready,
    wait_for,
)

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def name_of(pid: int) -> str:
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"
    if comm.startswith("cherish-"):
        return comm.removeprefix("cherish-")
    for word in ("gunicorn", "worker", "tick", "smtpd", "serve"):
        if f" {word}" in line:
            return word
    return comm


def healthy(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False


class Tree:
    def __init__(self, args: argparse.Namespace, env: dict[str, str], port: int) -> None:
        self.args = args
        self.env = env
        self.port = port
        self.serve: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start ``cherish serve``; seconds until it answers with every child running."""
        began = time.monotonic()
        with open(self.args.out / "serve.log", "ab") as log:
            self.serve = subprocess.Popen(
                [self.args.python, "-m", "cherish", "serve", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", str(self.args.workers), "--no-migrate"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(lambda: healthy(self.port), 300, "HTTP")
        wait_for(lambda: smtp_ready(int(self.env["CHERISH_SMTP_PORT"])), 120, "SMTP")
        wait_for(lambda: len(self.web_workers()) == self.args.workers, 120, "web workers")
        return time.monotonic() - began

    def pids(self) -> list[int]:
        assert self.serve is not None
        return [self.serve.pid, *descendants(self.serve.pid)]

    def web_master(self) -> int | None:
        assert self.serve is not None
        return next((c for c in children(self.serve.pid) if children(c)), None)

    def web_workers(self) -> list[int]:
        master = self.web_master()
        return children(master) if master else []

    def task_worker(self) -> int | None:
        assert self.serve is not None
        return next((c for c in children(self.serve.pid) if "worker" in name_of(c)), None)

    def kill(self) -> None:
        pids = self.pids()
        kill(pids)
        assert self.serve is not None
        self.serve.wait()
        for pid in pids:
            wait_for(lambda p=pid: not Path(f"/proc/{p}").exists(), 30, f"pid {pid} to go")


def replaced(old: int, find: object, what: str) -> int:
    return int(wait_for(lambda: (p := find()) and p != old and p, 120, what))  # type: ignore[operator]


def settled_cpu(pid: int, timeout: float = 120) -> float:
    """The CPU of ``pid`` once it has gone idle (under 30 ms in the last second): a process
    still importing on a loaded machine is not done starting."""
    deadline = time.monotonic() + timeout
    before = cpu_s(pid)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = cpu_s(pid)
        if now - before < 0.03:
            return now
        before = now
    return before


def tree_settled(tree: Tree, timeout: float = 120) -> dict[int, float]:
    """CPU per process once the whole tree has gone idle (under 0.1 s in the last second)."""
    deadline = time.monotonic() + timeout
    before = {pid: cpu_s(pid) for pid in tree.pids()}
    while time.monotonic() < deadline:
        time.sleep(1)
        now = {pid: cpu_s(pid) for pid in tree.pids()}
        if sum(now.values()) - sum(before.values()) < 0.1:
            return now
        before = now
    return before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    args.out = ROOT / "bench" / "out" / f"restart-{os.getpid()}"
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    sink = Sink(int(wait_for(lambda: _free_port(), 5, "a port")))
    sink.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHERISH_")}
    port, smtp = _free_port(), _free_port()
    env.update(
        PYTHONPATH=str(args.src),
        DJANGO_SETTINGS_MODULE="cherish.settings",
        CHERISH_DATA_DIR=str(args.out),
        CHERISH_SECRET_KEY="bench-only-secret-key-" + "x" * 40,
        CHERISH_LOG_LEVEL="WARNING",
        CHERISH_EMAIL_URL=sink.url,
        CHERISH_SMTP_PORT=str(smtp),
        CHERISH_SITE_URL=f"http://127.0.0.1:{port}",
    )
    subprocess.run(
        [args.python, "-m", "cherish", "shell", "-c", SETUP], env=env, check=True,
        capture_output=True, timeout=1200,
    )  # fmt: skip
    tree = Tree(args, env, port)
    starts, webs, tasks = [], [], []
    try:
        for n in range(1, args.starts + 1):
            took = tree.start()
            at_ready = {pid: cpu_s(pid) for pid in tree.pids()}
            settled = tree_settled(tree)
            parts: dict[str, float] = {}
            for pid, seconds in settled.items():
                parts[name_of(pid)] = parts.get(name_of(pid), 0.0) + seconds
            starts.append(sum(settled.values()))
            print(
                f"start {n}: answering after {took:.1f} s; tree CPU {sum(at_ready.values()):.2f} s"
                f" at ready, {sum(settled.values()):.2f} s once idle ("
                + ", ".join(f"{k} {v:.2f}" for k, v in sorted(parts.items()))
                + ")",
                flush=True,
            )
            web = tree.web_workers()[0]
            kill([web])
            new_web = replaced(web, lambda: max(tree.web_workers(), default=None), "a web worker")
            wait_for(lambda: healthy(port), 60, "HTTP")
            webs.append(settled_cpu(new_web))
            task = tree.task_worker()
            assert task is not None
            kill([task])
            new_task = replaced(task, tree.task_worker, "a task worker")
            tasks.append(settled_cpu(new_task))
            print(
                f"  web worker killed: its successor used {webs[-1]:.2f} s of CPU until idle; "
                f"task worker killed: its successor {tasks[-1]:.2f} s",
                flush=True,
            )
            tree.kill()
    finally:
        if tree.serve is not None and tree.serve.poll() is None:
            tree.serve.send_signal(signal.SIGTERM)
            tree.serve.wait(60)
        sink.stop()
        shutil.rmtree(args.out, ignore_errors=True)
    print(
        f"\nmedian of {args.starts}: whole tree start {statistics.median(starts):.2f} s CPU; "
        f"a web worker restart {statistics.median(webs):.2f} s; a task worker restart "
        f"{statistics.median(tasks):.2f} s  (load average {os.getloadavg()[0]:.1f})"
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
