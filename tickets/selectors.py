"""Reads that depend on who is asking.

``ticket_get_for_user`` is *the* access check, shared by the API, the
consumers and the admin: supervisors see everything, agents what is offered to
or held by them, customers their own tickets, anyone else nothing.
"""

from django.db.models import Q, QuerySet

from tickets import roles
from tickets.models import Message, Ticket, TicketEvent


def ticket_visible_to(user) -> Q | None:
    """A filter for the tickets ``user`` may see; None means none at all."""
    if roles.is_supervisor(user):
        return Q()
    if not user.is_authenticated:
        return None
    rule = Q(assignee_id=user.pk) | Q(offered_to_id=user.pk)
    if roles.is_agent(user):
        return rule
    customer = roles.customer_of(user)
    if customer is not None:
        return Q(customer_id=customer.pk)
    return None


def ticket_list_for_user(user, *, filters: dict | None = None) -> QuerySet[Ticket]:
    rule = ticket_visible_to(user)
    if rule is None:
        return Ticket.objects.none()
    queryset = Ticket.objects.filter(rule).select_related("customer", "assignee")
    return queryset.filter(**(filters or {}))


def ticket_get_for_user(user, *, ticket_id: int) -> Ticket | None:
    return ticket_list_for_user(user).filter(pk=ticket_id).first()


def message_list_for_user(user, *, ticket: Ticket) -> QuerySet[Message]:
    """Messages of a ticket the user may already see; customers never see notes."""
    messages = Message.objects.filter(ticket=ticket).prefetch_related("attachments")
    if not (roles.is_supervisor(user) or roles.is_agent(user)):
        messages = messages.filter(is_internal_note=False)
    return messages.order_by("id")


def event_list_for_ticket(*, ticket: Ticket) -> QuerySet[TicketEvent]:
    return (
        TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("id")
    )
