"""Real threads racing on PostgreSQL: exactly one winner, capacity never exceeded."""

import secrets
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from agents import dispatch
from conftest import AgentFactory, CustomerFactory, UserFactory
from tickets.models import Ticket, TicketEvent
from tickets.states import IllegalTransition, Status, TicketConflict

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises every writer, so there is no race to lose",
    ),
]


def _tickets(n: int) -> list[int]:
    customer = CustomerFactory()
    rows = Ticket.objects.bulk_create(
        Ticket(
            subject=f"race {i}",
            channel="api",
            customer=customer,
            status=Status.AWAITING_AGENT,
            reply_token=secrets.token_hex(8),
        )
        for i in range(n)
    )
    return [t.pk for t in rows]


def _agents(n: int, capacity: int) -> list[int]:
    return [
        AgentFactory(user=UserFactory(username=f"racer{i}"), capacity=capacity).user.pk
        for i in range(n)
    ]


def _run(workers: int, job) -> list:
    def wrapped(index: int):
        try:
            return job(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(wrapped, range(workers)))


def test_racing_claims_on_one_ticket_have_exactly_one_winner():
    racers = _agents(12, capacity=100)
    ticket_ids = _tickets(12)
    barrier = threading.Barrier(len(racers))

    def race(index: int) -> list[int]:
        won = []
        for ticket_id in ticket_ids:
            barrier.wait(timeout=30)
            try:
                dispatch.ticket_claim(agent_id=racers[index], ticket_id=ticket_id)
            except (TicketConflict, IllegalTransition):
                continue
            won.append(ticket_id)
        return won

    wins = Counter(t for won in _run(len(racers), race) for t in won)
    assert wins == Counter(ticket_ids)  # every ticket won exactly once
    claims = TicketEvent.objects.filter(kind="status.claim").count()
    assert claims == len(ticket_ids)


def test_pool_claims_never_double_assign_or_exceed_capacity():
    owners = _agents(4, capacity=3)
    _tickets(20)

    def drain(index: int) -> list[int]:
        agent_id = owners[index % len(owners)]  # four threads per agent
        got = []
        for _ in range(6):
            ticket = dispatch.ticket_claim(agent_id=agent_id)
            if ticket is not None:
                got.append(ticket.pk)
        return got

    claimed = [t for got in _run(16, drain) for t in got]
    assert len(claimed) == len(set(claimed)) == 12  # 4 agents x capacity 3
    held = Counter(
        Ticket.objects.filter(status=Status.CLAIMED).values_list(
            "assignee_id", flat=True
        )
    )
    assert held == {agent_id: 3 for agent_id in owners}
