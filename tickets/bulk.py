"""Bulk forms of the services' writes, for backlogs (batched email intake).

The same rules as ``tickets.services``, many rows per statement: the caller's
transaction holds every row, each ticket and message gets its audit row, the
events publish after commit through the services' own publishers, and triage
is queued after commit with one broker message for the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from supportdesk.bulk_insert import insert_many
from supportdesk.realtime import send_on_commit
from tickets import publications, services
from tickets.models import (
    AuthorKind,
    Customer,
    Message,
    Ticket,
    TicketEvent,
)
from tickets.states import Status


@dataclass
class Opening:
    """A ticket to open with the customer's first message."""

    customer: Customer
    subject: str
    text: str
    channel: str
    html: str = ""
    message_fields: dict[str, Any] = field(default_factory=dict)


def customers_get_or_create_many(
    *, people: list[tuple[str | None, str]]
) -> list[Customer]:
    """The customer for each (email, name), created on first contact.

    Like ``services.customer_get_or_create``: addresses are lower-cased, the
    first name seen is kept, and no address means a new anonymous customer.
    """
    names: dict[str, str] = {}
    for email, name in people:
        if email:
            names.setdefault(email.strip().lower(), name)
    found = {c.email: c for c in Customer.objects.filter(email__in=list(names))}
    missing = [Customer(email=e, name=n) for e, n in names.items() if e not in found]
    if missing:
        # A concurrent first contact may win an insert; read back either way.
        Customer.objects.bulk_create(missing, ignore_conflicts=True)
        created = Customer.objects.filter(email__in=[c.email for c in missing])
        found.update({c.email: c for c in created})
    anonymous = insert_many(
        Customer, [Customer(name=name) for email, name in people if not email]
    )
    unnamed = iter(anonymous)
    return [found[e.strip().lower()] if e else next(unnamed) for e, _ in people]


def tickets_open_many(*, openings: list[Opening]) -> list[tuple[Ticket, Message]]:
    """``services.ticket_create`` for many tickets at once."""
    tickets = insert_many(
        Ticket,
        [
            services.ticket_build(
                customer=o.customer, subject=o.subject, channel=o.channel
            )
            for o in openings
        ],
    )
    messages = insert_many(
        Message,
        [
            services.customer_message_build(
                ticket=ticket,
                channel=o.channel,
                text=o.text,
                html=o.html,
                fields=o.message_fields,
            )
            for ticket, o in zip(tickets, openings, strict=True)
        ],
    )
    audits = insert_many(
        TicketEvent,
        [
            _customer_event(
                t,
                "ticket.created",
                {"status": t.status, "channel": t.channel, "message_id": m.pk},
            )
            for t, m in zip(tickets, messages, strict=True)
        ],
    )
    send_on_commit(
        [
            notice
            for ticket, audit in zip(tickets, audits, strict=True)
            for notice in publications.ticket_notices(ticket, audit, new=True)
        ]
    )
    triage_many(message_ids=[m.pk for m in messages])
    return list(zip(tickets, messages, strict=True))


def customer_messages_add_many(
    *, items: list[tuple[Ticket, str, str, dict[str, Any]]]
) -> list[Message]:
    """``services.message_add`` of customer messages, (ticket, text, html, fields).

    Only for tickets the caller has locked and whose state a customer message
    does not change (not in ``CUSTOMER_MESSAGE_ACTIONS``, not closed): there,
    adding the message, its audit row and its triage is all that happens.
    """
    for ticket, *_ in items:
        if (
            ticket.status in services.CUSTOMER_MESSAGE_ACTIONS
            or ticket.status == Status.CLOSED
        ):
            raise ValueError(f"ticket {ticket.pk} needs message_add")
    messages = insert_many(
        Message,
        [
            services.customer_message_build(
                ticket=ticket,
                channel=ticket.channel,
                text=text,
                html=html,
                fields=fields,
            )
            for ticket, text, html, fields in items
        ],
    )
    audits = insert_many(
        TicketEvent,
        [
            _customer_event(m.ticket, "message.created", {"message_id": m.pk})
            for m in messages
        ],
    )
    send_on_commit(
        [
            notice
            for message, audit in zip(messages, audits, strict=True)
            for notice in publications.message_notices(message, audit)
        ]
    )
    triage_many(message_ids=[m.pk for m in messages])
    return messages


def _customer_event(ticket: Ticket, kind: str, after: dict[str, Any]) -> TicketEvent:
    return TicketEvent(
        ticket=ticket, actor_kind=AuthorKind.CUSTOMER, kind=kind, after=after
    )


def triage_many(*, message_ids: list[int]) -> None:
    """Queue triage of these messages after commit, one broker message in all."""
    from tickets.tasks import fan_out

    if message_ids:
        fan_out.delay_on_commit("triage.tasks:triage_message", message_ids)
