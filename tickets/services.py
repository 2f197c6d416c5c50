"""Every write to customers, tickets and messages.

Each function takes plain values, runs in one transaction, writes the audit
event and publishes what changed after commit.
"""

import secrets
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from supportdesk.bulk_insert import insert_many, insert_one
from supportdesk.enqueue import enqueue_on_commit
from supportdesk.prepared import PreparedRead
from supportdesk.realtime import send_on_commit
from tickets import publications, states, swap
from tickets.models import (
    AuthorKind,
    Channel,
    Customer,
    Direction,
    Message,
    Priority,
    Ticket,
    TicketEvent,
)
from tickets.states import TicketNotFound


def _audit(
    *,
    ticket: Ticket,
    kind: str,
    actor_id: int | None,
    actor_kind: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> TicketEvent:
    return insert_one(
        TicketEvent(
            ticket=ticket,
            actor_id=actor_id,
            actor_kind=actor_kind,
            kind=kind,
            before=before or {},
            after=after or {},
        )
    )


def audit_write(
    *,
    ticket: Ticket,
    kind: str,
    after: dict[str, Any] | None = None,
    actor_kind: str = AuthorKind.SYSTEM,
    actor_id: int | None = None,
) -> TicketEvent:
    """Record an event (mail queued, sent, failed, bounced, resent) and publish it."""
    audit = _audit(
        ticket=ticket, kind=kind, actor_id=actor_id, actor_kind=actor_kind, after=after
    )
    publications.publish_ticket(ticket, audit)
    return audit


def audit_write_many(
    *, events: list[tuple[Ticket, str, dict[str, Any]]]
) -> list[TicketEvent]:
    """``audit_write`` of many system events, (ticket, kind, after), one insert."""
    audits = insert_many(
        TicketEvent,
        [
            TicketEvent(ticket=t, actor_kind=AuthorKind.SYSTEM, kind=kind, after=after)
            for t, kind, after in events
        ],
    )
    send_on_commit(
        [
            notice
            for audit in audits
            for notice in publications.ticket_notices(audit.ticket, audit)
        ]
    )
    return audits


def _enqueue_triage(message_id: int) -> None:
    from triage.tasks import triage_message

    # One LPUSH instead of delay()'s kombu machinery (supportdesk/enqueue.py).
    enqueue_on_commit(triage_message, message_id)


# The API looks a customer up on every create; compiled once (prepared.py).
_CUSTOMER_BY_EMAIL = PreparedRead(
    lambda: Customer.objects.filter(email="placeholder").order_by("pk")[:1]
)


def customer_get_or_create(
    *, email: str | None, name: str = "", language: str = ""
) -> Customer:
    """The customer with this address, created on first contact."""
    if not email:
        return Customer.objects.create(name=name, preferred_language=language)
    email = email.strip().lower()
    customer = _CUSTOMER_BY_EMAIL.first(email)
    if customer is None:
        with transaction.atomic():
            customer, _ = Customer.objects.get_or_create(
                email=email, defaults={"name": name, "preferred_language": language}
            )
    return customer


def ticket_build(*, customer: Customer, subject: str, channel: str) -> Ticket:
    """A new ticket, not yet saved: for ``ticket_create`` and bulk intake."""
    return Ticket(
        subject=subject[:300] or "(no subject)",
        channel=channel,
        customer=customer,
        reply_token=secrets.token_hex(8),
    )


def customer_message_build(
    *, ticket: Ticket, channel: str, text: str, html: str, fields: dict[str, Any]
) -> Message:
    """A customer's inbound message, not yet saved."""
    return Message(
        ticket=ticket,
        direction=Direction.INBOUND,
        author_kind=AuthorKind.CUSTOMER,
        channel=channel,
        text=text,
        html=html,
        **fields,
    )


@transaction.atomic
def ticket_create(
    *,
    customer: Customer,
    subject: str,
    text: str,
    channel: str = Channel.API,
    actor_id: int | None = None,
    html: str = "",
    raw: bytes | None = None,
    message_fields: dict[str, Any] | None = None,
) -> tuple[Ticket, Message]:
    """Open a ticket with the customer's first message and queue its triage."""
    ticket = insert_one(
        ticket_build(customer=customer, subject=subject, channel=channel)
    )
    message = customer_message_build(
        ticket=ticket,
        channel=channel,
        text=text,
        html=html,
        fields={"raw": raw, **(message_fields or {})},
    )
    insert_one(message)
    audit = _audit(
        ticket=ticket,
        kind="ticket.created",
        actor_id=actor_id,
        actor_kind=AuthorKind.CUSTOMER if actor_id is None else "user",
        after={"status": ticket.status, "channel": channel, "message_id": message.pk},
    )
    publications.publish_ticket(ticket, audit, new=True)
    _enqueue_triage(message.pk)
    return ticket, message


def ticket_transition(
    *,
    ticket_id: int,
    action: str,
    actor_id: int | None = None,
    actor_kind: str = AuthorKind.SYSTEM,
    changes: dict[str, Any] | None = None,
    condition: Q | None = None,
    condition_error: str = "",
    current: Ticket | None = None,
) -> Ticket:
    """Apply one state-machine action as a single conditional UPDATE.

    The UPDATE only matches the row at the version that was read (and, when
    given, ``condition``), so of two racing writers exactly one wins; the
    loser re-reads and gets a clear IllegalTransition or TicketConflict.
    ``current`` saves the first read: the row as the caller read it, locked
    (FOR UPDATE), in this transaction.
    """
    changes = {**_stamps(action), **(changes or {})}
    # No savepoint: a lost race writes nothing, so the error is raised after
    # the block and a caller's own transaction stays usable; a winner's
    # UPDATE and audit row commit (or roll back) with the caller's work.
    with transaction.atomic(savepoint=False):
        ticket, target, error = swap.compare_and_swap(
            ticket_id, action, changes, condition, condition_error, current
        )
        if error is None:
            before = {"status": ticket.status, **_snapshot(ticket, changes)}
            swap.apply_changes(ticket, target, changes)
            after = {"status": ticket.status, **_snapshot(ticket, changes)}
            audit = _audit(
                ticket=ticket,
                kind=f"status.{action}",
                actor_id=actor_id,
                actor_kind=actor_kind,
                before=before,
                after=after,
            )
            publications.publish_ticket(ticket, audit)
    if error is not None:
        raise error
    return ticket


def _stamps(action: str) -> dict[str, Any]:
    """Timestamps an action sets, so no caller can forget them."""
    now = timezone.now()
    return {
        states.Action.RESOLVE: {"resolved_at": now},
        states.Action.CLOSE: {"closed_at": now},
        states.Action.REOPEN: {"resolved_at": None},
    }.get(action, {})


def _snapshot(ticket: Ticket, changes: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for field in changes:
        value = getattr(ticket, field)
        out[field] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


@transaction.atomic
def ticket_set_fields(
    *,
    ticket_id: int,
    fields: dict[str, Any],
    actor_id: int | None = None,
    actor_kind: str = AuthorKind.SYSTEM,
) -> Ticket:
    """Change descriptive fields (category, priority, language, ...), audited."""
    allowed = {
        "category",
        "priority",
        "language",
        "sentiment",
        "wants_human",
        "subject",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not settable here: {', '.join(sorted(unknown))}")
    ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
    before = {name: getattr(ticket, name) for name in fields}
    if before == fields:
        return ticket
    Ticket.objects.filter(pk=ticket_id).update(
        version=F("version") + 1, updated_at=timezone.now(), **fields
    )
    ticket.refresh_from_db()
    audit = _audit(
        ticket=ticket,
        kind="ticket.fields",
        actor_id=actor_id,
        actor_kind=actor_kind,
        before=before,
        after=fields,
    )
    publications.publish_ticket(ticket, audit)
    return ticket


def message_add(
    *,
    ticket_id: int,
    author_kind: str,
    text: str,
    author_id: int | None = None,
    internal: bool = False,
    channel: str | None = None,
    html: str = "",
    fields: dict[str, Any] | None = None,
) -> Message:
    """Add a message to a ticket and move the ticket along.

    A customer message reopens a resolved ticket and is triaged; an agent's
    reply marks the first response; an internal note changes nothing else.
    """
    # No savepoint, as in ticket_transition: a refusal is decided before any
    # write and raised after the block, so a caller's transaction stays
    # usable, and a chat message saves the SAVEPOINT and RELEASE round trips.
    with transaction.atomic(savepoint=False):
        ticket = _TICKET_FOR_UPDATE.first(ticket_id)
        error = _message_refusal(ticket, ticket_id, internal)
        if error is None:
            message = _message_write(
                ticket,
                author_kind=author_kind,
                author_id=author_id,
                text=text,
                internal=internal,
                channel=channel,
                html=html,
                fields=fields or {},
            )
    if error is not None:
        raise error
    return message


# Every message locks its ticket; compiled once (prepared.py), inside the
# first message's transaction, as FOR UPDATE requires.
_TICKET_FOR_UPDATE = PreparedRead(
    lambda: Ticket.objects.select_for_update().filter(pk=0)[:1]
)


def _message_refusal(ticket: Ticket | None, ticket_id: int, internal: bool):
    if ticket is None:
        return TicketNotFound(f"ticket {ticket_id} does not exist")
    if ticket.status == states.Status.CLOSED and not internal:
        return states.IllegalTransition("add a message to", ticket.status)
    return None


def _message_write(
    ticket: Ticket,
    *,
    author_kind: str,
    author_id: int | None,
    text: str,
    internal: bool,
    channel: str | None,
    html: str,
    fields: dict[str, Any],
) -> Message:
    message = insert_one(
        Message(
            ticket=ticket,
            direction=_direction(author_kind, internal),
            author_kind=author_kind,
            author_user_id=author_id,
            channel=channel or ticket.channel,
            text=text,
            html=html,
            is_internal_note=internal,
            **fields,
        )
    )
    audit = _audit(
        ticket=ticket,
        kind="message.internal_note" if internal else "message.created",
        actor_id=author_id,
        actor_kind=author_kind,
        after={"message_id": message.pk},
    )
    publications.publish_message(message, audit)
    if not internal:
        _after_message(ticket, message)
        _deliver(ticket, message)
    return message


def _deliver(ticket: Ticket, message: Message) -> None:
    """Replies go out by email through the outbox, after commit, where wanted."""
    from tickets import outbox

    to = outbox.reply_to_customer(message, ticket)
    if to:
        outbox.outbox_enqueue_reply(ticket=ticket, message=message, to=to)


def _direction(author_kind: str, internal: bool) -> str:
    if internal:
        return Direction.INTERNAL
    if author_kind == AuthorKind.CUSTOMER:
        return Direction.INBOUND
    return Direction.OUTBOUND


# What a customer's message does to a ticket in these states; in any other
# state it only queues triage (bulk intake relies on that).
CUSTOMER_MESSAGE_ACTIONS = {
    states.Status.RESOLVED: states.Action.REOPEN,
    states.Status.WAITING_ON_CUSTOMER: states.Action.CUSTOMER_REPLY,
    states.Status.AUTO_ANSWERED: states.Action.TRIAGE,
}


def _after_message(ticket: Ticket, message: Message) -> None:
    status = ticket.status
    if message.author_kind == AuthorKind.CUSTOMER:
        action = CUSTOMER_MESSAGE_ACTIONS.get(status)
        if action:
            ticket_transition(ticket_id=ticket.pk, action=action)
        _enqueue_triage(message.pk)
        return
    if ticket.first_response_at is None:
        Ticket.objects.filter(pk=ticket.pk, first_response_at__isnull=True).update(
            first_response_at=message.created_at
        )
    if message.author_kind == AuthorKind.AGENT and status == states.Status.CLAIMED:
        ticket_transition(
            ticket_id=ticket.pk,
            action=states.Action.REPLY,
            actor_id=message.author_user_id,
            actor_kind=AuthorKind.AGENT,
        )


def priority_from_label(label: str) -> int:
    """``"urgent"`` -> Priority.URGENT; ValueError for anything else."""
    for value, name in Priority.choices:
        if name == label:
            return value
    raise ValueError(f"unknown priority {label!r}")
