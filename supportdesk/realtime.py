"""Publish real-time events to the channel layer, only after commit.

A rolled-back write must never reach a screen, so every publish is deferred with
``transaction.on_commit``. The channel layer is a notification path: anything a
client must not miss is also stored in the database.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def group_send_now(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "desk.event", "event": event})
    except Exception:  # a notification failure must not undo a committed write
        logger.exception("publishing %s to %s failed", event.get("type"), group)


def publish_on_commit(groups: list[str], event: dict[str, Any]) -> None:
    """Send ``event`` to every group once the current transaction commits."""

    def send() -> None:
        for group in groups:
            group_send_now(group, event)

    transaction.on_commit(send, robust=True)
