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
from supportdesk.realtime import Publication, publish_many_on_commit
from tickets import events, states
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
from tickets.swap import swap


class TicketConflict(Exception):
    """Someone else changed the ticket first; the caller lost the race."""


class TicketNotFound(Exception):
    pass


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
    _publish_ticket(ticket, audit)
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
    publish_many_on_commit(
        [p for audit in audits for p in ticket_publications(audit.ticket, audit)]
    )
    return audits


def _publish_ticket(ticket: Ticket, audit: TicketEvent, *, new: bool = False) -> None:
    publish_many_on_commit(ticket_publications(ticket, audit, new=new))


def ticket_publications(
    ticket: Ticket, audit: TicketEvent, *, new: bool = False
) -> list[Publication]:
    """Tell the agents about a ticket's change; what to publish after commit."""
    from agents import services as agent_services

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


def _publish_message(message: Message, audit: TicketEvent) -> None:
    publish_many_on_commit(message_publications(message, audit))


def message_publications(message: Message, audit: TicketEvent) -> list[Publication]:
    """Tell the agents about a new message; what to publish after commit."""
    from agents import services as agent_services

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
    _publish_ticket(ticket, audit, new=True)
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
        ticket, target, error = _swap(
            ticket_id, action, changes, condition, condition_error, current
        )
        if error is None:
            before = {"status": ticket.status, **_snapshot(ticket, changes)}
            _apply(ticket, target, changes)
            after = {"status": ticket.status, **_snapshot(ticket, changes)}
            audit = _audit(
                ticket=ticket,
                kind=f"status.{action}",
                actor_id=actor_id,
                actor_kind=actor_kind,
                before=before,
                after=after,
            )
            _publish_ticket(ticket, audit)
    if error is not None:
        raise error
    return ticket


def _swap(
    ticket_id: int,
    action: str,
    changes: dict[str, Any],
    condition: Q | None,
    condition_error: str,
    current: Ticket | None = None,
) -> tuple[Ticket | None, str, Exception | None]:
    """The compare-and-swap: (ticket as read, target status, error or None)."""
    for _ in range(3):
        try:
            ticket, current = current or _get(ticket_id), None
            target = states.next_status(ticket.status, action)
        except (TicketNotFound, states.IllegalTransition) as error:
            return None, "", error
        ticket.updated_at = timezone.now()
        updated = swap(
            ticket_id=ticket_id,
            version=ticket.version,
            values={"status": target, "updated_at": ticket.updated_at, **changes},
            condition=condition,
        )
        if updated:
            return ticket, target, None
        if condition is not None and _version(ticket_id) == ticket.version:
            error = TicketConflict(condition_error or f"cannot {action} now")
            return None, "", error
    return None, "", TicketConflict(f"ticket {ticket_id} keeps changing; try again")


def _apply(ticket: Ticket, target: str, changes: dict[str, Any]) -> None:
    """Bring the row read before the UPDATE to what the UPDATE wrote.

    Saves re-reading the row; an expression among ``changes`` (rare) is
    only known to the database, so then the row is read back.
    """
    if any(hasattr(value, "resolve_expression") for value in changes.values()):
        ticket.refresh_from_db()
        return
    ticket.status, ticket.version = target, ticket.version + 1
    for field, value in changes.items():
        setattr(ticket, field, value)


def _version(ticket_id: int) -> int | None:
    return Ticket.objects.filter(pk=ticket_id).values_list("version", flat=True).first()


def _stamps(action: str) -> dict[str, Any]:
    """Timestamps an action sets, so no caller can forget them."""
    now = timezone.now()
    return {
        states.Action.RESOLVE: {"resolved_at": now},
        states.Action.CLOSE: {"closed_at": now},
        states.Action.REOPEN: {"resolved_at": None},
    }.get(action, {})


# Every transition reads its ticket first; compiled once (prepared.py).
_TICKET = PreparedRead(lambda: Ticket.objects.filter(pk=0))


def _get(ticket_id: int) -> Ticket:
    ticket = _TICKET.first(ticket_id)
    if ticket is None:
        raise TicketNotFound(f"ticket {ticket_id} does not exist")
    return ticket


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
    _publish_ticket(ticket, audit)
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
    _publish_message(message, audit)
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
