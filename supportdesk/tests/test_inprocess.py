import threading
import time
from contextlib import contextmanager

from celery.signals import task_postrun

from supportdesk import inprocess
from supportdesk.celery import app, echo


@contextmanager
def watch_tasks():
    """Task id -> the thread that ran it. Listening starts before anything is
    sent: a fast worker may finish a task before the sender looks."""
    ran: dict[str, int] = {}

    def on_postrun(task_id=None, **kwargs):
        ran[task_id] = threading.get_ident()

    task_postrun.connect(on_postrun, weak=False)
    try:
        yield ran
    finally:
        task_postrun.disconnect(on_postrun)


def wait_for_task(ran: dict[str, int], task_id: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while task_id not in ran and time.monotonic() < deadline:
        time.sleep(0.02)
    return task_id in ran


def test_embedded_worker_runs_tasks_off_the_calling_thread():
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with watch_tasks() as ran:
            # Timers would touch the database behind the test's back.
            inprocess.start(timers=False)
            result = echo.apply_async(args=["ping"])
            # No result backend: watch the task leave the queue and run instead.
            assert result.id
            assert wait_for_task(ran, result.id)
            assert ran[result.id] != threading.get_ident()
    finally:
        app.conf.task_always_eager = eager
