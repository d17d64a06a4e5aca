"""CPU per request of desk pages and API reads, in process, with their costliest statements.

    SHOW=1 REPS=5 PYTHONPATH=src .venv/bin/python bench/profile_request.py DATA_DIR PATH...

As the first agent (session for desk pages, a staff API key for /api/...); ``{ref}`` in a
path is an open case that agent sees. Prints each request's CPU, the CPU of every repeat
and (SHOW=1) the six statements that took the most CPU in the last one.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def main(data_dir: str, paths: list[str]) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "cherish.settings"
    os.environ["CHERISH_DATA_DIR"] = data_dir
    os.environ.setdefault("CHERISH_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["CHERISH_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("CHERISH_ALLOWED_HOSTS", "*")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from cherish.cases.access import visible_cases
    from cherish.intake.apikeys import create_api_key
    from cherish.staff.models import Staff

    agent = Staff.objects.select_related("user").order_by("id").first()
    assert agent is not None
    client = Client()
    client.force_login(agent.user)
    _, key = create_api_key(f"profile-{os.getpid()}", staff=agent)
    show = os.environ.get("SHOW", "1") == "1"
    reps = int(os.environ.get("REPS", "1"))
    for path in paths:
        if "{ref}" in path:
            refs = visible_cases(agent).filter(is_open=True).order_by("-id")
            path = path.replace("{ref}", refs.values_list("reference", flat=True)[5])
        cpus = []
        log: list[tuple[float, float, str]] = []
        for _ in range(reps):
            log = []

            def wrap(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
                started, cpu = time.perf_counter(), time.process_time()
                try:
                    return execute(sql, params, many, context)
                finally:
                    took = time.perf_counter() - started
                    log.append((took, time.process_time() - cpu, sql))  # noqa: B023

            headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if path.startswith("/api") else {}
            cpu0 = time.process_time()
            with connection.execute_wrapper(wrap):
                response = client.get(path, **headers)
            cpus.append(round((time.process_time() - cpu0) * 1000))
        print(f"== {path} {response.status_code} queries={len(log)} cpu ms={cpus}")
        if show:
            for wall, cpu, sql in sorted(log, key=lambda row: -row[1])[:6]:
                print(f"  {cpu * 1000:8.1f} ms CPU {wall * 1000:8.1f} ms wall  {sql[:600]}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
