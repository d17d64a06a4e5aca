"""The scale-out path on Redis: tasks on RQ workers, rate limits shared across processes.

Runs when Redis answers at CHERISH_TEST_REDIS_URL (default redis://127.0.0.1:6379/15);
CI always has one. Skipped with that reason elsewhere.
"""

from __future__ import annotations

import os

import pytest

REDIS_URL = os.environ.get("CHERISH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_or_skip():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis not reachable at {REDIS_URL} (set CHERISH_TEST_REDIS_URL)")
    client.flushdb()
    return client


@pytest.fixture
def rq_backend(settings):
    client = _redis_or_skip()
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    yield client
    client.flushdb()


def _run_worker_until_idle() -> int:
    import django_rq
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    queue = django_rq.get_queue("default", job_class=Job)
    worker = SimpleWorker([queue], connection=queue.connection, job_class=Job)
    worker.work(burst=True)
    return len(queue)


def test_intake_follow_on_runs_on_an_rq_worker(
    rq_backend, agent, django_capture_on_commit_callbacks
):
    from cherish.cases.models import Case
    from cherish.intake.actions import Contact, accept_contact
    from cherish.outbox.models import OutgoingEmail

    # given: a complaint arrives; its follow-on steps go to Redis, not the database queue
    with django_capture_on_commit_callbacks(execute=True):
        case = accept_contact(
            Contact(
                channel="web",
                text="The boiler you fitted leaks and my elderly father has no heating.",
                name="Rita",
                email="rita@example.com",
            )
        ).case
    assert rq_backend.keys("rq:queue:default")
    # when: an RQ worker drains the queue
    with django_capture_on_commit_callbacks(execute=True):
        remaining = _run_worker_until_idle()
    # then: triage ran and the acknowledgement went into the outbox
    case = Case.objects.get(pk=case.pk)
    assert remaining == 0
    assert case.triage is not None and case.triage["kind"] == "complaint"
    assert OutgoingEmail.objects.filter(case_pk=case.pk, is_automatic=True).count() == 1


def test_rate_limits_hold_across_processes_on_redis(settings, db):
    _redis_or_skip()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    from django.core.cache import caches

    from cherish.core import ratelimit

    for _ in range(4):
        ratelimit.hit("complain", "203.0.113.9", window_s=60)
    # A second, independent client (as another web process would have) sees the same count.
    other = caches.create_connection("default")
    assert int(other.get(ratelimit._key("complain", "203.0.113.9"))) == 4
