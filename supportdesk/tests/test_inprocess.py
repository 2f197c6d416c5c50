from supportdesk import inprocess
from supportdesk.celery import app, echo


def test_embedded_worker_runs_tasks_off_the_calling_thread():
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        # Timers would touch the database behind the test's back.
        inprocess.start(timers=False)
        result = echo.apply_async(args=["ping"])
        # No result backend: watch the task leave the queue and run instead.
        assert result.id
        assert _wait_until_run(result.id)
    finally:
        app.conf.task_always_eager = eager


def _wait_until_run(task_id: str, timeout: float = 10.0) -> bool:
    import time

    from celery.signals import task_postrun

    done = []

    def on_postrun(task_id=None, **kwargs):
        done.append(task_id)

    task_postrun.connect(on_postrun, weak=False)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if task_id in done:
                return True
            time.sleep(0.02)
        return False
    finally:
        task_postrun.disconnect(on_postrun)
