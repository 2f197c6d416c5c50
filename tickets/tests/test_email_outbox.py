"""Email out against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import Group
from django.utils import timezone

from conftest import committed, free_port
from tickets import services
from tickets.email_services import email_receive
from tickets.email_threads import ticket_id_from_ref
from tickets.intake import parse_token
from tickets.models import AuthorKind, EmailOutbox, Ticket, TicketEvent
from tickets.outbox import (
    FAILED,
    RETRY,
    SKIPPED,
    UNCERTAIN,
    outbox_due,
    outbox_resend,
    outbox_send,
)
from tickets.tasks import deliver_email, deliver_email_sweep
from tickets.tests.conftest import make_raw

pytestmark = pytest.mark.django_db


class Recorder:
    """An SMTP handler that keeps every message and can refuse some."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.refuse = 0
        self.stall = 0.0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        self.messages.append(envelope.content)
        if self.stall:
            await asyncio.sleep(self.stall)
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


def crashed_mid_send(row: EmailOutbox) -> None:
    """What a sender that died after SMTP accepted the mail leaves behind."""
    EmailOutbox.objects.filter(pk=row.pk).update(
        status="sending",
        sending_started_at=timezone.now(),
        lease_expires_at=timezone.now() + timedelta(minutes=5),
    )


def test_crash_after_send_is_not_sent_again_but_marked_uncertain(smtp, agent):
    row = agent_reply(email_ticket(), agent)
    crashed_mid_send(row)
    assert outbox_send(outbox_id=row.pk) == SKIPPED  # lease still held
    later = timezone.now() + timedelta(minutes=6)
    assert outbox_send(outbox_id=row.pk, now=later) == UNCERTAIN
    assert outbox_send(outbox_id=row.pk, now=later) == SKIPPED
    assert len(smtp.messages) == 1
    row.refresh_from_db()
    assert row.status == "uncertain" and row.attempts == 1
    event = TicketEvent.objects.get(ticket=row.ticket, kind="email.uncertain")
    assert event.after["outbox_id"] == row.pk and event.after["attempt"] == 1


def test_sweep_marks_a_dead_senders_row_uncertain(smtp, agent):
    row = agent_reply(email_ticket(), agent)
    crashed_mid_send(row)
    EmailOutbox.objects.filter(pk=row.pk).update(lease_expires_at=timezone.now())
    assert deliver_email_sweep.delay().get() == 1
    assert EmailOutbox.objects.get(pk=row.pk).status == "uncertain"
    assert len(smtp.messages) == 1


def test_timeout_after_the_data_went_out_is_uncertain(smtp, agent, settings):
    settings.EMAIL_TIMEOUT = 1
    smtp.stall = 3  # the server keeps the mail but answers too late
    row = agent_reply(email_ticket(), agent)
    row.refresh_from_db()
    assert row.status == "uncertain" and row.attempts == 1
    assert len(smtp.messages) == 1
    assert outbox_due(now=timezone.now() + timedelta(days=1)) == []


def test_unreachable_server_is_retried(smtp, agent, settings):
    settings.EMAIL_PORT = free_port()  # nothing listens: certainly not sent
    row = agent_reply(email_ticket(), agent)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("queued", 1)
    assert "ConnectionRefused" in row.last_error


def test_supervisor_resends_an_uncertain_mail_from_the_admin(
    smtp, agent, supervisor, client
):
    row = agent_reply(email_ticket(), agent)
    crashed_mid_send(row)
    outbox_send(outbox_id=row.pk, now=timezone.now() + timedelta(minutes=6))
    supervisor.groups.add(Group.objects.get(name="supervisors"))
    client.force_login(supervisor)
    listing = client.get("/admin/tickets/emailoutbox/?status__exact=uncertain")
    assert listing.status_code == 200 and b"Uncertain" in listing.content
    with committed():
        response = client.post(
            "/admin/tickets/emailoutbox/",
            {"action": "resend", "_selected_action": [row.pk]},
        )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 2
    first, second = smtp.messages
    assert first == second  # same Message-ID: the receiver can recognise it
    resend = TicketEvent.objects.get(ticket=row.ticket, kind="email.resend")
    assert resend.actor_id == supervisor.pk


def test_resend_refuses_a_row_that_was_sent(smtp, agent, supervisor):
    row = agent_reply(email_ticket(), agent)
    assert outbox_resend(outbox_id=row.pk, actor_id=supervisor.pk) is False
    assert len(smtp.messages) == 1


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
