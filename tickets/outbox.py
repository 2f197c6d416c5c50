"""Email out: replies are committed to the outbox first, then sent by a task.

At most once: a send claims its row with a conditional UPDATE (``queued`` ->
``sending``, with the attempt number and the time) that commits before SMTP
is spoken to, then marks the row ``sent`` with the server's answer. If the
sender dies in between, nobody can know whether the server took the mail, so
a later run that finds the row still ``sending`` after its lease marks it
``uncertain`` on the ticket's audit trail and sends nothing; a supervisor
may send it again from the admin (``outbox_resend``). The Message-ID derives
from the row's idempotency key, so even that explicit resend is the same
message, which mail clients and our own intake recognise.

Only a definite refusal (the connection could not be opened, or the server
answered with an error code) is retried automatically; a timeout or a
dropped connection after the data went out is as uncertain as a crash.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from supportdesk.bulk_insert import insert_many
from tickets import services, smtp
from tickets.email_threads import (
    desk_address,
    email_ids_claim,
    email_ids_claim_many,
    ticket_ref,
)
from tickets.intake import acknowledgement
from tickets.intake.outgoing import make_message_id
from tickets.models import (
    AuthorKind,
    Channel,
    Direction,
    EmailOutbox,
    Message,
    OutboxStatus,
    Ticket,
)

logger = logging.getLogger(__name__)

SENT = "sent"
RETRY = "retry"
FAILED = "failed"
SKIPPED = "skipped"
UNCERTAIN = "uncertain"


def reply_to_customer(message: Message, ticket: Ticket) -> str | None:
    """Where an agent's or the AI's reply goes by email, if anywhere.

    Email tickets: the customer's address. Chat tickets: the address the
    customer left, while nobody is on the chat to read the reply live.
    """
    if message.is_internal_note or message.author_kind not in (
        AuthorKind.AGENT,
        AuthorKind.AI,
    ):
        return None
    if ticket.channel == Channel.EMAIL:
        return ticket.customer.email or None
    if ticket.channel == Channel.CHAT:
        from tickets.chat.selectors import chat_reply_address

        return chat_reply_address(ticket_id=ticket.pk)
    return None


def outbox_enqueue_reply(*, ticket: Ticket, message: Message, to: str) -> EmailOutbox:
    """Queue ``message`` for ``to``; called inside ``message_add``."""
    return _enqueue(
        ticket=ticket,
        message=message,
        kind="reply",
        text=message.text,
        html=message.html,
        automatic=message.author_kind == AuthorKind.AI,
        to=to,
    )


def outbox_enqueue_acknowledgement(*, ticket: Ticket, message: Message) -> EmailOutbox:
    return _enqueue(**_acknowledgement(ticket))


def outbox_enqueue_acknowledgements(
    *, tickets: list[tuple[Ticket, Message]]
) -> list[EmailOutbox]:
    """Acknowledge many new tickets, each (ticket, its first message); for
    batched intake: one insert per table and one broker message in all."""
    from tickets.tasks import fan_out

    rows = insert_many(
        EmailOutbox,
        [
            _row(**_acknowledgement(ticket), parent=_own_parent(first))
            for ticket, first in tickets
        ],
    )
    email_ids_claim_many(claims=[(r.rfc_message_id, r.ticket_id) for r in rows])
    services.audit_write_many(
        events=[(row.ticket, "email.queued", _queued(row)) for row in rows]
    )
    fan_out.delay_on_commit("tickets.tasks:deliver_email", [r.pk for r in rows])
    return rows


def _acknowledgement(ticket: Ticket) -> dict:
    language = ticket.customer.preferred_language or ticket.language or "en"
    text = acknowledgement(
        language, ticket_ref=ticket_ref(ticket.pk), name=ticket.customer.name
    )
    return {
        "ticket": ticket,
        "message": None,
        "kind": "acknowledgement",
        "text": text,
        "html": "",
        "automatic": True,
        "language": language,
    }


def _enqueue(**fields) -> EmailOutbox:
    from tickets.tasks import deliver_email

    row = _row(**fields, parent=_parent(fields["ticket"].pk))
    row.save()
    # What the desk sends is indexed too, so a reply quoting only it threads.
    email_ids_claim(ids=[row.rfc_message_id], ticket_id=row.ticket_id)
    _audit_queued(row)
    deliver_email.delay_on_commit(row.pk)
    return row


def _row(
    *,
    ticket: Ticket,
    message: Message | None,
    kind: str,
    text: str,
    html: str,
    automatic: bool,
    parent: Message | None,
    language: str = "",
    to: str = "",
) -> EmailOutbox:
    key = uuid.uuid4()
    _, domain = desk_address()
    return EmailOutbox(
        idempotency_key=key,
        rfc_message_id=make_message_id(str(key), domain=domain),
        ticket=ticket,
        message=message,
        kind=kind,
        automatic=automatic,
        to_address=to or ticket.customer.email,
        text=text,
        html=html,
        language=language or ticket.language or "en",
        in_reply_to=parent.message_id if parent else "",
        references=_references(parent),
        next_attempt_at=timezone.now(),
    )


def _audit_queued(row: EmailOutbox) -> None:
    services.audit_write(ticket=row.ticket, kind="email.queued", after=_queued(row))


def _queued(row: EmailOutbox) -> dict:
    return {"outbox_id": row.pk, "kind": row.kind, "to": row.to_address}


def _own_parent(first: Message) -> Message | None:
    """A new ticket's parent is its first message (what ``_parent`` would find)."""
    return first if first.message_id else None


def _parent(ticket_id: int) -> Message | None:
    return (
        Message.objects.filter(ticket_id=ticket_id, direction=Direction.INBOUND)
        .exclude(message_id="")
        .order_by("-id")
        .only("message_id", "references")
        .first()
    )


def _references(parent: Message | None) -> str:
    if parent is None:
        return ""
    return " ".join([*parent.references.split(), parent.message_id])


# --- sending ----------------------------------------------------------------


def outbox_send(*, outbox_id: int, now: datetime | None = None) -> str:
    """Send one outbox row if it is due and nobody else holds it.

    Must run outside a transaction, so the "sending" mark is committed before
    the mail leaves (a task always does).
    """
    now = now or timezone.now()
    lease = timedelta(seconds=settings.EMAIL_OUTBOX_LEASE_SECONDS)
    claimed = EmailOutbox.objects.filter(
        pk=outbox_id, status=OutboxStatus.QUEUED, next_attempt_at__lte=now
    ).update(
        status=OutboxStatus.SENDING,
        sending_started_at=now,
        lease_expires_at=now + lease,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return _mark_uncertain(outbox_id, now, "the sender stopped mid-send")
    row = EmailOutbox.objects.select_related("ticket").get(pk=outbox_id)
    attempt = row.attempts
    try:
        response = smtp.deliver(row)
    except smtp.Refused as refused:
        return _failed_attempt(row, attempt, refused.__cause__, now)
    except Exception as exc:  # sent or not: nobody can tell
        logger.warning("outbox %s attempt %s uncertain: %r", row.pk, attempt, exc)
        return _mark_uncertain(row.pk, None, f"{type(exc).__name__}: {exc}")
    marked = EmailOutbox.objects.filter(
        pk=row.pk, status=OutboxStatus.SENDING, attempts=attempt
    ).update(
        status=OutboxStatus.SENT,
        sent_at=timezone.now(),
        smtp_response=response,
        last_error="",
        lease_expires_at=None,
    )
    if marked:
        services.audit_write(
            ticket=row.ticket,
            kind="email.sent",
            after={"outbox_id": row.pk, "message_id": row.rfc_message_id},
        )
    return SENT


def _mark_uncertain(outbox_id: int, lapsed_by: datetime | None, reason: str) -> str:
    """``sending`` -> ``uncertain``; with ``lapsed_by``, only once the lease has
    lapsed (a live sender may still be talking to the server)."""
    rows = EmailOutbox.objects.filter(pk=outbox_id, status=OutboxStatus.SENDING)
    if lapsed_by is not None:
        rows = rows.filter(lease_expires_at__lte=lapsed_by)
    with transaction.atomic():
        if not rows.update(
            status=OutboxStatus.UNCERTAIN,
            last_error=reason[:2000],
            lease_expires_at=None,
        ):
            return SKIPPED
        row = EmailOutbox.objects.select_related("ticket").get(pk=outbox_id)
        services.audit_write(
            ticket=row.ticket,
            kind="email.uncertain",
            after={
                "outbox_id": row.pk,
                "attempt": row.attempts,
                "sending_started_at": _iso(row.sending_started_at),
                "reason": reason[:500],
            },
        )
    return UNCERTAIN


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def outbox_resend(*, outbox_id: int, actor_id: int) -> bool:
    """A supervisor's explicit decision to send an uncertain or failed row again.

    Same row, same Message-ID: a receiver that did get the first copy can
    recognise the second. False when the row is in no state to resend.
    """
    from tickets.tasks import deliver_email

    with transaction.atomic():
        resent = EmailOutbox.objects.filter(
            pk=outbox_id, status__in=[OutboxStatus.UNCERTAIN, OutboxStatus.FAILED]
        ).update(
            status=OutboxStatus.QUEUED, next_attempt_at=timezone.now(), last_error=""
        )
        if not resent:
            return False
        row = EmailOutbox.objects.select_related("ticket").get(pk=outbox_id)
        services.audit_write(
            ticket=row.ticket,
            kind="email.resend",
            after={"outbox_id": row.pk, "attempts": row.attempts},
            actor_kind="user",
            actor_id=actor_id,
        )
        deliver_email.delay_on_commit(row.pk)
    return True


def _failed_attempt(row: EmailOutbox, attempt: int, exc: BaseException, now) -> str:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    logger.warning("outbox %s attempt %s failed: %s", row.pk, attempt, error)
    final = attempt >= settings.EMAIL_OUTBOX_MAX_ATTEMPTS
    backoff = settings.EMAIL_OUTBOX_BACKOFF_SECONDS * 2 ** (attempt - 1)
    with transaction.atomic():
        EmailOutbox.objects.filter(pk=row.pk, status=OutboxStatus.SENDING).update(
            status=OutboxStatus.FAILED if final else OutboxStatus.QUEUED,
            last_error=error,
            smtp_response=smtp.answer(exc),
            next_attempt_at=None if final else now + timedelta(seconds=backoff),
            lease_expires_at=None,
        )
        services.audit_write(
            ticket=row.ticket,
            kind="email.failed" if final else "email.retrying",
            after={"outbox_id": row.pk, "attempt": attempt, "error": error},
        )
    return FAILED if final else RETRY


def outbox_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Rows a retry sweep should try now: due retries and lapsed leases."""
    now = now or timezone.now()
    # Lapsed "sending" rows are included so the sweep marks them uncertain.
    rows = EmailOutbox.objects.filter(
        Q(status=OutboxStatus.QUEUED, next_attempt_at__lte=now)
        | Q(status=OutboxStatus.SENDING, lease_expires_at__lte=now)
    )
    return list(rows.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


# --- bounces ----------------------------------------------------------------


def outbox_record_bounce(
    *, ticket_id: int, original_message_id: str, reason: str
) -> None:
    """A bounce of the desk's own mail: flag the outbox row and audit it."""
    row = EmailOutbox.objects.filter(
        ticket_id=ticket_id, rfc_message_id=original_message_id
    ).first()
    if row is not None:
        EmailOutbox.objects.filter(pk=row.pk, bounced_at__isnull=True).update(
            bounced_at=timezone.now()
        )
    services.audit_write(
        ticket=Ticket.objects.get(pk=ticket_id),
        kind="email.bounced",
        after={
            "outbox_id": row.pk if row else None,
            "message_id": original_message_id,
            "reason": reason,
        },
    )
