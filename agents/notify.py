"""Ring the consoles' doorbell after commit without waiting on an event loop.

Sends go through ``supportdesk.realtime.group_send``: one PUBLISH from the
committing thread with the Redis pub/sub layer, else a task on the loop that
owns this process's channel-layer connections. Order between sends does not
matter: consoles repair gaps from the event log.
"""

from typing import Any

from supportdesk import realtime


def group_send(group: str, message: dict[str, Any]) -> None:
    realtime.group_send(group, message)
