"""Email in through the real pipeline: store, dedup, thread, noise, failures."""

from __future__ import annotations

import mailbox
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command

from bench.emailgen import generate, score, shuffled
from conftest import committed
from tickets import email_services, email_threads, outbox
from tickets.email_services import email_receive, inbound_email_reprocess
from tickets.models import (
    Attachment,
    AuthorKind,
    EmailOutbox,
    EmailThreadId,
    InboundEmail,
    InboundStatus,
    Message,
    Ticket,
    TicketEvent,
)
from tickets.states import Status
from tickets.tests.conftest import REAL_EMAILS, make_raw, real_email_files

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("email_desk")]


def ingest(*paths) -> str:
    out = StringIO()
    with committed():
        call_command("ingest_email", *map(str, paths), stdout=out)
    return out.getvalue().strip()


def receive(raw: bytes, source: str = "test"):
    with committed():
        return email_receive(raw=raw, source=source)


def test_every_real_email_is_stored_and_none_twice():
    files = real_email_files()
    line = ingest(REAL_EMAILS)
    assert InboundEmail.objects.count() == len(files)
    quarantined = InboundEmail.objects.filter(
        status__in=[InboundStatus.QUARANTINED, InboundStatus.FAILED]
    )
    assert all(row.error for row in quarantined)
    assert not InboundEmail.objects.filter(status=InboundStatus.RECEIVED).exists()
    assert line.startswith("ingested ") and line.endswith(
        f"0 duplicates, {quarantined.count()} quarantined"
    )
    stored = {bytes(raw) for raw in InboundEmail.objects.values_list("raw", flat=True)}
    assert {path.read_bytes() for path in files} <= stored

    assert ingest(REAL_EMAILS) == (
        f"ingested 0 new, 0 threaded, {len(files)} duplicates, 0 quarantined"
    )
    assert InboundEmail.objects.count() == len(files)


def test_mbox_and_maildir_go_through_the_same_pipeline(tmp_path):
    box = mailbox.mbox(tmp_path / "in.mbox")
    box.add(make_raw(message_id="<a@x.example>"))
    box.add(make_raw(message_id="<b@x.example>", subject="Other"))
    box.flush()
    maildir = mailbox.Maildir(tmp_path / "md")
    maildir.add(make_raw(message_id="<c@x.example>", subject="Third"))
    line = ingest(tmp_path / "in.mbox", tmp_path / "md")
    assert line == "ingested 3 new, 0 threaded, 0 duplicates, 0 quarantined"


def test_unreadable_file_is_recorded_and_the_batch_goes_on(tmp_path):
    good = tmp_path / "good.eml"
    good.write_bytes(make_raw())
    line = ingest(tmp_path / "missing.eml", good)
    assert line == "ingested 1 new, 0 threaded, 0 duplicates, 1 quarantined"
    assert "cannot read" in InboundEmail.objects.get(status="quarantined").error


def test_same_message_id_stored_once_and_reuse_is_flagged():
    first = receive(make_raw(message_id="<same@x.example>"))
    again = receive(make_raw(message_id="<same@x.example>"))
    reused = receive(
        make_raw(message_id="<same@x.example>", body="A different message.")
    )
    assert (first.outcome, again.outcome) == ("new", "duplicate")
    assert reused.outcome in ("new", "threaded")
    row = InboundEmail.objects.get(pk=reused.inbound_id)
    assert row.flags["reused_message_id"] == "<same@x.example>"
    assert InboundEmail.objects.count() == 2


def test_redelivery_with_an_extra_received_header_is_a_duplicate():
    raw = make_raw(message_id="<hop@x.example>")
    receive(raw)
    again = receive(
        b"Received: from relay by mx; Sun, 1 Jan 2026 00:00:00 +0000\r\n" + raw
    )
    assert again.outcome == "duplicate"


def test_same_bytes_without_message_id_stored_once():
    raw = make_raw(message_id=None)
    assert receive(raw).outcome == "new"
    assert receive(raw).outcome == "duplicate"
    assert InboundEmail.objects.count() == 1


def test_replies_thread_in_any_arrival_order():
    emails = generate(120, seed=3)
    for email in shuffled(emails, seed=11):
        receive(email.raw)
    ticket_of = dict(
        InboundEmail.objects.exclude(ticket=None).values_list(
            "rfc_message_id", "ticket_id"
        )
    )
    result = score(emails, ticket_of)
    assert result.replies > 30
    assert result.threaded == result.replies
    assert result.merged_threads == 0


def test_reply_to_resolved_ticket_reopens_it():
    first = receive(make_raw(message_id="<root@x.example>"))
    Ticket.objects.filter(pk=first.ticket_id).update(status=Status.RESOLVED)
    reply = receive(
        make_raw(
            message_id="<reply@x.example>",
            headers={"In-Reply-To": "<root@x.example>"},
            body="Still broken.",
        )
    )
    assert (reply.outcome, reply.ticket_id) == ("threaded", first.ticket_id)
    assert Ticket.objects.get(pk=first.ticket_id).status != Status.RESOLVED


def test_subject_tag_threads_only_participants():
    first = receive(make_raw(message_id="<t1@x.example>"))
    tag = f"[#SD{first.ticket_id}]"
    stranger = receive(
        make_raw(
            message_id="<t2@x.example>",
            subject=f"Re: {tag} Help",
            sender="Mallory <mallory@evil.example>",
        )
    )
    same_person = receive(make_raw(message_id="<t3@x.example>", subject=f"Re: {tag}"))
    assert stranger.ticket_id != first.ticket_id
    row = InboundEmail.objects.get(pk=stranger.inbound_id)
    assert row.flags["refused_subject_tag"] == f"SD{first.ticket_id}"
    assert same_person.ticket_id == first.ticket_id


def test_reply_token_in_address_threads():
    first = receive(make_raw(message_id="<k1@x.example>"))
    token = email_threads.reply_token_for(first.ticket_id)
    reply = receive(
        make_raw(
            message_id="<k2@x.example>",
            to=f"support+{token}@desk.example",
            subject="no tag, no headers",
        )
    )
    forged = receive(
        make_raw(
            message_id="<k3@x.example>",
            to=f"support+sd{first.ticket_id}-aaaaaaaaaa@desk.example",
        )
    )
    assert reply.ticket_id == first.ticket_id
    assert forged.ticket_id != first.ticket_id


def test_auto_reply_opens_no_ticket_and_gets_no_acknowledgement():
    raw = make_raw(
        message_id="<ooo@x.example>",
        subject="Out of office",
        headers={"Auto-Submitted": "auto-replied"},
    )
    receipt = receive(raw)
    assert receipt.outcome == "noise" and receipt.ticket_id is None
    assert not Ticket.objects.exists() and not EmailOutbox.objects.exists()
    assert not EmailThreadId.objects.filter(message_id="<ooo@x.example>").exists()


def test_one_acknowledgement_per_sender_per_window():
    receive(make_raw(message_id="<n1@x.example>", subject="First"))
    receive(make_raw(message_id="<n2@x.example>", subject="Second"))
    assert Ticket.objects.count() == 2
    acks = EmailOutbox.objects.filter(kind="acknowledgement")
    assert acks.count() == 1 and acks.get().status == "sent"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].message()["Auto-Submitted"] == "auto-replied"


def test_bounce_of_our_reply_is_recorded_on_its_ticket(agent):
    first = receive(make_raw(message_id="<b1@x.example>"))
    with committed():
        reply = outbox.outbox_enqueue_acknowledgement(
            ticket=Ticket.objects.get(pk=first.ticket_id), message=None
        )
    bounce = (
        "From: MAILER-DAEMON@mx.example\r\nTo: support@desk.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce1@mx.example>\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\nUser unknown\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; a@b\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {reply.rfc_message_id}\r\nSubject: Re\r\n--B--\r\n"
    ).encode()
    receipt = receive(bounce)
    assert receipt.ticket_id == first.ticket_id
    assert EmailOutbox.objects.get(pk=reply.pk).bounced_at is not None
    assert TicketEvent.objects.filter(
        ticket_id=first.ticket_id, kind="email.bounced"
    ).exists()
    note = Message.objects.get(pk=receipt.message_pk)
    assert note.is_internal_note and note.author_kind == AuthorKind.SYSTEM


def test_attachments_are_stored_with_safe_names():
    raw = (
        b"From: c@x.example\r\nTo: support@desk.example\r\nSubject: files\r\n"
        b"Message-ID: <att@x.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="Z"\r\n\r\n'
        b"--Z\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b"--Z\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="../../etc/passwd.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--Z--\r\n"
    )
    receipt = receive(raw)
    row = Attachment.objects.get(message_id=receipt.message_pk)
    assert ".." not in row.filename and "/" not in row.filename
    assert row.file.read() == b"%PDF-1.4\n"


def test_processing_error_keeps_raw_and_reprocess_recovers(monkeypatch):
    real = email_services._process

    def broken(inbound, parsed):
        raise RuntimeError("boom")

    monkeypatch.setattr(email_services, "_process", broken)
    failed = receive(make_raw(message_id="<f1@x.example>"))
    after = receive(make_raw(message_id="<f2@x.example>", subject="next"))
    assert failed.outcome == after.outcome == "quarantined"
    row = InboundEmail.objects.get(pk=failed.inbound_id)
    assert row.status == InboundStatus.FAILED and "boom" in row.error
    assert not Ticket.objects.exists()

    monkeypatch.setattr(email_services, "_process", real)
    with committed():
        again = inbound_email_reprocess(inbound_id=failed.inbound_id)
    assert again.outcome == "new"
    assert InboundEmail.objects.get(pk=failed.inbound_id).status == "processed"


def test_garbage_is_stored_and_quarantined_or_kept():
    receipt = receive(b"\x00\xff\xfe garbage \x00" * 50)
    row = InboundEmail.objects.get(pk=receipt.inbound_id)
    assert bytes(row.raw).startswith(b"\x00\xff\xfe")
    assert row.status in (InboundStatus.QUARANTINED, InboundStatus.PROCESSED)


def test_supervisor_sees_quarantined_mail_in_the_admin(client, supervisor, tmp_path):
    ingest(tmp_path / "missing.eml")
    supervisor.groups.add(Group.objects.get(name="supervisors"))
    client.force_login(supervisor)
    response = client.get("/admin/tickets/inboundemail/?status__exact=quarantined")
    assert response.status_code == 200
    assert b"quarantined" in response.content
    row = InboundEmail.objects.get()
    assert (
        client.get(f"/admin/tickets/inboundemail/{row.pk}/change/").status_code == 200
    )
