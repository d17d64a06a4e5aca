"""The scale-out profile as an operator runs it (issue #14): one web server without a worker,
two real ``cherish worker`` processes on RQ, and complaints sent over HTTP at once.

Every complaint is answered 201 with its case, triaged and acknowledged exactly once; no job
fails with "'Task' object is not callable" (the RQ job class ``cherish worker`` must use).
Runs on the test database (SQLite, or PostgreSQL with CHERISH_TEST_DATABASE_URL) and Redis
(CHERISH_TEST_REDIS_URL); skipped with the reason when Redis is absent.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from tests.core import processes
from tests.core.test_redis import REDIS_URL, _redis_or_skip

from cherish.cases.models import Case, Direction, Message
from cherish.core.models import Job, JobStatus
from cherish.intake.apikeys import create_api_key
from cherish.intake.models import RawContact, RawStatus
from cherish.outbox.models import DeliveryStatus, OutgoingEmail
from cherish.triage.models import TriageRecord

pytestmark = pytest.mark.slow
COMPLAINTS = 12


def _free_port() -> int:
    # An ephemeral port from the kernel: it hands out the next free one each time, so the
    # SQLite and PostgreSQL runs beside each other do not both pick the same port, as they
    # could from a fixed range probed in order (the first free one for both).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(port: int, key: str, n: int) -> tuple[int, dict[str, Any]]:
    body = {
        "customer": {"name": f"Customer {n}", "email": f"customer{n}@example.com"},
        "text": f"My order {n} arrived broken and nobody answers the phone. I want a refund.",
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(
        "POST",
        "/api/v1/cases",
        body=json.dumps(body),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"order-{n}",
        },
    )
    response = connection.getresponse()
    answer = (response.status, json.loads(response.read()))
    connection.close()
    return answer


def test_web_and_two_rq_workers_triage_and_acknowledge_every_complaint_once(
    transactional_db: Any, agent: Any, mail_sink: Any, tmp_path: Path, settings: Any
) -> None:
    client = _redis_or_skip()
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    env = processes.cherish_env(
        tmp_path, EMAIL_URL=mail_sink.url, TASK_BACKEND="rq", REDIS_URL=REDIS_URL
    )
    _, key = create_api_key("webshop", scopes=["cases:create", "cases:read"])
    port = _free_port()
    serve = ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--no-worker"]
    web = processes.start([*serve, "--no-smtp", "--no-migrate"], env, tmp_path / "web.log")
    workers = [processes.start(["worker"], env, tmp_path / f"worker-{n}.log") for n in range(1, 3)]
    try:
        processes.wait_for(lambda: _answers(port), timeout=120, what="the web server to answer")
        # when: complaints arrive over HTTP from 4 clients at once
        answers: list[tuple[int, dict[str, Any]]] = []

        def send(numbers: range) -> None:
            for n in numbers:
                answers.append(_post(port, key, n))

        threads = [threading.Thread(target=send, args=(range(i, COMPLAINTS, 4),)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        # then: each is answered with its own case at once, and the workers finish them all
        assert sorted(status for status, _ in answers) == [201] * COMPLAINTS, answers
        assert len({answer["reference"] for _, answer in answers}) == COMPLAINTS
        processes.wait_for(
            lambda: Job.objects.filter(status=JobStatus.DONE).count() == COMPLAINTS,
            timeout=180,
            every=0.5,
            what="every follow-on job to be done by the RQ workers",
        )
        processes.wait_for(
            lambda: OutgoingEmail.objects.filter(status=DeliveryStatus.SENT).count() == COMPLAINTS,
            timeout=120,
            every=0.5,
            what="every acknowledgement to be delivered",
        )
    finally:
        for worker in workers:
            processes.stop(worker)
        processes.stop(web)
        client.flushdb()

    assert Case.objects.count() == COMPLAINTS
    assert RawContact.objects.filter(status=RawStatus.PROCESSED).count() == COMPLAINTS
    assert TriageRecord.objects.count() == COMPLAINTS
    acks = Message.objects.filter(direction=Direction.OUTBOUND, is_automatic=True)
    assert sorted(acks.values_list("case_id", flat=True)) == sorted(
        Case.objects.values_list("pk", flat=True)
    )
    sent_ids = [m["Message-ID"] for m in mail_sink.messages()]
    assert len(sent_ids) == len(set(sent_ids)) == COMPLAINTS
    for n in range(1, 3):
        assert "not callable" not in (tmp_path / f"worker-{n}.log").read_text()


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/complain/")
        return connection.getresponse().status == 200
    except OSError:
        return False
