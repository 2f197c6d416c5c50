"""The base of the desk's websocket consumers."""

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer


class DeskConsumer(AsyncJsonWebsocketConsumer):
    """Channels' JSON consumer without a thread hop before every handler.

    Since Channels 4.2, ``dispatch`` runs Django's ``close_old_connections``
    through a thread-sensitive ``sync_to_async`` before each handler: every
    frame a client sends and every event a group delivers waits its turn on
    the one thread such calls share in a process, and costs two hops. No
    consumer of the desk uses a database connection on that thread: their
    database work goes through ``database_sync_to_async``, which closes old
    connections before and after on the thread that ran it.
    """

    async def dispatch(self, message: dict) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']!r}")
        await handler(message)
