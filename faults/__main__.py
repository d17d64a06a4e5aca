"""``python -m faults``: run the fault suite against real ``cherish serve`` processes.

    .venv/bin/python -m faults                     # everything (make faults), in lanes
    .venv/bin/python -m faults --short             # R1, R2, R3 at 1,000 complaints
    .venv/bin/python -m faults --ci                # R1, R2, R3 small and side by side (CI)
    .venv/bin/python -m faults --only R2,R7        # some scenarios
    .venv/bin/python -m faults --write docs/reliability.md

Prints one row per scenario and exits 1 if any target is missed. Uses 127.0.0.1 ports
8300-8399 (CHERISH_FAULTS_PORTS=FIRST-LAST changes them) and a scratch directory under
$CHERISH_FAULTS_DIR (default /tmp), removed afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

from faults import services
from faults.harness import fresh_base, log, stop_all
from faults.scenarios import ANSWER_WITHIN_S, SCENARIOS, Row, Suite, run_in_background

SHORT = ["R1", "R2", "R3"]
CI_SIZE = 150
FULL = ["R8", "R1", "R2", "R3", "R4", "R6", "R7", "R1S", "R2S", "R9", "R10"]
# The whole suite runs in lanes side by side, each lane's runs in turn: R8 waits ten minutes
# for the mail server, R1 and R3 are the longest, and the scale-out runs share one
# PostgreSQL and one Redis, which R9 and R10 restart, so they take turns in one lane.
FULL_LANES = [["R8"], ["R1"], ["R3"], ["R2", "R6", "R7", "R4"], ["R1S", "R2S", "R9", "R10"]]


def lanes(names: list[str], parallel: bool) -> list[list[str]]:
    """Which runs go side by side (one thread a lane), and which in turn within a lane."""
    if not parallel:
        # One after another, but R8 (mostly waiting for the mail server) beside the rest.
        return [[n] for n in names if n == "R8"] + [[n for n in names if n != "R8"]]
    if sorted(names) == sorted(FULL):
        return FULL_LANES
    scale_out = [n for n in names if SCENARIOS[n][1] == "scale-out"]
    return [[n] for n in names if n not in scale_out] + ([scale_out] if scale_out else [])


BEGIN, END = "<!-- faults:begin -->", "<!-- faults:end -->"


def table(rows: list[Row]) -> str:
    lines = [
        "| run | fault | profile | complaints | acknowledged | stored | triaged | ack emails "
        "(Message-IDs at the sink) | ack emails re-sent (same Message-ID) | missing | "
        "duplicated | unanswered | 5xx | p99 s | answered within s of last fault | target |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        o = row.outcome
        if row.skipped or row.failed or o is None:
            why = f"failed: {row.failed}" if row.failed else f"skipped: {row.skipped or 'error'}"
            lines.append(
                f"| {row.name} | {row.title} | {row.profile} | {row.complaints} | "
                + " | ".join(["–"] * 11)
                + f" | {why} |"
            )
            continue
        within = "never" if row.answered_within_s is None else f"{row.answered_within_s:.0f}"
        lines.append(
            f"| {row.name} | {row.title} | {row.profile} | {row.complaints} | {o.acknowledged} | "
            f"{o.stored} | {o.triaged} | {o.ack_emails} | {o.resent} | {o.missing} | "
            f"{o.duplicated} | "
            f"{o.unanswered} | {o.five_xx} | {o.p99_s:.2f} | {within} | "
            f"{'met' if row.met else '**missed**'} |"
        )
    return "\n".join(lines)


def notes(rows: list[Row]) -> str:
    lines = []
    for row in rows:
        o = row.outcome
        extra = []
        if o is not None:
            extra.append(f"answers by status {o.statuses}")
            if o.jobs_not_done:
                extra.append(f"{o.jobs_not_done} job(s) not done at the end")
            if o.other_emails:
                extra.append(f"{o.other_emails} other automatic email(s), e.g. surveys")
            if o.duplicates:
                extra.append("duplicated: " + "; ".join(o.duplicates[:5]))
        lines.append(f"- **{row.name}** ({row.seconds:.0f} s): " + "; ".join(row.notes + extra))
    return "\n".join(lines)


def write(path: Path, rows: list[Row], command: str, took: float, load_before: float = 0.0) -> None:
    load = os.getloadavg()
    block = (
        f"{BEGIN}\n"
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `{command}` "
        f"in {took / 60:.1f} min on {platform.node()} ({os.cpu_count()} cores, shared with "
        f"other engineers; load average {load_before:.1f} at the start, "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) at the end).\n\n"
        f"{table(rows)}\n\n{notes(rows)}\n{END}"
    )
    text = path.read_text() if path.exists() else f"# Reliability\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--short", action="store_true", help="R1, R2, R3 at 1,000 complaints")
    parser.add_argument(
        "--ci",
        action="store_true",
        help=f"R1, R2, R3 at {CI_SIZE} complaints (R3: 5 tree kills), side by side",
    )
    parser.add_argument(
        "--parallel", action="store_true", help="run the scenarios side by side, not in turn"
    )
    parser.add_argument(
        "--serial",
        action="store_true",
        help="one run after another (R8 still beside them); the whole suite runs in lanes",
    )
    parser.add_argument("--only", help="comma-separated scenarios, e.g. R2,R7")
    parser.add_argument("--write", type=Path, help="put the table into this Markdown file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--n", type=int, help="complaints per run (development: small runs)")
    args = parser.parse_args()

    def stopped(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # CI stops the suite with SIGTERM when the tests fail first: leave no Cherish running.
    signal.signal(signal.SIGTERM, stopped)

    names = (
        [n.strip().upper() for n in args.only.split(",")]
        if args.only
        else (SHORT if args.short or args.ci else FULL)
    )
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}")
    base = fresh_base("ci" if args.ci else "short" if args.short else "run")
    suite = Suite(
        base=base,
        short=args.short or args.ci,
        ci=args.ci,
        size=args.n or (CI_SIZE if args.ci else None),
    )
    parallel = (args.parallel or args.ci or names == FULL) and not args.serial
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    try:
        if any(SCENARIOS[n][1] == "scale-out" for n in names):
            why_not = services.unavailable()
            if why_not is None:
                suite.scale_out = services.start_scale_out(base)
            else:
                log(f"scale-out profile skipped: {why_not}")

        def run(name: str) -> Row:
            fn, profile = SCENARIOS[name]
            if profile == "scale-out" and suite.scale_out is None:
                return Row(name, "scale-out profile", profile, 0, "", skipped="no PostgreSQL/Redis")
            began = time.monotonic()
            log(f"{name}: start")
            try:
                row = fn(suite, profile)
            except Exception as error:
                traceback.print_exc()
                row = Row(name, "error", profile, 0, "", failed=f"{type(error).__name__}: {error}")
            row.seconds = time.monotonic() - began
            log(f"{name}: done in {row.seconds:.0f} s, target {'met' if row.met else 'MISSED'}")
            print(table([row]), flush=True)
            return row

        def run_lane(lane: list[str]) -> Row:
            for name in lane[:-1]:
                rows.append(run(name))
            return run(lane[-1])

        plan = [lane for lane in lanes(names, parallel) if lane]
        background = [run_in_background(lambda lane=lane: run_lane(lane)) for lane in plan[1:]]
        rows.append(run_lane(plan[0]))
        for thread, result in background:
            thread.join()
            rows += result
    finally:
        stop_all()
        if suite.scale_out is not None:
            for service in suite.scale_out:
                service.destroy()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    took = time.monotonic() - started
    order = {name: i for i, name in enumerate(SCENARIOS)}
    rows.sort(key=lambda r: order.get(r.name, 99))
    print(
        f"\nFault suite: {len(rows)} run(s) in {took / 60:.1f} min; targets: 0 missing, "
        f"0 duplicated, 0 unanswered, answered within {ANSWER_WITHIN_S} s of the last fault.\n"
    )
    print(table(rows))
    print()
    print(notes(rows))
    if args.write:
        write(args.write, rows, "python -m faults " + " ".join(sys.argv[1:]), took, load_before)
    # A skip (no PostgreSQL or Redis, no small filesystem) passes; a broken scenario does not.
    return 0 if rows and all(row.met or (row.skipped and not row.failed) for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
