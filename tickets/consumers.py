"""Watch one ticket live: staff who may see it get its events as they happen."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tickets import events, selectors


class TicketWatchConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        ticket_id = self.scope["url_route"]["kwargs"]["ticket_id"]
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        ticket = await database_sync_to_async(selectors.ticket_get_for_user)(
            user, ticket_id=ticket_id
        )
        if ticket is None:
            await self.close(code=4404)
            return
        self.group = events.ticket_group(ticket_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        await self.send_json({"type": "error", "error": "this socket is read-only"})

    async def desk_event(self, message: dict) -> None:
        await self.send_json(message["event"])
