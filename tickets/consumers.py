"""Websocket consumers: staff watching a ticket, and customers chatting.

Thin on purpose: authenticate, join groups, forward events, and hand every
action to a service.
"""

import json
import logging

from channels.db import database_sync_to_async

from supportdesk.consumers import DeskConsumer
from tickets import events, selectors
from tickets.chat import selectors as chat_selectors
from tickets.chat import services as chat_services
from tickets.models import ChatSession

logger = logging.getLogger(__name__)


class TicketWatchConsumer(DeskConsumer):
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
        # Staff may only say they are typing; everything else goes to the API.
        if isinstance(content, dict) and content.get("type") == "typing":
            ticket_id = self.scope["url_route"]["kwargs"]["ticket_id"]
            event = events.chat_typing(who="agent", typing=bool(content.get("typing")))
            await self.channel_layer.group_send(
                events.chat_group(ticket_id), {"type": "desk.event", "event": event}
            )
            return
        await self.send_json({"type": "error", "error": "this socket is read-only"})

    async def decode_json(self, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None

    async def desk_event(self, message: dict) -> None:
        await self.send_json(message["event"])


class ChatConsumer(DeskConsumer):
    """A customer's chat socket, authenticated by its signed session token.

    Frames are listed in docs/chat.md. Every incoming action is handed to
    ``tickets.chat.services``, the same functions the HTTP fallback calls; a
    bad frame gets an error frame back, never a closed socket.
    """

    MAX_FRAME_CHARS = 64 * 1024

    async def connect(self) -> None:
        token = self.scope["url_route"]["kwargs"]["token"]
        try:
            self.session = await _db(chat_services.chat_session_from_token)(token)
        except chat_services.ChatError:
            await self.close(code=4403)
            return
        self.ticket_group: str | None = None
        self.last_status = ""
        self.session_group = events.chat_session_group(self.session.key)
        await self.channel_layer.group_add(self.session_group, self.channel_name)
        await self._follow(self.session.ticket_id)
        await self._listening(True)
        await self.accept()
        await self.send_json({"type": "chat.hello", "session": self.session.key})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "session"):
            await self._listening(False)
        for group in (
            getattr(self, "session_group", None),
            self.__dict__.get("ticket_group"),
        ):
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        if text_data is None or len(text_data) > self.MAX_FRAME_CHARS:
            await self._error("bad_frame", "send JSON text frames under 64 KiB")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error("bad_frame", "the frame is not JSON")
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        handler = self.HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self._error("unknown_type", f"unknown frame type {kind!r}")
            return
        try:
            await handler(self, content)
        except chat_services.ChatError as exc:
            await self._error(
                exc.code, str(exc), ref=content.get("client_msg_id"), **exc.extra
            )
        except Exception:
            logger.exception("chat frame %s failed", kind)
            await self._error("internal", "the desk could not do that; try again")

    async def _on_sync(self, content: dict) -> None:
        after = content.get("after") or 0
        if not isinstance(after, int) or after < 0:
            raise chat_services.ChatError("bad_frame", "after must be a message id")
        self.session = await _db(_reload)(self.session.key)
        await self._follow(self.session.ticket_id)
        messages = await _db(chat_selectors.chat_messages_after)(
            session=self.session, after=after
        )
        await self.send_json({"type": "chat.history", "messages": messages})
        await self._send_status()

    async def _on_send_message(self, content: dict) -> None:
        sent = await _db(chat_services.chat_message_send)(
            session_key=self.session.key,
            client_msg_id=content.get("client_msg_id"),
            text=content.get("text"),
            ip=_ip(self.scope),
        )
        await self._follow(sent.message.ticket_id)
        await self.send_json(_ack(content["client_msg_id"], sent))

    async def _on_typing(self, content: dict) -> None:
        if self.session.ticket_id:
            event = events.chat_typing(
                who="customer", typing=bool(content.get("typing"))
            )
            await self.channel_layer.group_send(
                events.ticket_group(self.session.ticket_id),
                {
                    "type": "desk.event",
                    "event": {**event, "ticket_id": self.session.ticket_id},
                },
            )

    async def _on_escalate(self, content: dict) -> None:
        ticket = await _db(chat_services.chat_escalate)(session_key=self.session.key)
        await self._follow(ticket.pk)
        await self._send_status()

    async def _on_contact(self, content: dict) -> None:
        self.session = await _db(chat_services.chat_contact_set)(
            session_key=self.session.key, email=content.get("email")
        )
        await self._send_status()

    async def _on_status(self, content: dict) -> None:
        await self._send_status()

    async def _on_ping(self, content: dict) -> None:
        await self.send_json({"type": "pong"})
        await self._listening(True)

    async def _listening(self, listening: bool) -> None:
        # Whether a reply would be read live; if not, it goes by email too.
        await _db(chat_services.chat_presence_set)(
            session_key=self.session.key, listening=listening
        )

    HANDLERS = {
        "sync": _on_sync,
        "message.send": _on_send_message,
        "typing": _on_typing,
        "escalate": _on_escalate,
        "contact": _on_contact,
        "status": _on_status,
        "ping": _on_ping,
    }

    async def desk_event(self, message: dict) -> None:
        event = message["event"]
        kind = event.get("type")
        if kind == "chat.ticket":
            await self._follow(event["ticket_id"])
        if kind == "chat.ticket_changed":
            # Status is recomputed only when it moved; messages on a held
            # ticket must not cost every tab a query each.
            if event["status"] != self.last_status:
                self.last_status = event["status"]
                await self._send_status()
            return
        await self.send_json(event)

    async def _follow(self, ticket_id: int | None) -> None:
        group = events.chat_group(ticket_id) if ticket_id else None
        if group == self.ticket_group:
            return
        if self.ticket_group:
            await self.channel_layer.group_discard(self.ticket_group, self.channel_name)
        if group:
            await self.channel_layer.group_add(group, self.channel_name)
        self.ticket_group = group
        self.session.ticket_id = ticket_id

    async def _send_status(self) -> None:
        self.session = await _db(_reload)(self.session.key)
        status = await _db(chat_selectors.chat_status)(session=self.session)
        await self.send_json(status)

    async def _error(self, code: str, text: str, **extra) -> None:
        extra = {k: v for k, v in extra.items() if v is not None}
        await self.send_json({"type": "error", "code": code, "error": text, **extra})


def _db(func):
    # Not thread-sensitive: chats are independent, so their database work runs
    # on a pool of threads (one connection each) instead of queueing every
    # customer of the process behind one thread.
    return database_sync_to_async(func, thread_sensitive=False)


def _reload(key: str):
    return ChatSession.objects.get(key=key)


def _ip(scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def _ack(client_msg_id: str, sent) -> dict:
    return {
        "type": "message.ack",
        "client_msg_id": client_msg_id,
        "duplicate": not sent.created,
        "message": events.chat_message_public(sent.message),
    }
