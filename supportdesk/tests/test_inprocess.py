import threading
import time

from celery.signals import task_postrun

from supportdesk import inprocess
from supportdesk.celery import app, echo


def test_embedded_worker_runs_tasks_off_the_calling_thread():
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    ran: dict[str, int] = {}

    # Connected before the task is sent: a fast worker may finish it at once.
    def on_postrun(task_id=None, **kwargs):
        ran[task_id] = threading.get_ident()

    task_postrun.connect(on_postrun, weak=False)
    try:
        # Timers would touch the database behind the test's back.
        inprocess.start(timers=False)
        result = echo.apply_async(args=["ping"])
        # No result backend: watch the task leave the queue and run instead.
        assert result.id
        deadline = time.monotonic() + 10
        while result.id not in ran and time.monotonic() < deadline:
            time.sleep(0.02)
        assert result.id in ran
        assert ran[result.id] != threading.get_ident()
    finally:
        task_postrun.disconnect(on_postrun)
        app.conf.task_always_eager = eager
