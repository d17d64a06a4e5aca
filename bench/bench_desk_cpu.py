"""CPU milliseconds per desk request, on bench_desk.py's data (issue #9's before/after).

Wall-clock latency swings by tens of percent on a loaded machine; the process's CPU time for
the same requests moves much less, so compare code versions with this. Run it from the root
of the checkout to measure, with that checkout's virtualenv, after bench_desk.py built the
data (``--build-only``):

    .venv/bin/python bench/bench_desk_cpu.py --cases 20000 --requests 80
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=80)
    args = parser.parse_args()

    import bench_desk

    bench_desk.configure(args.cases)
    from django.test import Client

    from cherish.cases.models import Case
    from cherish.staff.models import Staff

    agent = Staff.objects.select_related("user").order_by("id").first()
    if agent is None:
        raise SystemExit("No data: run bench_desk.py --build-only first.")
    client = Client()
    client.force_login(agent.user)
    refs = list(
        Case.objects.filter(is_open=True, team_id=agent.team_id)
        .order_by("id")
        .values_list("reference", flat=True)[:400]
    )
    random.Random(7).shuffle(refs)
    scenarios: dict[str, Callable[[int], str]] = {
        "inbox: mine": lambda i: "/desk/",
        "inbox: all open": lambda i: "/desk/?view=open",
        "inbox: my team": lambda i: "/desk/?view=team",
        "case page": lambda i: f"/desk/cases/{refs[i % len(refs)]}/",
        "customer list, searched": lambda i: f"/desk/customers/?q={refs[(i * 7) % len(refs)]}",
    }
    for name, url in scenarios.items():
        for i in range(5):
            status = client.get(url(i)).status_code
            if status not in (200, 302):
                raise SystemExit(f"{name}: {url(i)} answered {status}")
        walls = []
        cpu_start = time.process_time()
        for i in range(args.requests):
            started = time.perf_counter()
            client.get(url(i))
            walls.append(time.perf_counter() - started)
        cpu_ms = (time.process_time() - cpu_start) / args.requests * 1000
        print(f"{name:26} cpu_ms {cpu_ms:7.2f} wall_p50 {statistics.median(walls) * 1000:7.1f}")


if __name__ == "__main__":
    main()
