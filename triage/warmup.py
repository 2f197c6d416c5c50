"""Load the local triage models when a Celery worker starts.

Left to the first message, the intent model, the sentence encoder, the
wants-a-human detector (trained from the repo's data at first use) and the
language detector cost the first customer after every deploy several seconds,
and hold the worker's event loop that long. A worker loads them before it
takes work instead, once: the solo and thread pools in the worker's own
process, the prefork pool in each child. The embedded in-process worker keeps
loading them on first use, so the desk still starts at once.
"""

import logging
import time

from celery.signals import worker_init, worker_process_init
from django.conf import settings

logger = logging.getLogger(__name__)

SAMPLE = "My card has not arrived yet, can I talk to a person?"


def warm_up() -> float:
    """Run one message through the local engine; returns the seconds it took."""
    from triage.ml import engine

    started = time.perf_counter()
    engine.analyse(SAMPLE, languages=tuple(settings.TRIAGE_LANGUAGES))
    return time.perf_counter() - started


def _warm(where: str) -> None:
    try:
        seconds = warm_up()
    except Exception:  # the task falls back as it would have on first use
        logger.exception("triage warm-up failed in %s", where)
        return
    logger.info("triage models loaded in %s in %.1f s", where, seconds)


# These pools send worker_process_init: prefork in each child, solo in the
# worker itself. The others (threads, gevent, eventlet) send only worker_init.
_POOLS_WITH_PROCESS_INIT = ("prefork", "solo")


def _embedded() -> bool:
    from supportdesk import inprocess

    # The embedded worker is built on the thread that starts the desk, which
    # must not wait for the models.
    return inprocess.started()


@worker_init.connect
def _on_worker_init(sender=None, **kwargs) -> None:
    pool = getattr(sender, "pool_cls", None)
    name = pool if isinstance(pool, str) else getattr(pool, "__module__", "")
    if not _embedded() and not any(p in name for p in _POOLS_WITH_PROCESS_INIT):
        _warm("the worker")


@worker_process_init.connect
def _on_worker_process_init(**kwargs) -> None:
    if not _embedded():
        _warm("a pool process")
