"""An outbox row on the wire: the exact message, handed to Django's mail backend.

``deliver`` raises ``Refused`` only when the mail certainly did not leave (no
connection, or the server answered with an error code), so the outbox may try
again; anything else is left to the outbox to judge.
"""

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail import get_connection

from tickets.email_threads import desk_address, reply_token_for, ticket_ref
from tickets.intake import OutgoingReply, build_reply, reply_address
from tickets.models import EmailOutbox

# The server answered with an error code: it did not take the mail.
_DEFINITE_REFUSALS = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)


def answer(exc: BaseException) -> str:
    code = getattr(exc, "smtp_code", None)
    if code is None:
        return ""
    message = getattr(exc, "smtp_error", b"")
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {message}"[:2000]


class Refused(Exception):
    """The mail certainly did not leave: safe to try again later."""


class _Wire:
    """A stdlib message that Django's mail backends can write: they call
    ``as_bytes(linesep=...)``, which only Django's own MIME classes accept."""

    def __init__(self, message) -> None:
        self._message = message

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        policy = self._message.policy.clone(linesep=linesep)
        return self._message.as_bytes(unixfrom=unixfrom, policy=policy)

    def __getitem__(self, name: str):
        return self._message[name]

    def __getattr__(self, name: str):
        return getattr(self._message, name)


class _Prebuilt(DjangoEmailMessage):
    def __init__(self, message, *, sender: str, recipients: list[str]) -> None:
        super().__init__(from_email=sender, to=recipients)
        self._prebuilt = message

    def message(self):
        return _Wire(self._prebuilt)


def build_outgoing(row: EmailOutbox):
    """The exact message for a row; rebuilt identically on every attempt."""
    mailbox, domain = desk_address()
    reply = OutgoingReply(
        idempotency_key=str(row.idempotency_key),
        ticket_ref=ticket_ref(row.ticket_id),
        subject=row.ticket.subject,
        from_address=settings.DEFAULT_FROM_EMAIL,
        to=[row.to_address],
        reply_to=reply_address(
            reply_token_for(row.ticket_id), mailbox=mailbox, domain=domain
        ),
        text=row.text,
        html=row.html or None,
        in_reply_to=row.in_reply_to or None,
        references=row.references.split(),
        automatic=row.automatic,
        language=row.language or "en",
        date=row.created_at,
    )
    return build_reply(reply, domain=domain)


def deliver(row: EmailOutbox) -> str:
    """Send the row's message; ``Refused`` when it certainly did not leave."""
    message = build_outgoing(row)
    sender = desk_address()
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        raise Refused from exc  # no connection, nothing sent
    try:
        sent = connection.send_messages(
            [_Prebuilt(message, sender="@".join(sender), recipients=[row.to_address])]
        )
    except _DEFINITE_REFUSALS as exc:
        raise Refused from exc
    finally:
        connection.close()
    if not sent:
        raise RuntimeError("the mail backend accepted nothing")
    host = getattr(connection, "host", "")
    port = getattr(connection, "port", "")
    where = f" by {host}:{port}" if host else ""
    return f"accepted{where} as {row.rfc_message_id}"
