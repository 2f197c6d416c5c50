"""What a ticket's change or new message tells whom, sent after commit.

The agents' consoles read their own event log (``agents.services``), the
ticket's watchers and the supervisors get ``ticket.updated`` and
``message.created``, and a chat ticket's customer gets what a customer may read.
Everything one change tells goes out in one Redis round trip
(``supportdesk.realtime.send_on_commit``).
"""

from agents import services as agent_services
from supportdesk.realtime import Notice, desk_notices, send_on_commit
from tickets import events
from tickets.models import Channel, Message, Ticket, TicketEvent


def publish_ticket(ticket: Ticket, audit: TicketEvent, *, new: bool = False) -> None:
    send_on_commit(ticket_notices(ticket, audit, new=new))


def ticket_notices(
    ticket: Ticket, audit: TicketEvent, *, new: bool = False
) -> list[Notice]:
    """Log a ticket's change for its agents; the notices to send after commit."""
    event = events.ticket_updated(ticket, audit)
    # Agents' consoles read from their own event log; dispatch reacts too,
    # registered before the notices, so the next offer goes out first.
    notices = agent_services.ticket_changed(ticket=ticket, audit=audit, event=event)
    # A ticket's watchers are let in only once it exists (the consumer checks
    # access), so a new ticket has none yet.
    groups = [events.SUPERVISORS_GROUP]
    if not new:
        groups.insert(0, events.ticket_group(ticket.pk))
    notices += desk_notices(groups, event)
    if ticket.channel == Channel.CHAT:
        chat = events.chat_ticket_changed(ticket, audit)
        notices += desk_notices([events.chat_group(ticket.pk)], chat)
    return notices


def publish_message(message: Message, audit: TicketEvent) -> None:
    send_on_commit(message_notices(message, audit))


def message_notices(message: Message, audit: TicketEvent) -> list[Notice]:
    """Log a new message for its agents; the notices to send after commit."""
    event = events.message_created(message, audit)
    notices = []
    # The customer's own group gets only what the customer may read, and first:
    # the customer's other tabs should not wait for the staff's screens.
    if message.ticket.channel == Channel.CHAT and not message.is_internal_note:
        chat = events.chat_message(message, audit)
        notices += desk_notices([events.chat_group(message.ticket_id)], chat)
    notices += agent_services.message_created(message=message, event=event)
    groups = [events.ticket_group(message.ticket_id), events.SUPERVISORS_GROUP]
    return notices + desk_notices(groups, event)
