"""Triage writes: read a customer message, route its ticket."""

from tickets import services as ticket_services
from tickets.models import Message
from tickets.states import Action, IllegalTransition, Status


def message_triage(*, message_id: int) -> None:
    """Route the message's ticket to the human queue.

    Idempotent: a ticket that has already left ``new``/``triaging`` is left
    alone, so a redelivered task changes nothing.
    """
    message = Message.objects.select_related("ticket").filter(pk=message_id).first()
    if message is None:
        return
    ticket = message.ticket
    try:
        if ticket.status == Status.NEW:
            ticket_services.ticket_transition(ticket_id=ticket.pk, action=Action.TRIAGE)
        ticket_services.ticket_transition(
            ticket_id=ticket.pk, action=Action.ROUTE_HUMAN
        )
    except IllegalTransition:
        return
