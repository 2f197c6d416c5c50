"""Ring the consoles' doorbell after commit without blocking the writer.

From a plain thread (a Celery worker, the sweeper) ``async_to_sync`` starts a
new event loop, and so a new Redis connection, for every send: about 10 ms
each, paid before the next offer can go out. Sends to Redis therefore go to
one long-lived loop per process instead. The in-memory layer (embedded desk,
tests) is bound to the server's own loop, so it keeps ``async_to_sync``. Order
between sends does not matter: consoles repair gaps from the event log.
"""

import asyncio
import logging
import os
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid = 0


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop, _pid
    with _lock:
        if _loop is None or _pid != os.getpid():  # a forked worker starts afresh
            _loop, _pid = asyncio.new_event_loop(), os.getpid()
            threading.Thread(
                target=_loop.run_forever, name="agent-notify", daemon=True
            ).start()
        return _loop


async def _send(layer, group: str, message: dict[str, Any]) -> None:
    try:
        await layer.group_send(group, message)
    except Exception:  # the log is the record; the console catches up later
        logger.exception("notifying %s failed", group)


def group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, InMemoryChannelLayer):
        async_to_sync(_send)(layer, group, message)
        return
    asyncio.run_coroutine_threadsafe(_send(layer, group, message), _background_loop())
