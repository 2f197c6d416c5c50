"""Which ticket an email belongs to: the desk's references and reply tokens,
the index of Message-IDs, and the lookups handed to the pure threading rules
(``tickets.intake``). Shared by intake (one by one and batched) and the outbox.
"""

from __future__ import annotations

from email.utils import parseaddr
from functools import cache

from django.conf import settings

from tickets.intake import (
    ParsedEmail,
    ThreadMatch,
    choose_thread,
    index_ids,
    make_token,
)
from tickets.intake.noise import NoiseVerdict
from tickets.models import EmailThreadId, InboundEmail, Ticket
from tickets.states import Status


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
    return _mailbox_and_domain(settings.DEFAULT_FROM_EMAIL)


@cache  # parseaddr costs more than the rest of building an outbox row
def _mailbox_and_domain(from_email: str) -> tuple[str, str]:
    address = parseaddr(from_email)[1] or "support@localhost"
    mailbox, _, domain = address.partition("@")
    return mailbox, domain or "localhost"


def reply_token_for(ticket_id: int) -> str:
    return make_token(ticket_ref(ticket_id), secret=token_secret())


def match_thread(
    parsed: ParsedEmail,
    verdict: NoiseVerdict,
    *,
    find_by_message_ids,
    find_by_ref,
    is_participant,
) -> ThreadMatch:
    """The threading rules with the desk's secrets; lookups are the caller's."""
    extra = [verdict.original_message_id] if verdict.original_message_id else []
    return choose_thread(
        parsed,
        find_by_message_ids=find_by_message_ids,
        find_by_token=find_by_ref,
        find_by_subject_tag=find_by_ref,
        is_participant=is_participant,
        secret=token_secret(),
        old_secrets=old_token_secrets(),
        extra_ids=extra,
    )


# --- the Message-ID index and lookups ---------------------------------------


def index_message_ids(parsed: ParsedEmail, ticket_id: int) -> None:
    email_ids_claim(ids=index_ids(parsed), ticket_id=ticket_id)


def email_ids_claim(*, ids: list[str], ticket_id: int) -> None:
    """Index Message-IDs under a ticket; an id already claimed keeps its ticket."""
    email_ids_claim_many(claims=[(i, ticket_id) for i in ids])


def email_ids_claim_many(*, claims: list[tuple[str, int]]) -> None:
    """(Message-ID, ticket) pairs; the first claim of an id wins, here too."""
    rows = [EmailThreadId(message_id=i[:998], ticket_id=t) for i, t in claims if i]
    if rows:
        EmailThreadId.objects.bulk_create(rows, ignore_conflicts=True)


def known_ids(ids: list[str]) -> dict[str, int]:
    rows = EmailThreadId.objects.filter(message_id__in=ids)
    return dict(rows.values_list("message_id", "ticket_id"))


def ticket_by_ref(ref: str) -> int | None:
    ticket_id = ticket_id_from_ref(ref)
    if ticket_id is None:
        return None
    return Ticket.objects.filter(pk=ticket_id).values_list("pk", flat=True).first()


def is_participant(ticket_id: int, address: str) -> bool:
    address = address.strip().lower()
    if Ticket.objects.filter(pk=ticket_id, customer__email=address).exists():
        return True
    return InboundEmail.objects.filter(
        ticket_id=ticket_id, from_address=address
    ).exists()


def is_closed(ticket_id: int) -> bool:
    status = Ticket.objects.filter(pk=ticket_id).values_list("status", flat=True)
    return status.first() == Status.CLOSED
