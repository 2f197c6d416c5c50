"""Real-time events about tickets: built here, and only here.

Names are dotted (``ticket.updated``, ``message.created``); every event carries
the id of the audit row that produced it as its sequence number.
"""

from typing import Any

from tickets.models import Message, Priority, Ticket, TicketEvent

SUPERVISORS_GROUP = "supervisors"


def ticket_group(ticket_id: int) -> str:
    return f"ticket-{ticket_id}"


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "status": ticket.status,
        "channel": ticket.channel,
        "category": ticket.category,
        "priority": Priority(ticket.priority).label,
        "language": ticket.language,
        "assignee_id": ticket.assignee_id,
        "offered_to_id": ticket.offered_to_id,
        "version": ticket.version,
    }


def ticket_updated(ticket: Ticket, audit: TicketEvent) -> dict[str, Any]:
    return {
        "type": "ticket.updated",
        "seq": audit.pk,
        "change": audit.kind,
        "ticket": ticket_summary(ticket),
    }


def message_created(message: Message, audit: TicketEvent) -> dict[str, Any]:
    return {
        "type": "message.created",
        "seq": audit.pk,
        "ticket_id": message.ticket_id,
        "message": {
            "id": message.pk,
            "author_kind": message.author_kind,
            "direction": message.direction,
            "text": message.text,
            "internal": message.is_internal_note,
            "created_at": message.created_at.isoformat(),
        },
    }


# --- Chat: what a customer's browser may see --------------------------------
# Customers get their own groups and their own, smaller events: never internal
# notes, never who holds the ticket or how triage read it.


def chat_group(ticket_id: int) -> str:
    return f"chat-{ticket_id}"


def chat_session_group(session_key: str) -> str:
    return f"chatsession-{session_key}"


def chat_message_public(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "author_kind": message.author_kind,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
    }


def chat_message(message: Message, audit: TicketEvent) -> dict[str, Any]:
    return {
        "type": "chat.message",
        "seq": audit.pk,
        "message": chat_message_public(message),
    }


def chat_ticket_changed(ticket: Ticket, audit: TicketEvent) -> dict[str, Any]:
    return {
        "type": "chat.ticket_changed",
        "seq": audit.pk,
        "ticket_id": ticket.pk,
        "status": ticket.status,
    }


def chat_ticket_opened(ticket_id: int) -> dict[str, Any]:
    return {"type": "chat.ticket", "ticket_id": ticket_id}


def chat_typing(*, who: str, typing: bool) -> dict[str, Any]:
    # Ephemeral: no sequence number, nothing stored, nothing to resync.
    return {"type": "chat.typing", "who": who, "typing": typing}
