"""What an agent console may ask for over ``/ws/agent/``: one service call each."""

import time

from channels.db import database_sync_to_async

from agents import dispatch, events, selectors, services
from tickets import events as ticket_events
from tickets.models import Ticket

HEARTBEAT_WRITE_EVERY = 1.0  # seconds; presence times out after 10


def db(function):
    """Run ``function`` in the worker thread pool, not the one shared thread.

    Thread-sensitive mode would queue every console's database work of a
    process behind one thread; these calls share no thread-local state.
    """
    return database_sync_to_async(function, thread_sensitive=False)


def _ticket_id(content: dict) -> int:
    value = content.get("ticket_id")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("ticket_id must be a positive integer")
    return value


def _agent_only(consumer) -> None:
    if consumer.role != "agent":
        raise PermissionError("only agents take tickets")


def _summary(ticket: Ticket | None) -> dict:
    return {"ticket": ticket_events.ticket_summary(ticket) if ticket else None}


async def heartbeat(consumer, content: dict) -> dict:
    if consumer.role != "agent":
        return {}
    # Presence needs a write every few seconds, not one per frame: a
    # heartbeat soon after the last one only reads the head.
    now = time.monotonic()
    record = now - consumer.seen_at >= HEARTBEAT_WRITE_EVERY
    if record:
        consumer.seen_at = now
    head = await db(services.agent_heartbeat)(user_id=consumer.user_id, record=record)
    if head > consumer.delivered:
        await consumer._catch_up()
    return {"head": head}


async def resync(consumer, content: dict) -> dict:
    after = content.get("after")
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ValueError("after must be a non-negative integer")
    consumer.delivered = after
    await consumer._catch_up()
    return {"head": consumer.delivered}


async def accept(consumer, content: dict) -> dict:
    _agent_only(consumer)
    ticket = await db(dispatch.offer_accept)(
        ticket_id=_ticket_id(content), agent_id=consumer.user_id
    )
    return _summary(ticket)


async def decline(consumer, content: dict) -> dict:
    _agent_only(consumer)
    ticket = await db(dispatch.offer_decline)(
        ticket_id=_ticket_id(content), agent_id=consumer.user_id
    )
    return _summary(ticket)


async def claim(consumer, content: dict) -> dict:
    _agent_only(consumer)
    ticket_id = _ticket_id(content) if content.get("ticket_id") is not None else None
    ticket = await db(dispatch.ticket_claim)(
        agent_id=consumer.user_id, ticket_id=ticket_id
    )
    return _summary(ticket)


async def release(consumer, content: dict) -> dict:
    _agent_only(consumer)
    ticket = await db(dispatch.ticket_release)(
        ticket_id=_ticket_id(content), agent_id=consumer.user_id
    )
    return _summary(ticket)


async def status(consumer, content: dict) -> dict:
    _agent_only(consumer)
    accepting = content.get("accepting")
    if not isinstance(accepting, bool):
        raise ValueError("accepting must be true or false")
    new = await db(services.agent_set_accepting)(
        user_id=consumer.user_id, accepting=accepting
    )
    return {"status": new}


async def typing(consumer, content: dict) -> dict:
    _agent_only(consumer)
    ticket_id = _ticket_id(content)
    if not await db(selectors.agent_holds)(
        user_id=consumer.user_id, ticket_id=ticket_id
    ):
        raise PermissionError("you do not hold this ticket")
    await consumer.channel_layer.group_send(
        ticket_events.ticket_group(ticket_id),
        {
            "type": "desk.event",
            "event": events.agent_typing(ticket_id, consumer.user_id),
        },
    )
    return {}


HANDLERS = {
    "heartbeat": heartbeat,
    "resync": resync,
    "accept": accept,
    "decline": decline,
    "claim": claim,
    "release": release,
    "status": status,
    "typing": typing,
}
