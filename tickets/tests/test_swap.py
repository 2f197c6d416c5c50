"""The transition's UPDATE: compiled once per shape, same rows as the ORM's."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.capacity import room
from conftest import make_ticket
from tickets import swap
from tickets.models import Ticket
from tickets.states import Status


def _waiting(customer, **fields) -> Ticket:
    """A ticket in the given state, and no shapes compiled yet."""
    t = make_ticket(customer.customer)
    Ticket.objects.filter(pk=t.pk).update(**{"status": Status.AWAITING_AGENT, **fields})
    t.refresh_from_db()
    swap._compiled.clear()
    return t


@pytest.fixture(autouse=True)
def no_shapes(monkeypatch):
    monkeypatch.setattr(swap, "_compiled", {})


def _claim(ticket: Ticket, agent_id: int) -> int:
    ticket.refresh_from_db()
    return swap.update(
        ticket_id=ticket.pk,
        version=ticket.version,
        values={
            "status": Status.CLAIMED,
            "assignee_id": agent_id,
            "offered_to_id": None,
        },
        condition=(Q(status=Status.AWAITING_AGENT) | Q(offered_to_id=agent_id))
        & room(agent_id, ticket.pk, online=False),
    )


def test_a_shape_is_compiled_once_and_reused_with_new_values(
    customer, agent, other_agent, monkeypatch
):
    first, second = _waiting(customer), _waiting(customer)
    assert _claim(first, agent.pk) == 1
    [sql] = swap._compiled.values()
    assert sql.startswith("UPDATE")

    def compile_again(*args):
        raise AssertionError("compiled twice")

    monkeypatch.setattr(swap, "_compile", compile_again)
    with CaptureQueriesContext(connection) as queries:
        assert _claim(second, other_agent.pk) == 1
    assert len(queries.captured_queries) == 2  # the re-read, then the UPDATE
    assert len(swap._compiled) == 1
    rows = Ticket.objects.filter(pk__in=[first.pk, second.pk]).order_by("pk")
    assert [(t.status, t.assignee_id) for t in rows] == [
        (Status.CLAIMED, agent.pk),
        (Status.CLAIMED, other_agent.pk),
    ]


def test_the_condition_and_version_still_decide(customer, agent, other_agent):
    t = _waiting(customer)
    stale = t.version
    assert _claim(t, agent.pk) == 1
    # The same shape, now false: claimed by someone else, and a stale version.
    assert _claim(t, other_agent.pk) == 0
    values = {"status": Status.CLAIMED, "assignee_id": other_agent.pk}
    assert (
        swap.update(ticket_id=t.pk, version=stale, values=values, condition=None) == 0
    )
    t.refresh_from_db()
    assert (t.assignee_id, t.version) == (agent.pk, stale + 1)


def test_nulls_and_comparisons_are_part_of_the_shape(customer, agent):
    now = timezone.now()
    t = _waiting(
        customer, status=Status.OFFERED, offered_to_id=agent.pk, offer_expires_at=now
    )
    lapsed = Q(offered_to_id=agent.pk) & Q(offer_expires_at__lte=now)
    values = {"status": Status.AWAITING_AGENT, "offered_to_id": None}
    # Not yet lapsed a second earlier: no row.
    early = Q(offered_to_id=agent.pk) & Q(offer_expires_at__lte=now - timedelta(1))
    assert (
        swap.update(ticket_id=t.pk, version=t.version, values=values, condition=early)
        == 0
    )
    assert (
        swap.update(ticket_id=t.pk, version=t.version, values=values, condition=lapsed)
        == 1
    )
    assert len(swap._compiled) == 1  # one shape, two values
    t.refresh_from_db()
    assert (t.status, t.offered_to_id) == (Status.AWAITING_AGENT, None)
    assert all(isinstance(sql, str) for sql in swap._compiled.values())


@pytest.mark.parametrize(
    "values, condition",
    [
        ({"status": Status.CLAIMED, "priority": F("priority")}, None),
        ({"status": Status.CLAIMED}, Q(status__in=[Status.AWAITING_AGENT])),
        ({"status": Status.CLAIMED}, Q(customer__email="carl@example.com")),
    ],
    ids=["expression value", "list lookup", "join"],
)
def test_other_shapes_go_through_the_orm(customer, values, condition):
    t = _waiting(customer)
    assert (
        swap.update(
            ticket_id=t.pk, version=t.version, values=values, condition=condition
        )
        == 1
    )
    assert swap._compiled == {}
    assert Ticket.objects.get(pk=t.pk).status == Status.CLAIMED


def test_a_shape_read_wrongly_is_never_reused(customer, monkeypatch):
    """If the ORM's parameters differ from ours, the shape stays on the ORM."""
    t = _waiting(customer)
    monkeypatch.setattr(swap, "_same", lambda a, b: False)
    values = {"status": Status.CLAIMED}
    assert (
        swap.update(ticket_id=t.pk, version=t.version, values=values, condition=None)
        == 1
    )
    assert list(swap._compiled.values()) == [swap._UNCACHEABLE]
    t.refresh_from_db()
    values = {"status": Status.WAITING_ON_CUSTOMER}
    assert (
        swap.update(ticket_id=t.pk, version=t.version, values=values, condition=None)
        == 1
    )
    assert Ticket.objects.get(pk=t.pk).status == Status.WAITING_ON_CUSTOMER
