"""The base of the desk's websocket consumers."""

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer


class DeskConsumer(AsyncJsonWebsocketConsumer):
    """Channels' JSON consumer without a thread hop before every handler or
    after a disconnect.

    Since Channels 4.2, ``dispatch`` runs Django's ``close_old_connections``
    through a thread-sensitive ``sync_to_async`` before each handler: every
    frame a client sends and every event a group delivers waits its turn on
    the one thread such calls share in a process, and costs two hops. No
    consumer of the desk uses a database connection on that thread: their
    database work goes through ``database_sync_to_async``, which closes old
    connections before and after on the thread that ran it. Channels'
    ``websocket_disconnect`` makes the same hop after ``disconnect``: when a
    network drop closes a hundred sockets of a process at once, a hundred
    hops queue on that one thread.
    """

    async def dispatch(self, message: dict) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']!r}")
        await handler(message)

    async def websocket_disconnect(self, message: dict) -> None:
        for group in self.groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.disconnect(message["code"])
        raise StopConsumer()
