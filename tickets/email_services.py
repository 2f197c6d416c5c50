"""Email in: store the raw bytes, dedup, thread, then write through services.

Every way in (``manage.py ingest_email``, the webhook, the IMAP poller) calls
``email_receive``. The raw row and everything derived from it commit in one
transaction; the derived part runs in a savepoint, so a processing error rolls
back only that part and leaves the raw row committed as ``failed`` for a
later ``inbound_email_reprocess``. The pure rules live in ``tickets.intake``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Hashable
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets import auto_mail, services
from tickets import email_threads as threads
from tickets.intake import (
    ParsedEmail,
    ThreadMatch,
    classify,
    parse_email,
)
from tickets.intake.noise import BOUNCE, NoiseVerdict
from tickets.models import (
    Attachment,
    AuthorKind,
    Channel,
    InboundEmail,
    InboundStatus,
    Message,
)

logger = logging.getLogger(__name__)

NEW = "new"
THREADED = "threaded"
DUPLICATE = "duplicate"
QUARANTINED = "quarantined"
NOISE = "noise"


@dataclass(frozen=True)
class Receipt:
    outcome: str  # NEW, THREADED, DUPLICATE, QUARANTINED or NOISE
    inbound_id: int
    ticket_id: int | None = None
    message_pk: int | None = None


# --- receiving ---------------------------------------------------------------


def email_receive(
    *, raw: bytes, source: str, source_ref: str = "", error: str = ""
) -> Receipt:
    """Store one received email, then thread it and open or update a ticket.

    Never raises for bad input: unreadable or unparseable mail is stored and
    quarantined. The same message delivered again is not stored twice.
    """
    parsed = parse(raw)
    if parsed is None:
        error = error or "the parser crashed; see the logs"
    with transaction.atomic():
        inbound, outcome = store_raw(
            raw=raw, parsed=parsed, source=source, source_ref=source_ref
        )
        if outcome == DUPLICATE:
            return Receipt(DUPLICATE, inbound.pk, inbound.ticket_id)
        if error or parsed is None or parsed.quarantine_reason:
            reason = error or (parsed.quarantine_reason if parsed else "")
            return quarantine(inbound, reason or "unparseable")
        return _process_safely(inbound, parsed)


def inbound_email_reprocess(*, inbound_id: int) -> Receipt:
    """Process a stored email again (after a crash or a fixed bug)."""
    with transaction.atomic():
        inbound = InboundEmail.objects.select_for_update().get(pk=inbound_id)
        if inbound.status in (InboundStatus.PROCESSED, InboundStatus.NOISE):
            return Receipt(DUPLICATE, inbound.pk, inbound.ticket_id)
        parsed = parse(bytes(inbound.raw))
        if parsed is None or parsed.quarantine_reason:
            reason = parsed.quarantine_reason if parsed else "the parser crashed"
            return quarantine(inbound, reason or "unparseable")
        inbound.error = ""
        return _process_safely(inbound, parsed)


def parse(raw: bytes) -> ParsedEmail | None:
    try:
        return parse_email(
            raw,
            max_attachment_bytes=settings.EMAIL_MAX_ATTACHMENT_BYTES,
            allowed_types=settings.EMAIL_ALLOWED_ATTACHMENT_TYPES,
        )
    except Exception:  # parse_email promises not to raise; never trust that
        logger.exception("parse_email raised")
        return None


def store_raw(
    *, raw: bytes, parsed: ParsedEmail | None, source: str, source_ref: str = ""
) -> tuple[InboundEmail, str]:
    """Insert the raw row, or find that this exact message is already stored.

    The unique ``dedup_key`` decides, so two workers receiving the same
    message at once cannot both store it. A different message reusing a known
    Message-ID is stored under a second key and flagged.
    """
    fields = raw_fields(raw=raw, parsed=parsed, source=source, source_ref=source_ref)
    content_hash, message_id = fields["content_hash"], fields["rfc_message_id"]
    key = dedup_key(content_hash=content_hash, message_id=message_id)
    inbound, outcome = _insert_or_existing(key, fields)
    if not message_id or outcome != DUPLICATE:
        return inbound, outcome
    if inbound.content_hash == content_hash or _same_message(bytes(inbound.raw), raw):
        return inbound, outcome
    fields["flags"] = {"reused_message_id": message_id, "first_inbound": inbound.pk}
    return _insert_or_existing(f"{key}:{content_hash}", fields)


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def dedup_key(*, content_hash: str, message_id: str) -> str:
    """The unique key of a received message: its Message-ID, else its bytes."""
    if not message_id:
        return f"raw:{content_hash}"
    return "mid:" + hashlib.sha256(message_id.encode()).hexdigest()


def raw_fields(
    *, raw: bytes, parsed: ParsedEmail | None, source: str, source_ref: str = ""
) -> dict:
    """The columns of a new ``InboundEmail`` row, known before any processing."""
    return {
        "raw": raw,
        "content_hash": parsed.content_hash if parsed else _sha256(raw),
        "rfc_message_id": (parsed.message_id or "") if parsed else "",
        "source": source,
        "source_ref": source_ref[:500],
        "from_address": sender_of(parsed)[:254],
        "subject": (parsed.subject if parsed else "")[:300],
    }


def _same_message(stored: bytes, raw: bytes) -> bool:
    """Redelivery through another route prepends Received/Delivered-To lines;
    the message itself is the same when the body and the rest match."""
    return _body(stored) == _body(raw)


def _body(raw: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = raw.partition(separator)
        if found:
            return body
    return raw


def _insert_or_existing(key: str, fields: dict) -> tuple[InboundEmail, str]:
    try:
        with transaction.atomic():
            return InboundEmail.objects.create(dedup_key=key, **fields), NEW
    except IntegrityError:
        return InboundEmail.objects.get(dedup_key=key), DUPLICATE


def sender_of(parsed: ParsedEmail | None) -> str:
    if parsed is None or parsed.from_address is None:
        return ""
    return parsed.from_address.email.strip().lower()


def quarantine(inbound: InboundEmail, reason: str) -> Receipt:
    inbound.status = InboundStatus.QUARANTINED
    inbound.error = reason[:2000]
    inbound.processed_at = timezone.now()
    inbound.save()
    logger.warning("email %s quarantined: %s", inbound.pk, reason)
    return Receipt(QUARANTINED, inbound.pk)


def _process_safely(inbound: InboundEmail, parsed: ParsedEmail) -> Receipt:
    try:
        with transaction.atomic():
            receipt = _process(inbound, parsed)
    except Exception as exc:
        # The raw row stays committed; a later reprocess can pick it up.
        logger.exception("email %s failed processing", inbound.pk)
        inbound.status = InboundStatus.FAILED
        inbound.error = f"{type(exc).__name__}: {exc}"[:2000]
        inbound.ticket = None
        inbound.message = None
        inbound.save()
        return Receipt(QUARANTINED, inbound.pk)
    return receipt


def _process(inbound: InboundEmail, parsed: ParsedEmail) -> Receipt:
    verdict = classify(parsed)
    match = threads.match_thread(
        parsed,
        verdict,
        find_by_message_ids=threads.known_ids,
        find_by_ref=threads.ticket_by_ref,
        is_participant=threads.is_participant,
    )
    flags = flags_for(parsed, verdict, match)
    closed = match.ticket is not None and threads.is_closed(match.ticket)
    action, ticket_id = route(match.ticket, verdict, closed=closed, flags=flags)
    if action == NOISE:
        return _finish(inbound, InboundStatus.NOISE, NOISE, flags=flags)
    if action == OPEN:
        message = _open_ticket(parsed, flags)
    elif action == NOTE:
        message = record_noise(ticket_id, parsed, verdict, flags)
    else:
        message = add_customer_message(ticket_id, parsed, flags)
    _save_attachments(message, parsed)
    threads.index_message_ids(parsed, message.ticket_id)
    if action == OPEN and settings.EMAIL_ACKNOWLEDGE:
        _acknowledge(message)
    outcome = NEW if action == OPEN else THREADED
    return _finish(
        inbound, InboundStatus.PROCESSED, outcome, flags=flags, message=message
    )


# What happens to a processed message; the batch path follows the same rules.
OPEN = "open"  # a new ticket
ADD = "add"  # a customer message on the matched ticket
NOTE = "note"  # noise on the matched ticket, kept as an internal note


def route(
    ticket: Hashable | None, verdict: NoiseVerdict, *, closed: bool, flags: dict
) -> tuple[str, Hashable | None]:
    """(NOISE, OPEN, ADD or NOTE, ticket) for a matched message.

    A closed ticket is not reopened: the customer gets a follow-up ticket.
    Unmatched noise claims no ids, so it can never capture a thread.
    """
    if ticket is not None and closed and not verdict.is_noise:
        flags["follow_up_of"] = ticket
        ticket = None
    if ticket is None:
        return (NOISE if verdict.is_noise else OPEN), None
    return (NOTE if verdict.is_noise else ADD), ticket


def add_customer_message(ticket_id: int, parsed: ParsedEmail, flags: dict) -> Message:
    return services.message_add(
        ticket_id=ticket_id,
        author_kind=AuthorKind.CUSTOMER,
        text=parsed.text,
        channel=Channel.EMAIL,
        html=parsed.html,
        fields=message_fields(parsed, flags),
    )


def _finish(
    inbound: InboundEmail,
    status: str,
    outcome: str,
    *,
    flags: dict,
    message: Message | None = None,
) -> Receipt:
    inbound.status = status
    inbound.flags = {**inbound.flags, **flags}
    inbound.processed_at = timezone.now()
    inbound.message = message
    inbound.ticket_id = message.ticket_id if message else None
    inbound.save()
    return Receipt(
        outcome, inbound.pk, inbound.ticket_id, message.pk if message else None
    )


def flags_for(parsed: ParsedEmail, verdict: NoiseVerdict, match: ThreadMatch) -> dict:
    flags: dict = {}
    if parsed.defects:
        flags["defects"] = parsed.defects[:20]
    if verdict.is_noise:
        flags["noise"] = verdict.kind
        flags["noise_reason"] = verdict.reason
    if match.conflicts:
        flags["thread_conflicts"] = list(match.conflicts)
    if match.refused_tag:
        flags["refused_subject_tag"] = match.refused_tag
    if match.ticket is not None:
        flags["threaded_by"] = match.method
    return flags


def message_fields(parsed: ParsedEmail, flags: dict) -> dict:
    return {
        "reply_text": parsed.reply_text,
        "message_id": parsed.message_id or "",
        "in_reply_to": parsed.in_reply_to or "",
        "references": " ".join(parsed.references),
        "content_hash": parsed.content_hash,
        "flags": flags,
    }


def person_of(parsed: ParsedEmail) -> tuple[str | None, str]:
    """(address or None, display name) of the sender, as customers store them."""
    name = parsed.from_address.name if parsed.from_address else ""
    return sender_of(parsed) or None, name[:200]


def _open_ticket(parsed: ParsedEmail, flags: dict) -> Message:
    email, name = person_of(parsed)
    customer = services.customer_get_or_create(email=email, name=name)
    _, message = services.ticket_create(
        customer=customer,
        subject=parsed.subject,
        text=parsed.text,
        channel=Channel.EMAIL,
        html=parsed.html,
        message_fields=message_fields(parsed, flags),
    )
    return message


def record_noise(
    ticket_id: int, parsed: ParsedEmail, verdict: NoiseVerdict, flags: dict
) -> Message:
    """Noise on a known ticket is kept as an internal note: no reopen, no triage."""
    message = services.message_add(
        ticket_id=ticket_id,
        author_kind=AuthorKind.SYSTEM,
        text=f"[{verdict.kind}] {parsed.subject}\n\n{parsed.text}",
        internal=True,
        channel=Channel.EMAIL,
        fields=message_fields(parsed, flags),
    )
    if verdict.kind == BOUNCE:
        from tickets.outbox import outbox_record_bounce

        outbox_record_bounce(
            ticket_id=ticket_id,
            original_message_id=verdict.original_message_id or "",
            reason=verdict.reason,
        )
    return message


def _save_attachments(message: Message, parsed: ParsedEmail) -> None:
    rows = attachment_rows(message, parsed)
    if rows:
        Attachment.objects.bulk_create(rows)


def attachment_rows(message: Message, parsed: ParsedEmail) -> list[Attachment]:
    """Unsaved rows for a message's attachments; their files are written now."""
    rows = []
    for part in parsed.attachments:
        row = Attachment(
            message=message,
            filename=part.filename[:255],
            content_type=part.content_type[:255],
            size=part.size,
            content_id=(part.content_id or "")[:255],
            inline=part.inline,
            rejected_reason=(part.rejected_reason or "")[:255],
        )
        if not part.rejected_reason:
            row.file.save(part.filename, ContentFile(part.content), save=False)
        rows.append(row)
    return rows


# --- automatic mail -------------------------------------------------------------


def _acknowledge(message: Message) -> None:
    from tickets.outbox import outbox_enqueue_acknowledgement

    ticket = message.ticket
    address = ticket.customer.email
    if address and auto_mail.allowed(address=address):
        outbox_enqueue_acknowledgement(ticket=ticket, message=message)
