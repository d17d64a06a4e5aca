"""Paired rounds against django-helpdesk 2.6.1 with the workplace's reference harness.

The harness lives outside the repository (``../shared/bench-peer/side-by-side``); this script
imports its ``interleave`` module and runs the same rounds (both servers up, peer and Cherish
alternating per scenario, same client, same ``/proc`` accounting) with what the issue's figures
need and the harness does not offer: the creations' concurrency (``--create-concurrency``, the
harness fixes 8), ports from a chosen range (so parallel sessions do not collide), and a table
with p99, errors, complaints/s and the throughput ratio per round.

    python3 bench/paired_peer.py --repo . --data-dir /tmp/sbs/data-run \\
        --peer-venv /tmp/sbs/peer-venv --peer-project /tmp/sbs/peer-project \\
        --scenarios create_form,create_api --rounds 3 --create-count 1000 \\
        --create-concurrency 8 --out /tmp/sbs/results --label after-c8
    python3 bench/paired_peer.py --render /tmp/sbs/results/paired-after-c8.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(
    os.environ.get("CHERISH_PEER_HARNESS", ROOT.parent / "shared" / "bench-peer" / "side-by-side")
)


def _harness():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(HARNESS))
    import interleave  # type: ignore[import-not-found]

    return interleave


def _find_web_master(il):  # type: ignore[no-untyped-def]
    """The harness finds gunicorn's master by ``gunicorn`` in its command line; since
    ``cherish serve`` forks its children (9fc0350) the master's command line is serve's and its
    name (``/proc/<pid>/comm``) says ``cherish-web``: find it by either, or no worker's CPU
    is counted and the server is never seen ready."""

    def find(self):  # type: ignore[no-untyped-def]
        if self.master and Path(f"/proc/{self.master}").exists():
            return self.master
        for kid in self._children(self.proc.pid):
            try:
                comm = Path(f"/proc/{kid}/comm").read_text().strip()
                line = Path(f"/proc/{kid}/cmdline").read_bytes()
            except OSError:
                continue
            if comm == "cherish-web" or b"gunicorn" in line:
                self.master = kid
                return kid
        return None

    il.bc.CherishServer._find_master = find


def _count_the_applier(il):  # type: ignore[no-untyped-def]
    """Since the public form's complaints are added to their cases by an applier process of
    their own (``cherish serve``'s ``cherish-applier``, a sibling of the web server, not one of
    its workers), the harness's CPU figure (the web master's tree) leaves that work out: add
    the applier's CPU, so Cherish's CPU per complaint is the whole of intake's. Likewise the
    intake store process (``cherish-store``, SQLite: the form's complaints into the journal)."""
    hz = os.sysconf("SC_CLK_TCK")
    sample = il.bc.CherishServer.sample

    def with_applier(self):  # type: ignore[no-untyped-def]
        out = sample(self)
        for kid in self._children(self.proc.pid) if self.proc else []:
            try:
                comm = Path(f"/proc/{kid}/comm").read_text().strip()
            except OSError:
                continue
            if comm in ("cherish-applier", "cherish-store"):
                out["worker_cpu_s"] += self._cpu_ticks(kid) / hz
        return out

    il.bc.CherishServer.sample = with_applier


def _server_class(bc, workers: int, threads: int):  # type: ignore[no-untyped-def]
    """The harness's CherishServer, with ``cherish serve --workers/--threads`` when given."""
    extra = [
        *(["--workers", str(workers)] if workers else []),
        *(["--threads", str(threads)] if threads else []),
    ]
    if not extra:
        return bc.CherishServer

    class Server(bc.CherishServer):  # type: ignore[misc,name-defined]
        def start(self) -> None:
            popen = bc.subprocess.Popen

            def with_extra(cmd, *args, **kwargs):  # type: ignore[no-untyped-def]
                return popen([*cmd, *extra], *args, **kwargs)

            bc.subprocess.Popen = with_extra
            try:
                super().start()
            finally:
                bc.subprocess.Popen = popen
            self.cmd = [*self.cmd, *extra]

    return Server


def _loadavg() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def _machine() -> dict:
    """The CPU and the machine's boot: CPU ms per request moved by 1.7-2x for both systems
    between two boots of the benchmark machine (issue #14, bench/README.md 2026-12-02, helper
    gap), so figures are comparable only within a boot, best within one paired run."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    btime = next(
        int(line.split()[1])
        for line in Path("/proc/stat").read_text().splitlines()
        if line.startswith("btime")
    )
    booted = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(btime))
    return {"cpu": model, "cpus": os.cpu_count(), "booted": booted}


def _ports(spec: str):  # type: ignore[no-untyped-def]
    first, last = (int(x) for x in spec.split("-"))
    return iter(range(first, last + 1))


def _serve_words(serve: dict) -> str:
    given = [f"--{k.split('_')[1]} {v}" for k, v in serve.items() if v]
    return f"; cherish serve {' '.join(given)}" if given else ""


def render(result: dict, wanted: list[str]) -> list[str]:
    rows = result["scenarios"]

    def r1(v: float | None) -> str:
        return "-" if v is None else f"{v:,.1f}"

    def errs(s: dict) -> int:
        return sum((s.get("errors") or {}).values())

    lines = [
        f"Paired rounds ({result['label']}; {result['rounds']} rounds; {result['create_count']} "
        f"creations per round at c={result.get('create_concurrency', 8)}; started "
        f"{result['started']}, load average at start {' '.join(result['loadavg_at_start'])}"
        f"{_serve_words(result.get('cherish_serve') or {})})",
        *(
            [f"Machine: {m['cpus']} x {m['cpu']}, booted {m['booted']}"]
            if (m := result.get("machine"))
            else []
        ),
        "",
        "| scenario | round | peer ok/s | Cherish ok/s | Cherish / peer | peer p50 / p95 / p99 ms "
        "| Cherish p50 / p95 / p99 ms | peer CPU ms/req | Cherish CPU ms/req | CPU ratio "
        "| errors peer / Cherish | foreign CPU % | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in wanted:
        P, C = rows[name]["peer"], rows[name]["cherish"]
        for i, (p, c) in enumerate(zip(P, C, strict=True), 1):
            pc, cc = p.get("server_cpu_ms_per_ok"), c.get("server_cpu_ms_per_ok")
            ratio = (c["ok_per_s"] / p["ok_per_s"]) if p.get("ok_per_s") else 0
            lines.append(
                f"| {name} | {i} | {r1(p['ok_per_s'])} | {r1(c['ok_per_s'])} | {ratio:.2f} "
                f"| {r1(p['p50_ms'])} / {r1(p['p95_ms'])} / {r1(p.get('p99_ms'))} "
                f"| {r1(c['p50_ms'])} / {r1(c['p95_ms'])} / {r1(c.get('p99_ms'))} "
                f"| {r1(pc)} | {r1(cc)} | {(pc or 0) / max(cc or 0, 1e-9):.2f} "
                f"| {errs(p)} / {errs(c)} "
                f"| {p.get('foreign_cpu_pct')} / {c.get('foreign_cpu_pct')} "
                f"| {c['uptime'][0]} |"
            )

        def med(xs: list[dict], k: str) -> float:
            return statistics.median([x.get(k) or 0 for x in xs])

        ratios = [
            c["ok_per_s"] / p["ok_per_s"] for p, c in zip(P, C, strict=True) if p.get("ok_per_s")
        ] or [0.0]
        lines.append(
            f"| **{name}** | median | {r1(med(P, 'ok_per_s'))} | {r1(med(C, 'ok_per_s'))} "
            f"| **{statistics.median(ratios):.2f}** "
            f"| {r1(med(P, 'p50_ms'))} / {r1(med(P, 'p95_ms'))} / {r1(med(P, 'p99_ms'))} "
            f"| {r1(med(C, 'p50_ms'))} / {r1(med(C, 'p95_ms'))} / {r1(med(C, 'p99_ms'))} "
            f"| {r1(med(P, 'server_cpu_ms_per_ok'))} | {r1(med(C, 'server_cpu_ms_per_ok'))} "
            f"| {med(P, 'server_cpu_ms_per_ok') / max(med(C, 'server_cpu_ms_per_ok'), 1e-9):.2f} "
            f"| {sum(errs(x) for x in P)} / {sum(errs(x) for x in C)} | | |"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repo", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--peer-venv", required=True)
    ap.add_argument("--peer-project", required=True)
    ap.add_argument("--scenarios", default="detail_page,create_form,create_api")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--create-count", type=int, default=1000)
    ap.add_argument("--create-concurrency", type=int, default=8)
    ap.add_argument("--ports", default="9010-9099", help="FIRST-LAST for the two servers")
    ap.add_argument("--out", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument(
        "--web-workers",
        type=int,
        default=0,
        help="cherish serve --workers (default: serve's own); the peer keeps its 2 workers",
    )
    ap.add_argument("--web-threads", type=int, default=0, help="cherish serve --threads")
    a = ap.parse_args()
    il = _harness()
    _find_web_master(il)
    _count_the_applier(il)
    bc, peer = il.bc, il.peer
    ports = _ports(a.ports)
    bc.free_port = lambda: next(ports)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    common = {
        "scale": 1.0,
        "read_concurrency": 1,
        "create_count": a.create_count,
        "create_concurrency": a.create_concurrency,
        "create_time": 420,
        "api_detail_count": 5,
        "api_detail_time": 240,
        "req_timeout": 280,
        "basic_count": 10,
    }
    ns = argparse.Namespace(
        repo=str(Path(a.repo).resolve()), data_dir=str(Path(a.data_dir).resolve()), **common
    )
    pa = argparse.Namespace(venv=a.peer_venv, project=a.peer_project, **common)
    os.environ["PEER_PROJECT"] = a.peer_project
    pcreds = json.loads((Path(a.peer_project) / "peer_bench.json").read_text())
    ccreds = json.loads((Path(ns.data_dir) / "cherish_bench.json").read_text())
    pbefore, cbefore = peer.seed_stats(pa), bc.seed_stats(ns)
    psrv = peer.Server(a.peer_venv, a.peer_project, 2, bc.free_port(), out, 300)
    csrv = _server_class(bc, a.web_workers, a.web_threads)(
        ns.repo,
        ns.data_dir,
        bc.free_port(),
        out,
        {
            "CHERISH_SECRET_KEY": "side-by-side-bench-secret-" + "x" * 40,
            "CHERISH_PUBLIC_RATE_LIMIT": str(10**9),
        },
    )
    # The harness waits for this many web workers (its own default: 2). cherish serve's own
    # layout (serve.web_layout) is one process on SQLite since 2026-12-02: waiting for two
    # never saw the server ready.
    on_sqlite = not os.environ.get("CHERISH_DATABASE_URL", "").startswith("postgres")
    csrv.workers = a.web_workers or (1 if on_sqlite else 2)
    result_server = {"web_workers": a.web_workers or None, "web_threads": a.web_threads or None}
    wanted = a.scenarios.split(",")
    rows: dict = {n: {"peer": [], "cherish": []} for n in wanted}
    result = {
        "label": a.label,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rounds": a.rounds,
        "create_count": a.create_count,
        "create_concurrency": a.create_concurrency,
        "loadavg_at_start": _loadavg(),
        "machine": _machine(),
        "peer_tickets": pbefore["tickets"],
        "cherish_cases": cbefore["tickets"],
        "scenarios": rows,
        "cherish_serve": result_server,
    }
    try:
        psrv.start()
        csrv.start()
        pctx = il.peer_ctx(pa, psrv.port, pbefore, pcreds)
        cctx = il.cherish_ctx(ns, csrv.port, cbefore, ccreds)
        pplan = {p["name"]: p for p in peer.scenarios(pctx, pa)}
        cplan = {p["name"]: p for p in bc.scenarios(cctx, ns)}
        for name in wanted:  # warm both
            for plan, port in ((pplan, psrv.port), (cplan, csrv.port)):
                if plan[name]["kind"] == "read":
                    warm = peer.load(port, plan[name]["make"], 6, 2, 60, 280, plan[name]["expect"])
                    bc.asyncio.run(warm)
        for r in range(a.rounds):
            for name in wanted:
                for who, plan, port, srv in (
                    ("peer", pplan, psrv.port, psrv),
                    ("cherish", cplan, csrv.port, csrv),
                ):
                    bc.log(f"round {r + 1} {who}")
                    stats = il.run_one(dict(plan[name]), port, srv)
                    stats["uptime"] = _loadavg()
                    rows[name][who].append(stats)
    finally:
        csrv.stop()
        psrv.stop()
    text = "\n".join(render(result, wanted))
    result["table"] = text
    (out / f"paired-{a.label}.json").write_text(json.dumps(result, indent=2))
    (out / f"paired-{a.label}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--render":
        saved = json.loads(Path(sys.argv[2]).read_text())
        print("\n".join(render(saved, list(saved["scenarios"]))))
    else:
        main()
