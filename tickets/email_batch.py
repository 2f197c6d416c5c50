"""Batched email intake for backlogs: the same pipeline, many rows per statement.

``email_receive_batch`` gives each message what ``email_receive`` would, by
the same rules (``tickets.email_services`` and the pure ``tickets.intake``):

1. Parse every message.
2. Store the raw rows and commit: one SELECT of the dedup keys already
   stored, one INSERT of the new rows. Anything unusual (a reused
   Message-ID, a redelivery through another route, a concurrent insert) goes
   through the single path's ``_store_raw``, so the unique key still decides.
3. Process in one transaction: lock the rows still ``received`` (a concurrent
   or repeated batch skips what another one processes), prefetch the thread
   index and lock the candidate tickets, thread the messages in memory in
   arrival order (a ticket to be opened is a placeholder that claims ids as
   the single path's row would), then write customers, tickets, messages,
   audit rows, attachments, thread ids, acknowledgements and the inbound
   rows in bulk. The rare cases (noise on a ticket, a message that changes
   its ticket's state) call the single path's functions in that transaction.
4. If that transaction fails, each message is processed on its own
   (``inbound_email_reprocess``): one bad message never blocks the others.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone

from supportdesk.bulk_insert import insert_many
from tickets import auto_mail, bulk, services
from tickets.email_services import (
    ADD,
    DUPLICATE,
    NEW,
    NOISE,
    NOTE,
    OPEN,
    THREADED,
    Receipt,
    _store_raw,
    add_customer_message,
    attachment_rows,
    dedup_key,
    flags_for,
    inbound_email_reprocess,
    message_fields,
    parse,
    person_of,
    quarantine,
    raw_fields,
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
from tickets.intake import ParsedEmail, classify, find_token, index_ids
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

logger = logging.getLogger(__name__)
BATCH_SIZE = 200


@dataclass(frozen=True)
class Incoming:
    raw: bytes
    source_ref: str = ""
    error: str = ""  # why the bytes could not be read; the row is quarantined


def email_receive_many(
    *,
    items: Iterable[Incoming],
    source: str,
    batch_size: int = BATCH_SIZE,
    parse_workers: int = 0,
) -> Iterator[Receipt]:
    """``email_receive_batch`` over any number of messages, in batches.

    With ``parse_workers``, the next batch is parsed in other processes while
    this one is written, split between them: parsing is pure CPU and more
    than half the work.
    """
    iter_items = iter(items)
    batches = iter(lambda: list(islice(iter_items, batch_size)), [])
    if not parse_workers:
        for batch in batches:
            yield from email_receive_batch(items=batch, source=source)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(parse_workers, mp_context=context) as pool:
        ahead = None
        for batch in batches:
            futures = _parse_ahead(pool, batch, parse_workers)
            if ahead is not None:
                yield from _receive_parsed(*ahead, source=source)
            ahead = (batch, futures)
        if ahead is not None:
            yield from _receive_parsed(*ahead, source=source)


def _parse_ahead(pool: ProcessPoolExecutor, batch: list[Incoming], workers: int):
    """Futures of ``_parse_all`` over ``batch`` in one slice per worker."""
    size = -(-len(batch) // workers)
    raws = [item.raw for item in batch]
    return [
        pool.submit(_parse_all, raws[start : start + size])
        for start in range(0, len(raws), size)
    ]


def _parse_all(raws: list[bytes]) -> list[ParsedEmail | None]:
    return [parse(raw) for raw in raws]


def _receive_parsed(batch: list[Incoming], futures, *, source: str) -> list[Receipt]:
    parsed = [one for future in futures for one in future.result()]
    return email_receive_batch(items=batch, source=source, parsed=parsed)


def email_receive_batch(
    *,
    items: Sequence[Incoming],
    source: str,
    parsed: list[ParsedEmail | None] | None = None,
) -> list[Receipt]:
    """Store and process ``items``; one receipt per item, in order.

    ``parsed`` is ``parse`` of each item, when the caller already has it.
    """
    parsed = parsed if parsed is not None else _parse_all([i.raw for i in items])
    stored = _store(items, parsed, source)
    first: dict[int, int] = {}  # inbound pk -> the index that processes it
    for index, (inbound, outcome) in enumerate(stored):
        # A row left "received" by a crash is processed now, once.
        if outcome == NEW or inbound.status == InboundStatus.RECEIVED:
            first.setdefault(inbound.pk, index)
    work = [(stored[i][0], parsed[i], items[i]) for i in first.values()]
    try:
        with transaction.atomic():
            results = _process(work)
    except Exception:
        logger.exception("an email batch failed; processing it one by one")
        results = {row.pk: _one(row, item) for row, _, item in work}
    receipts = []
    for index, (inbound, _) in enumerate(stored):
        result = results.get(inbound.pk)
        if result is not None and first[inbound.pk] == index:
            receipts.append(result)
        else:
            ticket_id = result.ticket_id if result else inbound.ticket_id
            receipts.append(Receipt(DUPLICATE, inbound.pk, ticket_id))
    return receipts


# --- 2. raw rows --------------------------------------------------------------


def _store(
    items: Sequence[Incoming], parsed: list[ParsedEmail | None], source: str
) -> list[tuple[InboundEmail, str]]:
    """(row, NEW or DUPLICATE) per item, committed before any processing."""
    with transaction.atomic():
        fields = [
            raw_fields(raw=i.raw, parsed=p, source=source, source_ref=i.source_ref)
            for i, p in zip(items, parsed, strict=True)
        ]
        keys = [
            dedup_key(content_hash=f["content_hash"], message_id=f["rfc_message_id"])
            for f in fields
        ]
        known = {
            row.dedup_key: row
            for row in InboundEmail.objects.filter(dedup_key__in=set(keys)).defer("raw")
        }
        out: list = [None] * len(items)
        unusual = []
        for index, (row_fields, key) in enumerate(zip(fields, keys, strict=True)):
            hit = known.get(key)
            if hit is None:
                known[key] = InboundEmail(dedup_key=key, **row_fields)
                out[index] = (known[key], NEW)
            elif hit.content_hash == row_fields["content_hash"]:
                out[index] = (hit, DUPLICATE)
            else:
                unusual.append(index)
        new = [row for row, outcome in filter(None, out) if outcome == NEW]
        try:
            with transaction.atomic():
                insert_many(InboundEmail, new)
        except IntegrityError:
            # Another writer stored one of them first: let the key decide each.
            unusual = range(len(items))
        for index in unusual:
            out[index] = _store_raw(
                raw=items[index].raw,
                parsed=parsed[index],
                source=source,
                source_ref=items[index].source_ref,
            )
    return out


# --- 3. processing ------------------------------------------------------------


def _one(inbound: InboundEmail, item: Incoming) -> Receipt:
    """The single path for one row of a failed batch."""
    if not item.error:
        return inbound_email_reprocess(inbound_id=inbound.pk)
    with transaction.atomic():
        row = InboundEmail.objects.select_for_update().get(pk=inbound.pk)
        if row.status != InboundStatus.RECEIVED:
            return Receipt(DUPLICATE, row.pk, row.ticket_id)
        return quarantine(row, item.error)


def _process(work: list[tuple[InboundEmail, ParsedEmail | None, Incoming]]):
    """Receipts by inbound pk for the rows this run holds."""
    pks = [row.pk for row, _, _ in work]
    held = set(
        InboundEmail.objects.select_for_update()
        .filter(pk__in=pks, status=InboundStatus.RECEIVED)
        .values_list("pk", flat=True)
    )
    results: dict[int, Receipt] = {}
    live = []
    for row, parsed, item in work:
        reason = item.error or _quarantine_reason(parsed)
        if row.pk not in held:  # another run processed it meanwhile
            results[row.pk] = Receipt(DUPLICATE, row.pk, row.ticket_id)
        elif reason:
            results[row.pk] = quarantine(row, reason)
        else:
            live.append(_Item(row, parsed, classify(parsed)))
    if live:
        results.update(_Batch(live).run())
    return results


def _quarantine_reason(parsed: ParsedEmail | None) -> str:
    if parsed is None:
        return "the parser crashed; see the logs"
    return parsed.quarantine_reason or ""


class _Pending:
    """A ticket this batch opens: a thread-index value until it is inserted."""

    ticket: Ticket | None = None


@dataclass(eq=False)
class _Item:
    inbound: InboundEmail
    parsed: ParsedEmail
    verdict: object
    flags: dict = field(default_factory=dict)
    action: str = NOISE
    ticket: int | _Pending | None = None
    message: Message | None = None


class _Batch:
    def __init__(self, items: list[_Item]) -> None:
        self.items = items
        ids = {i for item in items for i in _candidate_ids(item)}
        self.known: dict = dict(
            EmailThreadId.objects.filter(message_id__in=ids).values_list(
                "message_id", "ticket_id"
            )
        )
        self.claims: list[tuple[str, int | _Pending]] = []
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
            if isinstance(item.ticket, _Pending):
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

    def _thread(self, item: _Item) -> None:
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
        item.ticket = _Pending() if item.action == OPEN else target
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

    def _open(self, items: list[_Item]) -> None:
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

    def _add(self, items: list[_Item]) -> None:
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


def _candidate_ids(item: _Item) -> list[str]:
    extra = item.verdict.original_message_id
    return [*index_ids(item.parsed), *([extra] if extra else [])]


def _refs(parsed: ParsedEmail) -> list[str]:
    token = find_token(parsed, secret=token_secret(), old_secrets=old_token_secrets())
    return [*([token] if token else []), *subject_tags(parsed.subject)]


def _ticket_pk(ticket: int | _Pending) -> int | None:
    """The id of a ticket; None for one this batch has not inserted yet."""
    if not isinstance(ticket, _Pending):
        return ticket
    return ticket.ticket.pk if ticket.ticket else None


def _resolve_conflicts(flags: dict) -> None:
    if "thread_conflicts" in flags:
        flags["thread_conflicts"] = [_ticket_pk(t) for t in flags["thread_conflicts"]]


def _receipt(item: _Item) -> Receipt:
    if item.action == NOISE:
        return Receipt(NOISE, item.inbound.pk)
    outcome = NEW if item.action == OPEN else THREADED
    message = item.message
    return Receipt(outcome, item.inbound.pk, message.ticket_id, message.pk)
