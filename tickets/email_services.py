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
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from tickets import services
from tickets.intake import (
    ParsedEmail,
    choose_thread,
    classify,
    index_ids,
    make_token,
    parse_email,
)
from tickets.intake.noise import BOUNCE, NoiseVerdict
from tickets.models import (
    Attachment,
    AuthorKind,
    AutoMailLog,
    Channel,
    EmailThreadId,
    InboundEmail,
    InboundStatus,
    Message,
    Ticket,
)
from tickets.states import Status

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


# --- identities shared with the outbox -------------------------------------


def ticket_ref(ticket_id: int) -> str:
    """The reference in subject tags and reply tokens (alphanumeric only)."""
    return f"SD{ticket_id}"


def ticket_id_from_ref(ref: str) -> int | None:
    ref = ref.upper()
    if ref.startswith("SD") and ref[2:].isdigit():
        return int(ref[2:])
    return None


def token_secret() -> bytes:
    return settings.SECRET_KEY.encode()


def old_token_secrets() -> list[bytes]:
    return [key.encode() for key in getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def desk_address() -> tuple[str, str]:
    """(mailbox, domain) of the desk's own address."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "support@localhost"
    mailbox, _, domain = address.partition("@")
    return mailbox, domain or "localhost"


def reply_token_for(ticket_id: int) -> str:
    return make_token(ticket_ref(ticket_id), secret=token_secret())


# --- receiving ---------------------------------------------------------------


def email_receive(
    *, raw: bytes, source: str, source_ref: str = "", error: str = ""
) -> Receipt:
    """Store one received email, then thread it and open or update a ticket.

    Never raises for bad input: unreadable or unparseable mail is stored and
    quarantined. The same message delivered again is not stored twice.
    """
    parsed = _parse(raw)
    if parsed is None:
        error = error or "the parser crashed; see the logs"
    with transaction.atomic():
        inbound, outcome = _store_raw(raw=raw, parsed=parsed, source=source)
        if outcome == DUPLICATE:
            return Receipt(DUPLICATE, inbound.pk, inbound.ticket_id)
        inbound.source_ref = source_ref[:500]
        if error or parsed is None or parsed.quarantine_reason:
            reason = error or (parsed.quarantine_reason if parsed else "")
            return _quarantine(inbound, reason or "unparseable")
        return _process_safely(inbound, parsed)


def inbound_email_reprocess(*, inbound_id: int) -> Receipt:
    """Process a stored email again (after a crash or a fixed bug)."""
    with transaction.atomic():
        inbound = InboundEmail.objects.select_for_update().get(pk=inbound_id)
        if inbound.status in (InboundStatus.PROCESSED, InboundStatus.NOISE):
            return Receipt(DUPLICATE, inbound.pk, inbound.ticket_id)
        parsed = _parse(bytes(inbound.raw))
        if parsed is None or parsed.quarantine_reason:
            reason = parsed.quarantine_reason if parsed else "the parser crashed"
            return _quarantine(inbound, reason or "unparseable")
        inbound.error = ""
        return _process_safely(inbound, parsed)


def _parse(raw: bytes) -> ParsedEmail | None:
    try:
        return parse_email(
            raw,
            max_attachment_bytes=settings.EMAIL_MAX_ATTACHMENT_BYTES,
            allowed_types=settings.EMAIL_ALLOWED_ATTACHMENT_TYPES,
        )
    except Exception:  # parse_email promises not to raise; never trust that
        logger.exception("parse_email raised")
        return None


def _store_raw(
    *, raw: bytes, parsed: ParsedEmail | None, source: str
) -> tuple[InboundEmail, str]:
    """Insert the raw row, or find that this exact message is already stored.

    The unique ``dedup_key`` decides, so two workers receiving the same
    message at once cannot both store it. A different message reusing a known
    Message-ID is stored under a second key and flagged.
    """
    content_hash = hashlib.sha256(raw).hexdigest()
    message_id = (parsed.message_id or "") if parsed else ""
    fields = {
        "raw": raw,
        "content_hash": content_hash,
        "rfc_message_id": message_id,
        "source": source,
        "from_address": _sender(parsed)[:254],
        "subject": (parsed.subject if parsed else "")[:300],
    }
    if not message_id:
        return _insert_or_existing(f"raw:{content_hash}", fields)
    key = "mid:" + hashlib.sha256(message_id.encode()).hexdigest()
    inbound, outcome = _insert_or_existing(key, fields)
    if outcome != DUPLICATE or inbound.content_hash == content_hash:
        return inbound, outcome
    if _same_message(bytes(inbound.raw), raw):
        return inbound, outcome
    fields["flags"] = {"reused_message_id": message_id, "first_inbound": inbound.pk}
    return _insert_or_existing(f"{key}:{content_hash}", fields)


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


def _sender(parsed: ParsedEmail | None) -> str:
    if parsed is None or parsed.from_address is None:
        return ""
    return parsed.from_address.email.strip().lower()


def _quarantine(inbound: InboundEmail, reason: str) -> Receipt:
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
    extra = [verdict.original_message_id] if verdict.original_message_id else []
    match = choose_thread(
        parsed,
        find_by_message_ids=_known_ids,
        find_by_token=_ticket_by_ref,
        find_by_subject_tag=_ticket_by_ref,
        is_participant=_is_participant,
        secret=token_secret(),
        old_secrets=old_token_secrets(),
        extra_ids=extra,
    )
    flags = _flags(inbound, parsed, verdict, match)
    ticket_id = match.ticket
    if ticket_id is not None and _closed(ticket_id) and not verdict.is_noise:
        flags["follow_up_of"] = ticket_id
        ticket_id = None
    if ticket_id is None and verdict.is_noise:
        # Unmatched noise claims no ids, so it can never capture a thread.
        return _finish(inbound, InboundStatus.NOISE, NOISE, flags=flags)
    if ticket_id is None:
        message = _open_ticket(parsed, flags)
        outcome = NEW
    elif verdict.is_noise:
        message = _record_noise(ticket_id, parsed, verdict, flags)
        outcome = THREADED
    else:
        message = services.message_add(
            ticket_id=ticket_id,
            author_kind=AuthorKind.CUSTOMER,
            text=parsed.text,
            channel=Channel.EMAIL,
            html=parsed.html,
            fields=_message_fields(parsed, flags),
        )
        outcome = THREADED
    _save_attachments(message, parsed)
    _index(parsed, message.ticket_id)
    if outcome == NEW and settings.EMAIL_ACKNOWLEDGE:
        _acknowledge(message)
    return _finish(
        inbound, InboundStatus.PROCESSED, outcome, flags=flags, message=message
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


def _flags(inbound, parsed: ParsedEmail, verdict: NoiseVerdict, match) -> dict:
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


def _message_fields(parsed: ParsedEmail, flags: dict) -> dict:
    return {
        "reply_text": parsed.reply_text,
        "message_id": parsed.message_id or "",
        "in_reply_to": parsed.in_reply_to or "",
        "references": " ".join(parsed.references),
        "content_hash": parsed.content_hash,
        "flags": flags,
    }


def _open_ticket(parsed: ParsedEmail, flags: dict) -> Message:
    name = parsed.from_address.name if parsed.from_address else ""
    customer = services.customer_get_or_create(
        email=_sender(parsed) or None, name=name[:200]
    )
    _, message = services.ticket_create(
        customer=customer,
        subject=parsed.subject,
        text=parsed.text,
        channel=Channel.EMAIL,
        html=parsed.html,
        message_fields=_message_fields(parsed, flags),
    )
    return message


def _record_noise(
    ticket_id: int, parsed: ParsedEmail, verdict: NoiseVerdict, flags: dict
) -> Message:
    """Noise on a known ticket is kept as an internal note: no reopen, no triage."""
    message = services.message_add(
        ticket_id=ticket_id,
        author_kind=AuthorKind.SYSTEM,
        text=f"[{verdict.kind}] {parsed.subject}\n\n{parsed.text}",
        internal=True,
        channel=Channel.EMAIL,
        fields=_message_fields(parsed, flags),
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
    if rows:
        Attachment.objects.bulk_create(rows)


def _index(parsed: ParsedEmail, ticket_id: int) -> None:
    email_ids_claim(ids=index_ids(parsed), ticket_id=ticket_id)


def email_ids_claim(*, ids: list[str], ticket_id: int) -> None:
    """Index Message-IDs under a ticket; an id already claimed keeps its ticket."""
    rows = [EmailThreadId(message_id=i[:998], ticket_id=ticket_id) for i in ids if i]
    if rows:
        EmailThreadId.objects.bulk_create(rows, ignore_conflicts=True)


# --- lookups handed to the pure threading rules -------------------------------


def _known_ids(ids: list[str]) -> dict[str, int]:
    rows = EmailThreadId.objects.filter(message_id__in=ids)
    return dict(rows.values_list("message_id", "ticket_id"))


def _ticket_by_ref(ref: str) -> int | None:
    ticket_id = ticket_id_from_ref(ref)
    if ticket_id is None:
        return None
    return Ticket.objects.filter(pk=ticket_id).values_list("pk", flat=True).first()


def _is_participant(ticket_id: int, address: str) -> bool:
    address = address.strip().lower()
    if Ticket.objects.filter(pk=ticket_id, customer__email=address).exists():
        return True
    return InboundEmail.objects.filter(
        ticket_id=ticket_id, from_address=address
    ).exists()


def _closed(ticket_id: int) -> bool:
    status = Ticket.objects.filter(pk=ticket_id).values_list("status", flat=True)
    return status.first() == Status.CLOSED


# --- automatic mail -------------------------------------------------------------


def _acknowledge(message: Message) -> None:
    from tickets.outbox import outbox_enqueue_acknowledgement

    ticket = message.ticket
    address = ticket.customer.email
    if address and auto_mail_allowed(address=address):
        outbox_enqueue_acknowledgement(ticket=ticket, message=message)


def auto_mail_allowed(*, address: str) -> bool:
    """At most one automatic mail per address per window, decided atomically.

    Both branches are single statements that only one concurrent caller can
    win: the insert by the unique constraint, the update by its condition.
    """
    address = address.strip().lower()[:254]
    now = timezone.now()
    try:
        with transaction.atomic():
            AutoMailLog.objects.create(address=address, last_sent_at=now)
            return True
    except IntegrityError:
        pass
    window = timedelta(seconds=settings.EMAIL_AUTO_MAIL_WINDOW_SECONDS)
    return bool(
        AutoMailLog.objects.filter(
            address=address, last_sent_at__lte=now - window
        ).update(last_sent_at=now)
    )
