"""Step 3 of batched intake (``tickets.email_batch``): thread a batch of
messages in memory in arrival order, then write it in bulk.

A ticket to be opened is a ``Pending`` placeholder that claims Message-IDs as
the single path's row would; customers, tickets, messages, audit rows,
attachments, thread ids, acknowledgements and the inbound rows are then
written with bulk inserts. The rare cases (noise on a ticket, a message that
changes its ticket's state) call the single path's functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from supportdesk.bulk_insert import insert_many
from tickets import auto_mail, bulk, services
from tickets.email_services import (
    ADD,
    NEW,
    NOISE,
    NOTE,
    OPEN,
    THREADED,
    Receipt,
    add_customer_message,
    attachment_rows,
    flags_for,
    message_fields,
    person_of,
    record_noise,
    route,
    sender_of,
)
from tickets.email_threads import (
    email_ids_claim_many,
    is_participant,
    match_thread,
    old_token_secrets,
    ticket_id_from_ref,
    token_secret,
)
from tickets.intake import ParsedEmail, find_token, index_ids
from tickets.intake.threading import subject_tags
from tickets.models import (
    Attachment,
    Channel,
    EmailThreadId,
    InboundEmail,
    InboundStatus,
    Message,
    Ticket,
)
from tickets.states import Status


class Pending:
    """A ticket this batch opens: a thread-index value until it is inserted."""

    ticket: Ticket | None = None


@dataclass(eq=False)
class Item:
    inbound: InboundEmail
    parsed: ParsedEmail
    verdict: object
    flags: dict = field(default_factory=dict)
    action: str = NOISE
    ticket: int | Pending | None = None
    message: Message | None = None


class Batch:
    def __init__(self, items: list[Item]) -> None:
        self.items = items
        ids = {i for item in items for i in _candidate_ids(item)}
        self.known: dict = dict(
            EmailThreadId.objects.filter(message_id__in=ids).values_list(
                "message_id", "ticket_id"
            )
        )
        self.claims: list[tuple[str, int | Pending]] = []
        self.participants: dict[object, set[str]] = {}
        wanted = set(self.known.values()) | {
            ticket_id_from_ref(ref) for item in items for ref in _refs(item.parsed)
        }
        # Locked, like message_add does, so no agent changes them under us.
        self.tickets = {
            t.pk: t
            for t in Ticket.objects.select_for_update()
            .filter(pk__in=wanted - {None})
            .order_by("pk")
        }

    def run(self) -> dict[int, Receipt]:
        for item in self.items:
            self._thread(item)
        self._open([i for i in self.items if i.action == OPEN])
        for item in self.items:
            if isinstance(item.ticket, Pending):
                item.ticket = item.ticket.ticket.pk
            _resolve_conflicts(item.flags)
        self._add([i for i in self.items if i.action == ADD])
        for item in self.items:
            if item.action == NOTE:
                item.message = record_noise(
                    item.ticket, item.parsed, item.verdict, item.flags
                )
        self._write_rest()
        return {item.inbound.pk: _receipt(item) for item in self.items}

    # threading, in memory, in arrival order

    def _thread(self, item: Item) -> None:
        match = match_thread(
            item.parsed,
            item.verdict,
            find_by_message_ids=self._known_ids,
            find_by_ref=self._ticket_by_ref,
            is_participant=self.is_participant,
        )
        item.flags = flags_for(item.parsed, item.verdict, match)
        ticket = match.ticket
        closed = ticket in self.tickets and self.tickets[ticket].status == Status.CLOSED
        item.action, target = route(
            ticket, item.verdict, closed=closed, flags=item.flags
        )
        if item.action == NOISE:
            return
        item.ticket = Pending() if item.action == OPEN else target
        for message_id in index_ids(item.parsed):
            if message_id not in self.known:
                self.known[message_id] = item.ticket
                self.claims.append((message_id, item.ticket))
        sender = sender_of(item.parsed)
        if sender:
            self.participants.setdefault(item.ticket, set()).add(sender)

    def _known_ids(self, ids: list[str]) -> dict:
        return {i: self.known[i] for i in ids if i in self.known}

    def _ticket_by_ref(self, ref: str) -> int | None:
        ticket_id = ticket_id_from_ref(ref)
        return ticket_id if ticket_id in self.tickets else None

    def is_participant(self, ticket, address: str) -> bool:
        if address.strip().lower() in self.participants.get(ticket, ()):
            return True
        return isinstance(ticket, int) and is_participant(ticket, address)

    # writing

    def _open(self, items: list[Item]) -> None:
        for item in items:  # a follow-up may conflict with a ticket of this batch
            _resolve_conflicts(item.flags)
        people = [person_of(item.parsed) for item in items]
        customers = bulk.customers_get_or_create_many(people=people)
        openings = [
            bulk.Opening(
                customer=customer,
                subject=item.parsed.subject,
                text=item.parsed.text,
                html=item.parsed.html,
                channel=Channel.EMAIL,
                message_fields=message_fields(item.parsed, item.flags),
            )
            for item, customer in zip(items, customers, strict=True)
        ]
        opened = bulk.tickets_open_many(openings=openings)
        for item, (ticket, message) in zip(items, opened, strict=True):
            item.ticket.ticket = ticket
            item.message = message
            self.tickets[ticket.pk] = ticket
        if settings.EMAIL_ACKNOWLEDGE and opened:
            self._acknowledge(opened)

    def _acknowledge(self, opened: list[tuple[Ticket, Message]]) -> None:
        from tickets.outbox import outbox_enqueue_acknowledgements

        addresses = [t.customer.email for t, _ in opened if t.customer.email]
        allowed = auto_mail.allowed_many(addresses=addresses)
        chosen = []
        for ticket, message in opened:
            address = (ticket.customer.email or "").strip().lower()
            if address in allowed:
                allowed.discard(address)  # the first new ticket per sender
                chosen.append((ticket, message))
        outbox_enqueue_acknowledgements(tickets=chosen)

    def _add(self, items: list[Item]) -> None:
        """Quiet tickets in bulk; a ticket the message moves, one by one."""
        moving = {
            t.pk
            for t in self.tickets.values()
            if t.status in services.CUSTOMER_MESSAGE_ACTIONS
        }
        quiet = [i for i in items if i.ticket not in moving]
        messages = bulk.customer_messages_add_many(
            items=[
                (
                    self.tickets[i.ticket],
                    i.parsed.text,
                    i.parsed.html,
                    message_fields(i.parsed, i.flags),
                )
                for i in quiet
            ]
        )
        for item, message in zip(quiet, messages, strict=True):
            item.message = message
        for item in items:
            if item.ticket in moving:
                item.message = add_customer_message(
                    item.ticket, item.parsed, item.flags
                )

    def _write_rest(self) -> None:
        stored = [i for i in self.items if i.message is not None]
        insert_many(
            Attachment,
            [row for i in stored for row in attachment_rows(i.message, i.parsed)],
        )
        email_ids_claim_many(
            claims=[(m, _ticket_pk(t)) for m, t in self.claims if t is not None]
        )
        now = timezone.now()
        for item in self.items:
            row = item.inbound
            row.status = (
                InboundStatus.NOISE if item.action == NOISE else InboundStatus.PROCESSED
            )
            row.flags = {**row.flags, **item.flags}
            row.processed_at = now
            row.message = item.message
            row.ticket_id = item.message.ticket_id if item.message else None
        _save_rows(
            [i.inbound for i in self.items],
            ["status", "flags", "processed_at", "message", "ticket"],
        )


def _save_rows(rows: list[InboundEmail], names: list[str]) -> None:
    """One UPDATE per row, sent as one executemany (pipelined by psycopg):
    ``bulk_update``'s CASE expressions cost more CPU than the rows' writes."""
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: it is read per value
    fields = [InboundEmail._meta.get_field(name) for name in names]
    quote = db.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(InboundEmail._meta.db_table)} SET {assignments} WHERE id = %s"
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), db) for f in fields] + [row.pk]
        for row in rows
    ]
    with db.cursor() as cursor:
        cursor.executemany(sql, params)


def _candidate_ids(item: Item) -> list[str]:
    extra = item.verdict.original_message_id
    return [*index_ids(item.parsed), *([extra] if extra else [])]


def _refs(parsed: ParsedEmail) -> list[str]:
    token = find_token(parsed, secret=token_secret(), old_secrets=old_token_secrets())
    return [*([token] if token else []), *subject_tags(parsed.subject)]


def _ticket_pk(ticket: int | Pending) -> int | None:
    """The id of a ticket; None for one this batch has not inserted yet."""
    if not isinstance(ticket, Pending):
        return ticket
    return ticket.ticket.pk if ticket.ticket else None


def _resolve_conflicts(flags: dict) -> None:
    if "thread_conflicts" in flags:
        flags["thread_conflicts"] = [_ticket_pk(t) for t in flags["thread_conflicts"]]


def _receipt(item: Item) -> Receipt:
    if item.action == NOISE:
        return Receipt(NOISE, item.inbound.pk)
    outcome = NEW if item.action == OPEN else THREADED
    message = item.message
    return Receipt(outcome, item.inbound.pk, message.ticket_id, message.pk)
