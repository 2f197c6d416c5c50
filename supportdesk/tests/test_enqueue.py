"""supportdesk.enqueue: the cheap enqueue of the hot write paths.

On PostgreSQL + Redis (``REDIS_URL``) the worker test reads a message that
``enqueue`` pushed itself; on the embedded broker it goes through Celery.
"""

import pytest
from celery.signals import task_postrun
from django.db import transaction

from supportdesk import inprocess
from supportdesk.celery import app, echo
from supportdesk.enqueue import enqueue, enqueue_on_commit
from supportdesk.tests.test_inprocess import wait_for_task, watch_tasks


@pytest.fixture
def ran():
    """Names of the tasks that run (eagerly, in tests) while the test runs."""
    names = []

    def on_postrun(sender=None, **kwargs):
        names.append(sender.name)

    task_postrun.connect(on_postrun, weak=False)
    yield names
    task_postrun.disconnect(on_postrun)


def test_a_real_worker_runs_what_enqueue_queued():
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with watch_tasks() as seen:
            inprocess.start(timers=False)
            task_id = enqueue(echo, "ping")
            assert task_id
            assert wait_for_task(seen, task_id)
    finally:
        app.conf.task_always_eager = eager


@pytest.mark.django_db(transaction=True)
def test_enqueue_on_commit_waits_for_the_commit(ran):
    with transaction.atomic():
        enqueue_on_commit(echo, "after")
        assert ran == []
    assert ran == ["desk.echo"]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_work_queues_nothing(ran):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(echo, "never")
        raise RuntimeError
    assert ran == []
