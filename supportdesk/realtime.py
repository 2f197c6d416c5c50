"""Publish real-time events to the channel layer, only after commit.

A rolled-back write must never reach a screen, so every publish is deferred with
``transaction.on_commit``. The channel layer is a notification path: anything a
client must not miss is also stored in the database, so a publish is
fire-and-forget: the request that committed never waits for it.

Sends run on the event loop that owns this process's channel-layer
connections: the ASGI server's loop inside a web process (the in-memory layer
only works there), or a private loop thread in workers and scripts.
"""

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable
from typing import Any

from asgiref.sync import SyncToAsync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)
_server_loop: asyncio.AbstractEventLoop | None = None
_private_loop: asyncio.AbstractEventLoop | None = None
_private_pid = 0
_lock = threading.Lock()


def bind_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called by the ASGI app: publish on the loop the consumers live on."""
    global _server_loop
    _server_loop = loop


def _owning_loop() -> asyncio.AbstractEventLoop:
    global _private_loop, _private_pid
    # A sync view or database_sync_to_async call: the loop that called us.
    caller = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if (
        caller is not None
        and getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == os.getpid()
        and caller.is_running()
    ):
        return caller
    if _server_loop is not None and _server_loop.is_running():
        return _server_loop
    with _lock:
        # A forked worker inherits the variable but not the thread.
        if _private_loop is None or _private_pid != os.getpid():
            _private_loop, _private_pid = asyncio.new_event_loop(), os.getpid()
            threading.Thread(
                target=_private_loop.run_forever, name="realtime-loop", daemon=True
            ).start()
        return _private_loop


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("publishing an event failed", exc_info=future.exception())


def run_on_layer_loop(coro: Awaitable) -> None:
    """Schedule ``coro`` on the loop owning the channel layer; do not wait."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    loop = _owning_loop()
    if loop is running:
        loop.create_task(coro).add_done_callback(_log_failure)
    else:
        asyncio.run_coroutine_threadsafe(coro, loop).add_done_callback(_log_failure)


async def _send(groups: list[str], event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        await layer.group_send(group, {"type": "desk.event", "event": event})


def publish_now(groups: list[str], event: dict[str, Any]) -> None:
    run_on_layer_loop(_send(groups, event))


def publish_on_commit(groups: list[str], event: dict[str, Any]) -> None:
    """Send ``event`` to every group once the current transaction commits."""
    transaction.on_commit(lambda: publish_now(groups, event), robust=True)
