"""The agent console's websocket, ``/ws/agent/`` (see docs/agent-protocol.md).

Thin: authenticates, joins groups, hands actions to services and forwards
events. The per-agent event log is the record; the channel layer only says
"something new", so a missing or repeated notification is repaired here by
reading the log after the last sequence number delivered.
"""

import json
import logging
import time
from typing import Any

from django.conf import settings

from agents import events, selectors, services
from agents.consumer_actions import HANDLERS, db
from agents.ratelimit import TokenBucket
from supportdesk.consumers import DeskConsumer
from tickets import events as ticket_events
from tickets import roles
from tickets.states import IllegalTransition, TicketConflict, TicketNotFound

logger = logging.getLogger(__name__)
MAX_FRAME = 8192
FLOOD_CLOSE_AFTER = 200  # frames dropped before the socket is closed
CATCH_UP_PAGE = 200  # logged events read at a time
ERRORS = {
    TicketConflict: "conflict",
    IllegalTransition: "illegal_transition",
    TicketNotFound: "not_found",
    services.AgentUnavailable: "unavailable",
    PermissionError: "forbidden",
    ValueError: "bad_request",
}


class AgentConsumer(DeskConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if not user or user.is_anonymous:
            await self.close(code=4401)
            return
        # Subscribed first, so nothing logged after the read below is missed
        # (a repeat is dropped by its sequence number).
        self.user_id, self.dropped = user.pk, 0
        self.joined = [events.POOL_GROUP, events.agent_group(user.pk)]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        # One trip to the database: who this is, going online, the hello and
        # the events missed.
        frames = await db(self._open)(user)
        if frames is None:
            await self.close(code=4403)
            return
        self.role = frames[0]["role"]
        if self.role != "agent":
            await self.channel_layer.group_discard(self.joined.pop(), self.channel_name)
            self.joined.append(ticket_events.SUPERVISORS_GROUP)
            await self.channel_layer.group_add(self.joined[-1], self.channel_name)
        self.bucket = TokenBucket(settings.AGENT_WS_RATE, settings.AGENT_WS_BURST)
        await self.accept()
        for frame in frames:
            await self.send_json(frame)
        if len(frames) > CATCH_UP_PAGE:  # a full page: there may be more
            await self._catch_up()

    def _open(self, user) -> list[dict] | None:
        """``hello``, then (for an agent) the logged events missed, or None."""
        hello = {"type": "hello", "queue": selectors.pool_counts(max_age=1.0)}
        self.delivered = 0
        try:
            # What connecting causes (status, offers) comes after ``head``.
            connected = services.agent_connect(user_id=user.pk)
        except services.AgentUnavailable:
            if not roles.is_supervisor(user):
                return None
            return [{**hello, "role": "supervisor"}]
        self.delivered = self._last_seq(connected.head)
        self.seen_at = time.monotonic()
        agent = selectors.agent_state(
            user_id=user.pk, status=connected.status, capacity=connected.capacity
        )
        hello.update(role="agent", head=connected.head, agent=agent)
        missed = []
        if self.delivered < connected.head:  # one that saw everything reads none
            missed = selectors.agent_events_after(
                user_id=user.pk, after=self.delivered, limit=CATCH_UP_PAGE
            )
        if missed:
            self.delivered = missed[-1]["seq"]
        return [hello, *missed]

    def _last_seq(self, head: int) -> int:
        query = self.scope.get("query_string", b"").decode(errors="replace")
        for part in query.split("&"):
            name, _, value = part.partition("=")
            if name == "last_seq" and value.isdigit():
                return min(int(value), head)
        return head  # a fresh console starts from the state in ``hello``

    async def disconnect(self, code: int) -> None:
        # Presence first: a channel layer that is down (a Redis restart)
        # must not leave the agent counted as connected.
        if getattr(self, "role", None) == "agent":
            await db(services.agent_disconnect)(user_id=self.user_id)
        for group in getattr(self, "joined", []):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception as error:  # its subscriptions die with it anyway
                logger.warning("leaving %s failed: %s", group, error)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        if not self.bucket.take():
            self.dropped += 1
            if self.dropped >= FLOOD_CLOSE_AFTER:
                await self.close(code=4429)
            elif self.dropped % 50 == 1:
                await self._error(None, "rate_limited", "slow down")
            return
        if text_data is None or len(text_data) > MAX_FRAME:
            return await self._error(None, "bad_frame", "send JSON text frames")
        try:
            content = json.loads(text_data)
        except ValueError:
            return await self._error(None, "bad_json", "frame is not JSON")
        if not isinstance(content, dict):
            return await self._error(None, "bad_frame", "frame must be an object")
        await self._handle(content)

    async def _handle(self, content: dict) -> None:
        ref = content.get("id")
        handler = HANDLERS.get(content.get("type"))
        if handler is None:
            return await self._error(ref, "unknown_type", "unknown message type")
        try:
            reply = await handler(self, content)
        except tuple(ERRORS) as error:
            code = next(c for kind, c in ERRORS.items() if isinstance(error, kind))
            return await self._error(ref, code, str(error))
        except Exception:
            logger.exception("agent socket action %s failed", content.get("type"))
            return await self._error(ref, "internal", "try again")
        await self.send_json({"type": "reply", "re": ref, "ok": True, **reply})

    async def _error(self, ref: Any, code: str, message: str) -> None:
        frame = {"type": "error", "re": ref, "code": code, "message": message}
        await self.send_json(frame)

    async def _catch_up(self) -> None:
        """Send every logged event after the last one delivered, in order."""
        if self.role != "agent":
            return
        for _ in range(100):  # bounded: 100 pages
            batch = await db(selectors.agent_events_after)(
                user_id=self.user_id, after=self.delivered, limit=CATCH_UP_PAGE
            )
            for event in batch:
                await self.send_json(event)
                self.delivered = event["seq"]
            if len(batch) < CATCH_UP_PAGE:
                return

    async def agent_event(self, message: dict) -> None:
        batch = message["events"]  # consecutive numbers of one transaction
        if batch[0]["seq"] > self.delivered + 1:
            return await self._catch_up()  # a notification went missing
        for event in batch:
            # Lower numbers were already sent (by a catch-up or a repeat).
            if event["seq"] == self.delivered + 1:
                self.delivered = event["seq"]
                await self.send_json(event)

    async def desk_event(self, message: dict) -> None:
        await self.send_json(message["event"])

    pool_event = desk_event
