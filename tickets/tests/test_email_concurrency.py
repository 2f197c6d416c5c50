"""Redelivery racing itself on PostgreSQL: the unique key lets one insert win,
and row locks let one batch process each stored message."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tickets.email_services import email_receive
from tickets.models import InboundEmail
from tickets.tests.conftest import make_raw


def together(n: int, work) -> None:
    """Run ``work`` in ``n`` threads released at the same moment."""
    barrier = threading.Barrier(n)

    def run() -> None:
        try:
            barrier.wait()
            work()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.django_db(transaction=True)
def test_concurrent_redelivery_is_stored_once(settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real concurrent transactions")
    settings.MEDIA_ROOT = tmp_path
    settings.EMAIL_ACKNOWLEDGE = False
    raw = make_raw(message_id="<race@x.example>")
    outcomes: list[str] = []
    together(4, lambda: outcomes.append(email_receive(raw=raw, source="race").outcome))
    assert sorted(outcomes) == ["duplicate"] * 3 + ["new"]
    assert InboundEmail.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_of_the_same_backlog_store_and_process_once(
    settings, tmp_path
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real concurrent transactions")
    from bench.emailgen import generate
    from tickets.email_batch import Incoming, email_receive_batch
    from tickets.models import Ticket

    settings.MEDIA_ROOT = tmp_path
    settings.EMAIL_ACKNOWLEDGE = False
    items = [Incoming(e.raw) for e in generate(60, seed=9)]
    outcomes: list[str] = []

    def deliver() -> None:
        receipts = email_receive_batch(items=items, source="race")
        outcomes.extend(r.outcome for r in receipts)

    together(3, deliver)
    assert len(outcomes) == 3 * len(items)
    assert InboundEmail.objects.count() == len(items)
    assert not InboundEmail.objects.filter(status="received").exists()
    # Each stored message was processed by exactly one of the three.
    processed = InboundEmail.objects.exclude(message=None).count()
    assert outcomes.count("new") + outcomes.count("threaded") == processed
    assert Ticket.objects.count() == outcomes.count("new")
