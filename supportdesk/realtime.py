"""Publish real-time events to the channel layer, only after commit.

A rolled-back write must never reach a screen, so every publish is deferred with
``transaction.on_commit``. The channel layer is a notification path: anything a
client must not miss is also stored in the database, so a publish is
fire-and-forget: the request that committed never waits for it. What one
change tells everyone (the agents' event-log notices, its watchers' and the
supervisors' events), or everything a batched write changed, goes out in one
pipelined round trip (``send_on_commit``).

With the Redis pub/sub layer on one Redis server, a send is one PUBLISH (one
pipeline for several groups) made by the committing thread itself
(``_direct_publish``): no hop to an event loop that may be busy serving
sockets, which was most of an offer's latency after the database. It waits
at most ``_REDIS_TIMEOUT`` for a Redis that hangs, and a Redis that is down
fails at once (logged; clients repair gaps from the database). Every other
layer (in-memory, several Redis shards) is sent to on the event loop that
owns this process's channel-layer connections: the ASGI server's loop inside
a web process (the in-memory layer only works there), or a private loop
thread in workers and scripts.
"""

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable
from functools import partial
from typing import Any

from asgiref.sync import SyncToAsync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)
_REDIS_TIMEOUT = 0.5  # seconds
_direct: dict[int, tuple] = {}  # per process: id(layer) -> (redis client, prefix)
_server_loop: asyncio.AbstractEventLoop | None = None
_private_loop: asyncio.AbstractEventLoop | None = None
_private_pid = 0
_lock = threading.Lock()
Notice = tuple[str, dict[str, Any]]  # (group, channel-layer message)


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


def _direct_client(layer) -> tuple | None:
    """A blocking Redis client for ``layer``, or None if it is not pub/sub."""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    if not isinstance(layer, RedisPubSubChannelLayer):
        return None
    key = id(layer)
    if key not in _direct:
        hosts = layer._kwargs.get("hosts") or []
        client = None
        if len(hosts) == 1 and isinstance(hosts[0], str):
            import redis

            client = redis.Redis.from_url(
                hosts[0],
                socket_timeout=_REDIS_TIMEOUT,
                socket_connect_timeout=_REDIS_TIMEOUT,
            )
        _direct[key] = (client, layer._kwargs.get("prefix", "asgi"))
    client, prefix = _direct[key]
    return (client, prefix) if client is not None else None


def _direct_publish(layer, messages: list[Notice]) -> bool:
    """PUBLISH as the pub/sub layer's ``group_send`` would, many in one round
    trip (a pipeline); False if unable."""
    target = _direct_client(layer)
    if target is None:
        return False
    client, prefix = target
    try:
        if len(messages) == 1:
            group, message = messages[0]
            client.publish(f"{prefix}__group__{group}", layer.serialize(message))
            return True
        # One event to several groups is serialised once.
        payloads: dict[int, bytes] = {}
        pipe = client.pipeline(transaction=False)
        for group, message in messages:
            if id(message) not in payloads:
                payloads[id(message)] = layer.serialize(message)
            pipe.publish(f"{prefix}__group__{group}", payloads[id(message)])
        pipe.execute()
    except Exception as error:  # the database is the record
        logger.warning("publishing %d events failed: %r", len(messages), error)
    return True


def group_send(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to ``group`` now, without waiting on an event loop."""
    _send_many([(group, message)])


def _send_many(messages: list[Notice]) -> None:
    layer = get_channel_layer()
    if layer is None or _direct_publish(layer, messages):
        return
    for group, message in messages:
        run_on_layer_loop(_loop_send(layer, group, message))


async def _loop_send(layer, group: str, message: dict[str, Any]) -> None:
    try:
        await layer.group_send(group, message)
    except Exception as error:  # the database is the record
        logger.warning("publishing to %s failed: %r", group, error)


def desk_notices(groups: list[str], event: dict[str, Any]) -> list[Notice]:
    """``event`` for the consoles in each group (one message, serialised once)."""
    message = {"type": "desk.event", "event": event}
    return [(group, message) for group in groups]


def send_on_commit(notices: list[Notice]) -> None:
    """Send each (group, message) once the current transaction commits, all
    in one Redis round trip: what one change tells its agents, its watchers
    and its supervisors, or everything a batched write changed."""
    if notices:
        transaction.on_commit(partial(_send_many, notices), robust=True)


def publish_on_commit(groups: list[str], event: dict[str, Any]) -> None:
    """Send ``event`` to every group once the current transaction commits."""
    send_on_commit(desk_notices(groups, event))
