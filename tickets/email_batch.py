"""Batched email intake for backlogs: the same pipeline, many rows per statement.

``email_receive_batch`` gives each message what ``email_receive`` would, by
the same rules (``tickets.email_services`` and the pure ``tickets.intake``):

1. Parse every message.
2. Store the raw rows and commit: one SELECT of the dedup keys already
   stored, one INSERT of the new rows. Anything unusual (a reused
   Message-ID, a redelivery through another route, a concurrent insert) goes
   through the single path's ``store_raw``, so the unique key still decides.
3. Process in one transaction (``tickets.email_batch_write``): lock the rows
   still ``received`` (a concurrent or repeated batch skips what another one
   processes), prefetch the thread index and lock the candidate tickets,
   thread the messages in memory in arrival order (a ticket to be opened is a
   placeholder that claims ids as the single path's row would), then write
   customers, tickets, messages, audit rows, attachments, thread ids,
   acknowledgements and the inbound rows in bulk. The rare cases (noise on a
   ticket, a message that changes its ticket's state) call the single path's
   functions in that transaction.
4. If that transaction fails, each message is processed on its own
   (``inbound_email_reprocess``): one bad message never blocks the others.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice

from django.db import IntegrityError, transaction

from supportdesk.bulk_insert import insert_many
from tickets.email_batch_write import Batch, Item
from tickets.email_services import (
    DUPLICATE,
    NEW,
    Receipt,
    dedup_key,
    inbound_email_reprocess,
    parse,
    quarantine,
    raw_fields,
    store_raw,
)
from tickets.intake import ParsedEmail, classify
from tickets.models import (
    InboundEmail,
    InboundStatus,
)

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
            out[index] = store_raw(
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
            live.append(Item(row, parsed, classify(parsed)))
    if live:
        results.update(Batch(live).run())
    return results


def _quarantine_reason(parsed: ParsedEmail | None) -> str:
    if parsed is None:
        return "the parser crashed; see the logs"
    return parsed.quarantine_reason or ""
