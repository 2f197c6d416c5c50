"""Email out against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from conftest import committed, free_port
from tickets import services
from tickets.email_services import email_receive, ticket_id_from_ref
from tickets.intake import parse_token
from tickets.models import AuthorKind, EmailOutbox, Ticket, TicketEvent
from tickets.outbox import FAILED, RETRY, SENT, SKIPPED, outbox_due, outbox_send
from tickets.tasks import deliver_email, deliver_email_sweep
from tickets.tests.conftest import make_raw

pytestmark = pytest.mark.django_db


class Recorder:
    """An SMTP handler that keeps every message and can refuse some."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        self.messages.append(envelope.content)
        return "250 OK queued"


@pytest.fixture
def smtp(settings, tmp_path):
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Support <support@desk.example>"
    settings.EMAIL_ACKNOWLEDGE = False
    settings.MEDIA_ROOT = tmp_path
    yield handler
    controller.stop()


def email_ticket() -> Ticket:
    raw = make_raw(message_id="<root@customer.example>", subject="Card declined")
    with committed():
        receipt = email_receive(raw=raw, source="test")
    return Ticket.objects.get(pk=receipt.ticket_id)


def agent_reply(ticket: Ticket, agent, text: str = "We refunded you.") -> EmailOutbox:
    with committed():
        services.message_add(
            ticket_id=ticket.pk,
            author_kind=AuthorKind.AGENT,
            author_id=agent.pk,
            text=text,
        )
    return EmailOutbox.objects.get(ticket=ticket, kind="reply")


def test_agent_reply_goes_out_with_threading_headers(smtp, agent):
    ticket = email_ticket()
    row = agent_reply(ticket, agent)
    assert row.status == "sent" and row.attempts == 1
    assert "127.0.0.1" in row.smtp_response
    [wire] = smtp.messages
    sent = email.message_from_bytes(wire, policy=policy.default)
    assert sent["Message-ID"] == row.rfc_message_id
    assert sent["In-Reply-To"] == "<root@customer.example>"
    assert "<root@customer.example>" in sent["References"]
    assert f"[#SD{ticket.pk}]" in sent["Subject"]
    ref = parse_token(str(sent["Reply-To"]), secret=b"", old_secrets=())
    assert ref is None  # the token is signed with the desk's key, not b""
    assert sent.get_body(("html",)) is not None
    assert "Auto-Submitted" not in sent
    assert TicketEvent.objects.filter(ticket=ticket, kind="email.sent").count() == 1


def test_reply_token_round_trips_to_the_ticket(smtp, agent, settings):
    ticket = email_ticket()
    agent_reply(ticket, agent)
    sent = email.message_from_bytes(smtp.messages[0], policy=policy.default)
    ref = parse_token(str(sent["Reply-To"]), secret=settings.SECRET_KEY.encode())
    assert ticket_id_from_ref(ref) == ticket.pk


def test_ai_reply_is_marked_automatic(smtp):
    ticket = email_ticket()
    with committed():
        services.message_add(
            ticket_id=ticket.pk, author_kind=AuthorKind.AI, text="Try again."
        )
    sent = email.message_from_bytes(smtp.messages[0], policy=policy.default)
    assert sent["Auto-Submitted"] == "auto-replied"


def test_internal_note_and_chat_tickets_send_nothing(smtp, agent, ticket):
    email = email_ticket()
    with committed():
        services.message_add(
            ticket_id=email.pk, author_kind=AuthorKind.AGENT, text="x", internal=True
        )
        services.message_add(
            ticket_id=ticket.pk, author_kind=AuthorKind.AGENT, text="api reply"
        )
    assert not EmailOutbox.objects.exists() and not smtp.messages


def test_task_run_twice_sends_once(smtp, agent):
    row = agent_reply(email_ticket(), agent)
    assert deliver_email.delay(row.pk).get() == SKIPPED
    assert outbox_send(outbox_id=row.pk) == SKIPPED
    assert len(smtp.messages) == 1
    assert EmailOutbox.objects.get(pk=row.pk).attempts == 1


def test_crash_after_send_resends_the_same_message(smtp, agent):
    row = agent_reply(email_ticket(), agent)
    # A sender died after SMTP accepted: its claim is still on the row.
    EmailOutbox.objects.filter(pk=row.pk).update(
        status="sending", lease_expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert outbox_send(outbox_id=row.pk) == SKIPPED  # lease still held
    later = timezone.now() + timedelta(minutes=6)
    assert outbox_send(outbox_id=row.pk, now=later) == SENT
    first, second = smtp.messages
    assert first == second  # same bytes, same Message-ID: recognisable


def test_smtp_failure_is_retried_with_backoff_then_visible(smtp, agent, settings):
    settings.EMAIL_OUTBOX_MAX_ATTEMPTS = 3
    smtp.refuse = 10
    row = agent_reply(email_ticket(), agent)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("queued", 1)
    assert "451" in row.last_error
    assert outbox_send(outbox_id=row.pk) == SKIPPED  # not due yet
    now = timezone.now()
    assert outbox_send(outbox_id=row.pk, now=now + timedelta(seconds=31)) == RETRY
    assert outbox_due(now=now + timedelta(seconds=45)) == []
    assert outbox_send(outbox_id=row.pk, now=now + timedelta(seconds=200)) == FAILED
    row.refresh_from_db()
    assert row.status == "failed" and row.attempts == 3
    kinds = list(
        TicketEvent.objects.filter(ticket=row.ticket, kind__startswith="email.")
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["email.queued", "email.retrying", "email.retrying", "email.failed"]
    assert not smtp.messages


def test_sweep_delivers_after_a_transient_failure(smtp, agent):
    smtp.refuse = 1
    row = agent_reply(email_ticket(), agent)
    EmailOutbox.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert deliver_email_sweep.delay().get() == 1
    row.refresh_from_db()
    assert row.status == "sent" and len(smtp.messages) == 1


def test_acknowledgement_threads_a_reply_back(smtp, settings):
    settings.EMAIL_ACKNOWLEDGE = True
    ticket = email_ticket()
    ack = EmailOutbox.objects.get(ticket=ticket, kind="acknowledgement")
    assert ack.status == "sent"
    answer = make_raw(
        message_id="<answer@customer.example>",
        headers={"In-Reply-To": ack.rfc_message_id},
        subject="thanks",
    )
    with committed():
        receipt = email_receive(raw=answer, source="test")
    assert receipt.ticket_id == ticket.pk
