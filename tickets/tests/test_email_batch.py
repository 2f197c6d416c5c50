"""Batched intake keeps every guarantee of the one-at-a-time path."""

from __future__ import annotations

import pytest
from django.core import mail

from bench.emailgen import generate, score, shuffled
from conftest import committed
from tickets import email_batch, email_batch_write
from tickets.email_batch import Incoming, email_receive_batch, email_receive_many
from tickets.email_services import email_receive, parse
from tickets.models import (
    EmailOutbox,
    EmailThreadId,
    InboundEmail,
    InboundStatus,
    Message,
    Ticket,
    TicketEvent,
)
from tickets.states import Status
from tickets.tests.conftest import make_raw

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("email_desk")]


def batch(*raws: bytes, **kwargs):
    with committed():
        return email_receive_batch(
            items=[r if isinstance(r, Incoming) else Incoming(r) for r in raws],
            source="test",
            **kwargs,
        )


def test_shuffled_backlog_threads_every_reply_and_redelivery_stores_nothing():
    emails = generate(150, seed=5)
    items = [Incoming(e.raw) for e in shuffled(emails, seed=7)]
    with committed():
        receipts = list(email_receive_many(items=items, source="test", batch_size=40))
    assert len(receipts) == len(items)
    ticket_of = dict(
        InboundEmail.objects.exclude(ticket=None).values_list(
            "rfc_message_id", "ticket_id"
        )
    )
    result = score(emails, ticket_of)
    assert result.replies > 30
    assert (result.threaded, result.merged_threads) == (result.replies, 0)
    stored = InboundEmail.objects.count()
    with committed():
        again = list(email_receive_many(items=items, source="test", batch_size=64))
    assert {r.outcome for r in again} == {"duplicate"}
    assert InboundEmail.objects.count() == stored
    assert not InboundEmail.objects.filter(status=InboundStatus.RECEIVED).exists()


def test_redelivery_inside_one_batch_is_stored_once_and_reuse_is_flagged():
    raw = make_raw(message_id="<twice@x.example>")
    reused = make_raw(message_id="<twice@x.example>", body="Something else.")
    first, again, other = batch(raw, raw, reused)
    assert (first.outcome, again.outcome) == ("new", "duplicate")
    assert again.inbound_id == first.inbound_id
    assert again.ticket_id == first.ticket_id is not None
    row = InboundEmail.objects.get(pk=other.inbound_id)
    assert row.flags["reused_message_id"] == "<twice@x.example>"
    assert InboundEmail.objects.count() == 2


def test_batch_and_single_paths_recognise_each_others_messages():
    raw = make_raw(message_id="<both@x.example>")
    with committed():
        single = email_receive(raw=raw, source="test")
    [receipt] = batch(raw)
    assert receipt.outcome == "duplicate" and receipt.inbound_id == single.inbound_id


def test_unreadable_and_unparseable_mail_is_quarantined_and_the_rest_goes_on():
    good = make_raw(message_id="<good@x.example>")
    garbage = b"\x00\xff\xfe garbage \x00" * 3
    unread = Incoming(b"", source_ref="lost.eml", error="cannot read lost.eml")
    receipts = batch(unread, garbage, good)
    assert receipts[0].outcome == "quarantined"
    assert receipts[2].outcome == "new"
    row = InboundEmail.objects.get(pk=receipts[0].inbound_id)
    assert row.status == InboundStatus.QUARANTINED and "cannot read" in row.error
    assert bytes(InboundEmail.objects.get(pk=receipts[1].inbound_id).raw) == garbage


def test_a_failing_batch_is_processed_one_by_one(monkeypatch):
    def broken(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(email_batch_write.Batch, "run", broken)
    receipts = batch(
        make_raw(message_id="<f1@x.example>"),
        make_raw(message_id="<f2@x.example>", sender="Other <o@x.example>"),
    )
    assert [r.outcome for r in receipts] == ["new", "new"]
    assert set(InboundEmail.objects.values_list("status", flat=True)) == {"processed"}
    assert Ticket.objects.count() == 2


def test_rows_left_received_by_a_crash_are_processed_on_redelivery():
    raws = [make_raw(message_id="<c1@x.example>")]
    with committed():
        email_batch._store([Incoming(r) for r in raws], [parse(raws[0])], "test")
    assert InboundEmail.objects.get().status == InboundStatus.RECEIVED
    [receipt] = batch(*raws)
    assert receipt.outcome == "new"
    assert InboundEmail.objects.get().status == InboundStatus.PROCESSED


def test_subject_tag_threads_participants_only_even_within_a_batch():
    [root] = batch(make_raw(message_id="<root@x.example>"))
    tag = f"[#SD{root.ticket_id}]"
    stranger = make_raw(
        message_id="<s@x.example>",
        subject=f"Re: {tag}",
        sender="Mallory <mallory@evil.example>",
    )
    # Bob joins by replying to the thread, then writes with only the tag.
    joins = make_raw(
        message_id="<b1@x.example>",
        headers={"In-Reply-To": "<root@x.example>"},
        sender="Bob <bob@x.example>",
    )
    tagged = make_raw(
        message_id="<b2@x.example>", subject=f"Re: {tag}", sender="Bob <bob@x.example>"
    )
    receipts = batch(stranger, joins, tagged)
    assert receipts[0].ticket_id != root.ticket_id
    assert receipts[1].ticket_id == receipts[2].ticket_id == root.ticket_id
    row = InboundEmail.objects.get(pk=receipts[0].inbound_id)
    assert row.flags["refused_subject_tag"] == f"SD{root.ticket_id}"


def test_reply_to_a_resolved_ticket_reopens_it_and_a_closed_one_gets_a_follow_up():
    resolved, closed = batch(
        make_raw(message_id="<r@x.example>"),
        make_raw(message_id="<c@x.example>", sender="C <c@x.example>"),
    )
    Ticket.objects.filter(pk=resolved.ticket_id).update(status=Status.RESOLVED)
    Ticket.objects.filter(pk=closed.ticket_id).update(status=Status.CLOSED)
    reopen, follow = batch(
        make_raw(message_id="<r2@x.example>", headers={"In-Reply-To": "<r@x.example>"}),
        make_raw(
            message_id="<c2@x.example>",
            headers={"In-Reply-To": "<c@x.example>"},
            sender="C <c@x.example>",
        ),
    )
    assert reopen.ticket_id == resolved.ticket_id
    assert Ticket.objects.get(pk=resolved.ticket_id).status != Status.RESOLVED
    assert follow.outcome == "new" and follow.ticket_id != closed.ticket_id
    row = InboundEmail.objects.get(pk=follow.inbound_id)
    assert row.flags["follow_up_of"] == closed.ticket_id


def test_audit_triage_and_one_acknowledgement_per_sender():
    receipts = batch(
        make_raw(message_id="<a1@x.example>", subject="First"),
        make_raw(message_id="<a2@x.example>", subject="Second"),
        make_raw(message_id="<a3@x.example>", headers={"References": "<a1@x.example>"}),
    )
    assert [r.outcome for r in receipts] == ["new", "new", "threaded"]
    assert TicketEvent.objects.filter(kind="ticket.created").count() == 2
    added = TicketEvent.objects.get(kind="message.created")
    assert added.after["message_id"] == receipts[2].message_pk
    # Triage ran (eagerly in tests) once for each customer message.
    triaged = Message.objects.filter(triage_result__isnull=False).count()
    assert triaged == 3
    acks = EmailOutbox.objects.filter(kind="acknowledgement")
    assert acks.count() == 1 and acks.get().status == "sent"
    assert len(mail.outbox) == 1
    assert EmailThreadId.objects.filter(message_id=acks.get().rfc_message_id).exists()


def test_noise_opens_nothing_and_a_bounce_lands_on_its_ticket():
    [first] = batch(make_raw(message_id="<n1@x.example>"))
    ack = EmailOutbox.objects.get(ticket_id=first.ticket_id)
    ooo = make_raw(
        message_id="<ooo@x.example>",
        subject="Out of office",
        headers={"Auto-Submitted": "auto-replied"},
    )
    bounce = make_raw(
        message_id="<bn@mx.example>",
        sender="MAILER-DAEMON@mx.example",
        subject="Undelivered Mail Returned to Sender",
        body=f"User unknown\n\nMessage-ID: {ack.rfc_message_id}\n",
    )
    noise, bounced = batch(ooo, bounce)
    assert noise.outcome == "noise" and noise.ticket_id is None
    assert bounced.ticket_id == first.ticket_id
    assert Message.objects.get(pk=bounced.message_pk).is_internal_note
    assert EmailOutbox.objects.get(pk=ack.pk).bounced_at is not None
    assert Ticket.objects.count() == 1


def test_ingest_command_with_a_parse_worker_gives_the_same_summary(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    for i in range(5):
        (tmp_path / f"{i}.eml").write_bytes(
            make_raw(message_id=f"<cmd{i}@x.example>", subject=f"Case {i}")
        )
    out = StringIO()
    with committed():
        call_command(
            "ingest_email",
            str(tmp_path),
            "--batch-size=2",
            "--parse-workers=1",
            stdout=out,
        )
    assert out.getvalue().strip() == (
        "ingested 5 new, 0 threaded, 0 duplicates, 0 quarantined"
    )


def test_a_batch_split_between_parse_workers_keeps_its_order():
    emails = generate(12, seed=3)
    items = [Incoming(e.raw) for e in emails]
    with committed():
        receipts = list(
            email_receive_many(
                items=items, source="test", batch_size=5, parse_workers=2
            )
        )
    stored = dict(InboundEmail.objects.values_list("pk", "rfc_message_id"))
    assert [stored[r.inbound_id] for r in receipts] == [
        parse(e.raw).message_id or "" for e in emails
    ]
