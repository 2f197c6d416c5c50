"""What a ticket's change or new message tells whom, published after commit.

The agents' consoles read their own event log (``agents.services``), the
ticket's watchers and the supervisors get ``ticket.updated`` and
``message.created``, and a chat ticket's customer gets what a customer may read.
"""

from agents import services as agent_services
from supportdesk.realtime import Publication, publish_many_on_commit
from tickets import events
from tickets.models import Channel, Message, Ticket, TicketEvent


def publish_ticket(ticket: Ticket, audit: TicketEvent, *, new: bool = False) -> None:
    publish_many_on_commit(ticket_publications(ticket, audit, new=new))


def ticket_publications(
    ticket: Ticket, audit: TicketEvent, *, new: bool = False
) -> list[Publication]:
    """Tell the agents about a ticket's change; what to publish after commit."""
    event = events.ticket_updated(ticket, audit)
    # Agents' consoles read from their own event log; dispatch reacts too.
    # First, so the next offer goes out before the watchers are told.
    agent_services.ticket_changed(ticket=ticket, audit=audit, event=event)
    # A ticket's watchers are let in only once it exists (the consumer checks
    # access), so a new ticket has none yet: one publish instead of two.
    groups = [events.SUPERVISORS_GROUP]
    if not new:
        groups.insert(0, events.ticket_group(ticket.pk))
    publications = [(groups, event)]
    if ticket.channel == Channel.CHAT:
        chat = events.chat_ticket_changed(ticket, audit)
        publications.append(([events.chat_group(ticket.pk)], chat))
    return publications


def publish_message(message: Message, audit: TicketEvent) -> None:
    publish_many_on_commit(message_publications(message, audit))


def message_publications(message: Message, audit: TicketEvent) -> list[Publication]:
    """Tell the agents about a new message; what to publish after commit."""
    event = events.message_created(message, audit)
    groups = [events.ticket_group(message.ticket_id), events.SUPERVISORS_GROUP]
    publications = [(groups, event)]
    # The customer's own group gets only what the customer may read, and first:
    # the customer's other tabs should not wait for the staff's screens.
    if message.ticket.channel == Channel.CHAT and not message.is_internal_note:
        chat = events.chat_message(message, audit)
        publications.insert(0, ([events.chat_group(message.ticket_id)], chat))
    agent_services.message_created(message=message, event=event)
    return publications
