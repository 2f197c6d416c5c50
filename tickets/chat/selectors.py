"""What a chat customer may read: their own conversation and its status.

A session sees exactly one ticket, the one it opened; never the customer's
other tickets (the email on a chat session is not verified) and never
internal notes.
"""

import statistics
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tickets import events
from tickets.models import Channel, ChatSession, Message, Ticket
from tickets.states import HELD, QUEUE_STATUSES, Status

HISTORY_LIMIT = 500
PRESENCE_WINDOW = timedelta(seconds=90)


def chat_messages_after(*, session: ChatSession, after: int = 0) -> list[dict]:
    """The conversation after message id ``after``, oldest first."""
    if session.ticket_id is None:
        return []
    messages = Message.objects.filter(
        ticket_id=session.ticket_id, is_internal_note=False, id__gt=after
    ).order_by("id")[:HISTORY_LIMIT]
    return [events.chat_message_public(m) for m in messages]


def agents_online_count() -> int:
    """How many agents are working now, as far as presence is recorded.

    Presence belongs to ``agents``; this reads whatever it records (a recent
    ``last_seen_at`` or an ``online`` flag) and says 0 when it records nothing,
    so the status never promises a person who is not there.
    """
    try:
        from agents.models import AgentProfile
    except ImportError:
        return 0
    fields = {f.name for f in AgentProfile._meta.get_fields()}
    working = AgentProfile.objects.filter(approved=True, suspended=False)
    if "last_seen_at" in fields:
        since = timezone.now() - PRESENCE_WINDOW
        return working.filter(last_seen_at__gte=since).count()
    if "online" in fields:
        return working.filter(online=True).count()
    return 0


def queue_position(ticket: Ticket) -> int:
    """1 for the next ticket a person will take, in the queue's own order."""
    ahead = Ticket.objects.filter(status__in=QUEUE_STATUSES).filter(
        Q(priority__gt=ticket.priority)
        | Q(priority=ticket.priority, created_at__lt=ticket.created_at)
        | Q(priority=ticket.priority, created_at=ticket.created_at, pk__lt=ticket.pk)
    )
    return ahead.count() + 1


def expected_wait_seconds() -> int | None:
    """The median first-response time of recent chats; None when unmeasured."""
    since = timezone.now() - timedelta(hours=24)
    rows = (
        Ticket.objects.filter(
            channel=Channel.CHAT,
            created_at__gte=since,
            first_response_at__isnull=False,
        )
        .order_by("-created_at")
        .values_list("created_at", "first_response_at")[:50]
    )
    waits = [(answered - created).total_seconds() for created, answered in rows]
    return int(statistics.median(waits)) if waits else None


def chat_status(*, session: ChatSession) -> dict[str, Any]:
    """What the widget tells the customer, without promising anything false."""
    ticket = (
        Ticket.objects.filter(pk=session.ticket_id).first()
        if session.ticket_id
        else None
    )
    base: dict[str, Any] = {
        "type": "chat.status",
        "ticket_id": ticket.pk if ticket else None,
        "email": bool(session.email),
    }
    if ticket is None:
        return {**base, "state": "idle"}
    base["wants_human"] = ticket.wants_human
    if ticket.status in (Status.NEW, Status.TRIAGING):
        return {**base, "state": "reading"}
    if ticket.status == Status.AUTO_ANSWERED:
        return {**base, "state": "answered"}
    if ticket.status in HELD:
        return {**base, "state": "with_agent"}
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        return {**base, "state": "resolved"}
    online = agents_online_count()
    if online == 0:
        state = "reply_by_email" if session.email else "no_agents"
        return {**base, "state": state, "agents_online": 0}
    return {
        **base,
        "state": "waiting",
        "agents_online": online,
        "queue_position": queue_position(ticket),
        "expected_wait_seconds": expected_wait_seconds(),
    }


def chat_reply_address(*, ticket_id: int) -> str | None:
    """Where a reply on a chat ticket should also be emailed, if anywhere.

    The address the customer left, when none of the ticket's chat sockets has
    been heard from within ``CHAT_PRESENCE_SECONDS`` (the widget pings every
    25 s; a socket that closed cleanly counts as gone at once): the widget
    promised "we'll reply by email", and nobody is there to read it live.
    """
    sessions = list(
        ChatSession.objects.filter(ticket_id=ticket_id)
        .order_by("-created_at")
        .values_list("email", "seen_at")
    )
    since = timezone.now() - timedelta(seconds=settings.CHAT_PRESENCE_SECONDS)
    if any(seen_at is not None and seen_at >= since for _, seen_at in sessions):
        return None
    return next((email for email, _ in sessions if email), None)
