"""Run a real Celery worker and beat as threads of the web process.

Used by the embedded default (no ``REDIS_URL``): tasks still run asynchronously,
off the request, through the same Celery code paths production uses.
"""

import logging
import threading

from django.conf import settings

from supportdesk.celery import QUEUES, app

logger = logging.getLogger(__name__)
_started = False
_lock = threading.Lock()


def start(*, timers: bool = True) -> None:
    """Start the worker (and, with ``timers``, beat and the agent sweeper)
    threads once per process."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    worker = app.WorkController(
        app=app,
        pool_cls="solo",
        concurrency=1,
        queues=list(QUEUES),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        loglevel="INFO",
    )
    threading.Thread(target=worker.start, name="celery-worker", daemon=True).start()
    if timers:
        _start_timers()
    logger.info("in-process Celery worker started on %s", ", ".join(QUEUES))


def started() -> bool:
    """True once this process runs the embedded worker."""
    return _started


def _start_timers() -> None:
    if app.conf.beat_schedule:
        from celery.beat import EmbeddedService

        beat = EmbeddedService(
            app,
            thread=True,
            schedule_filename=str(settings.VAR_DIR / "celerybeat-schedule"),
        )
        beat.start()
    from agents.sweeper import start_thread

    start_thread()  # the agent pool's sub-second timers
