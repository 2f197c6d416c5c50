"""Every write a chat customer can cause.

The websocket consumer and the HTTP fallback call these same functions, so a
message sent either way is checked, limited, stored and published alike.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from supportdesk.prepared import PreparedRead
from supportdesk.realtime import publish_on_commit
from tickets import events, services
from tickets.chat import ratelimit, tokens
from tickets.models import (
    AuthorKind,
    Channel,
    ChatClientMessage,
    ChatSession,
    CustomerIdentity,
    Message,
    Ticket,
)
from tickets.states import (
    Action,
    IllegalTransition,
    Status,
    TicketNotFound,
    sources_of,
)

ESCALATE_TEXT = "(asked to talk to a person)"


class ChatError(Exception):
    """A request the customer can fix; ``code`` is stable for clients."""

    status = 400

    def __init__(self, code: str, message: str, **extra):
        super().__init__(message)
        self.code = code
        self.extra = extra


class RateLimited(ChatError):
    status = 429


class TooLong(ChatError):
    status = 413


class SessionNotFound(ChatError):
    status = 403


@dataclass(frozen=True)
class Sent:
    message: Message
    created: bool  # False: a resend of a message already stored


def chat_session_start(
    *, email: str = "", name: str = "", language: str = "", ip: str | None = None
) -> tuple[ChatSession, str]:
    """Open a chat session and return it with its signed token."""
    email = _clean_email(email)
    if ip:
        _limit("session-ip", ip, settings.CHAT_SESSIONS_PER_IP, window=3600)
    with transaction.atomic():
        customer = services.customer_get_or_create(
            email=email or None, name=name[:200], language=language[:8]
        )
        session = ChatSession.objects.create(
            key=secrets.token_urlsafe(16),
            customer=customer,
            email=email,
            language=language[:8],
            created_ip=ip or None,
        )
        CustomerIdentity.objects.create(
            customer=customer, kind="chat", value=session.key
        )
    return session, tokens.token_for(session.key)


def chat_session_from_token(token: str) -> ChatSession:
    try:
        key = tokens.session_key_from(token)
    except tokens.BadToken as exc:
        raise SessionNotFound("bad_token", str(exc)) from None
    session = ChatSession.objects.filter(key=key).first()
    if session is None:
        raise SessionNotFound("bad_token", "this chat session no longer exists")
    return session


def chat_message_send(
    *, session_key: str, client_msg_id: str, text: str, ip: str | None = None
) -> Sent:
    """Store a customer's chat message once, however often it is resent.

    The session row is locked for the check-then-insert, so two tabs (or a
    socket and the HTTP fallback) resending the same client id store it once;
    the unique constraint is the backstop.
    """
    text = _clean_text(text)
    client_msg_id = _clean_client_id(client_msg_id)
    try:
        return _store(session_key, client_msg_id, text, ip)
    except IntegrityError:
        existing = _already_sent(session_key, client_msg_id)
        if existing is None:
            raise
        return Sent(message=existing, created=False)


def _already_sent(session_key: str, client_msg_id: str) -> Message | None:
    row = (
        ChatClientMessage.objects.select_related("message")
        .filter(session__key=session_key, client_msg_id=client_msg_id)
        .first()
    )
    return row.message if row else None


# The session row, locked, with the message already stored under this client
# id if any: one statement, compiled once (supportdesk/prepared.py), on every
# chat message. Compiled inside the first send's transaction, as FOR UPDATE
# requires.
_LOCKED_SESSION = PreparedRead(
    lambda: (
        ChatSession.objects.select_for_update(of=("self",))
        .annotate(
            stored_message_id=Subquery(
                ChatClientMessage.objects.filter(
                    session=OuterRef("pk"), client_msg_id="placeholder"
                ).values("message_id")[:1]
            )
        )
        .filter(key="placeholder")[:1]
    )
)


@transaction.atomic
def _store(session_key: str, client_msg_id: str, text: str, ip: str | None) -> Sent:
    session = _LOCKED_SESSION.first(client_msg_id, session_key)
    if session is None:
        raise SessionNotFound("bad_token", "this chat session no longer exists")
    if session.stored_message_id is not None:
        message = Message.objects.get(pk=session.stored_message_id)
        return Sent(message=message, created=False)  # a resend costs no quota
    _limit("session", session_key, settings.CHAT_RATE_PER_SESSION, window=60)
    if ip:
        _limit("ip", ip, settings.CHAT_RATE_PER_IP, window=60)
    message = _add_customer_message(session, text)
    ChatClientMessage.objects.create(
        session=session, client_msg_id=client_msg_id, message=message
    )
    return Sent(message=message, created=True)


def _add_customer_message(session: ChatSession, text: str) -> Message:
    if session.ticket_id is not None:
        try:
            return services.message_add(
                ticket_id=session.ticket_id,
                author_kind=AuthorKind.CUSTOMER,
                text=text,
                channel=Channel.CHAT,
            )
        except (IllegalTransition, TicketNotFound):
            pass  # the old ticket is closed: this message starts a new one
    ticket, message = services.ticket_create(
        customer=session.customer,
        subject=_subject(text),
        text=text,
        channel=Channel.CHAT,
    )
    _attach(session, ticket)
    return message


def _attach(session: ChatSession, ticket: Ticket) -> None:
    ChatSession.objects.filter(pk=session.pk).update(ticket=ticket)
    session.ticket = ticket
    # Other tabs of this session learn the ticket id and join its group.
    publish_on_commit(
        [events.chat_session_group(session.key)],
        events.chat_ticket_opened(ticket.pk),
    )


@transaction.atomic
def chat_escalate(*, session_key: str) -> Ticket:
    """The customer asked for a person: human queue, ``wants_human``, audited.

    Asking again, or while a person already has the ticket, changes nothing
    but the flag, so the button can always be shown and always be pressed.
    """
    session = _lock(session_key)
    ticket = session.ticket
    if ticket is None or ticket.status == Status.CLOSED:
        ticket, _ = services.ticket_create(
            customer=session.customer,
            subject="Chat: asked to talk to a person",
            text=ESCALATE_TEXT,
            channel=Channel.CHAT,
        )
        _attach(session, ticket)
    if ticket.status == Status.RESOLVED:
        ticket = services.ticket_transition(
            ticket_id=ticket.pk, action=Action.REOPEN, actor_kind=AuthorKind.CUSTOMER
        )
    if ticket.status in sources_of(Action.ESCALATE):
        ticket = services.ticket_transition(
            ticket_id=ticket.pk,
            action=Action.ESCALATE,
            actor_kind=AuthorKind.CUSTOMER,
        )
    return services.ticket_set_fields(
        ticket_id=ticket.pk,
        fields={"wants_human": True},
        actor_kind=AuthorKind.CUSTOMER,
    )


@transaction.atomic
def chat_contact_set(*, session_key: str, email: str) -> ChatSession:
    """Record where to reply by email if nobody is online."""
    email = _clean_email(email)
    if not email:
        raise ChatError("invalid_email", "enter an email address")
    session = _lock(session_key)
    ChatSession.objects.filter(pk=session.pk).update(email=email)
    session.email = email
    customer = session.customer
    # An anonymous chat customer takes the address, unless another customer
    # already has it: the address is unverified and must not merge histories.
    if not customer.email and not type(customer).objects.filter(email=email).exists():
        type(customer).objects.filter(pk=customer.pk).update(email=email)
    return session


def chat_presence_set(*, session_key: str, listening: bool) -> None:
    """Record whether the customer's socket is open (connect, ping, close)."""
    seen_at = timezone.now() if listening else None
    ChatSession.objects.filter(key=session_key).update(seen_at=seen_at)


def _lock(session_key: str) -> ChatSession:
    sessions = ChatSession.objects.select_for_update(of=("self",))
    sessions = sessions.select_related("ticket", "customer")
    found = list(sessions.filter(key=session_key)[:1])
    if not found:
        raise SessionNotFound("bad_token", "this chat session no longer exists")
    return found[0]


def _limit(scope: str, key: str, limit: int, *, window: int) -> None:
    limited = ratelimit.hit(scope=scope, key=key, limit=limit, window=window)
    if limited is not None:
        raise RateLimited(
            "rate_limited",
            f"too many messages; try again in {limited.retry_after} s",
            retry_after=limited.retry_after,
        )


def _clean_text(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ChatError("empty", "the message is empty")
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise TooLong(
            "too_long",
            f"the message is {len(text)} characters; the limit is {limit}",
            limit=limit,
        )
    # NUL cannot be stored in PostgreSQL text; it is never meaningful in chat.
    return text.replace("\x00", "").strip()


def _clean_client_id(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise ChatError("bad_client_msg_id", "client_msg_id must be 1-64 characters")
    return value


def _clean_email(email: object) -> str:
    if not email:
        return ""
    if not isinstance(email, str):
        raise ChatError("invalid_email", "that is not an email address")
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ChatError("invalid_email", "that is not an email address") from None
    return email


def _subject(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return f"Chat: {first_line[:80]}"
