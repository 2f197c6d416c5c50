"""Ring the consoles' doorbell after commit without blocking the writer.

Sends go through ``supportdesk.realtime``: on the loop that owns this
process's channel-layer connections, never a new loop (and Redis connection)
per send. Order between sends does not matter: consoles repair gaps from the
event log.
"""

import logging
from typing import Any

from channels.layers import get_channel_layer

from supportdesk.realtime import run_on_layer_loop

logger = logging.getLogger(__name__)


async def _send(layer, group: str, message: dict[str, Any]) -> None:
    try:
        await layer.group_send(group, message)
    except Exception as error:  # the log is the record; consoles catch up
        logger.warning("notifying %s failed: %r", group, error)


def group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    run_on_layer_loop(_send(layer, group, message))
