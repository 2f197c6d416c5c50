import pytest
from django.db import transaction

from conftest import committed, make_ticket
from tickets import services
from tickets.models import AuthorKind, Ticket, TicketEvent
from tickets.states import Action, IllegalTransition, Status, TicketConflict


def test_new_ticket_is_triaged_into_the_human_queue(ticket):
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_AGENT
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds == [
        "ticket.created",
        "status.triage",
        "ticket.fields",
        "status.route_human",
    ]


def test_transition_writes_audit_with_before_and_after(ticket, agent):
    services.ticket_transition(
        ticket_id=ticket.pk,
        action=Action.CLAIM,
        actor_id=agent.pk,
        actor_kind=AuthorKind.AGENT,
        changes={"assignee_id": agent.pk},
    )
    event = TicketEvent.objects.filter(ticket=ticket).latest("id")
    assert event.kind == "status.claim"
    assert event.actor == agent
    assert event.before == {"status": "awaiting_agent", "assignee_id": None}
    assert event.after == {"status": "claimed", "assignee_id": agent.pk}


def test_illegal_transition_changes_nothing(ticket):
    ticket.refresh_from_db()
    events_before = ticket.events.count()
    with pytest.raises(IllegalTransition):
        services.ticket_transition(ticket_id=ticket.pk, action=Action.REPLY)
    after = Ticket.objects.get(pk=ticket.pk)
    assert (after.status, after.version) == (ticket.status, ticket.version)
    assert ticket.events.count() == events_before


def test_second_claim_loses_with_a_clear_error(ticket, agent, other_agent):
    services.ticket_transition(
        ticket_id=ticket.pk, action=Action.CLAIM, changes={"assignee_id": agent.pk}
    )
    with pytest.raises(
        IllegalTransition, match="cannot claim a ticket that is claimed"
    ):
        services.ticket_transition(
            ticket_id=ticket.pk,
            action=Action.CLAIM,
            changes={"assignee_id": other_agent.pk},
        )
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent


def test_failed_condition_is_a_conflict_not_a_write(ticket, agent):
    from django.db.models import Q

    with pytest.raises(TicketConflict, match="agent is full"):
        services.ticket_transition(
            ticket_id=ticket.pk,
            action=Action.CLAIM,
            changes={"assignee_id": agent.pk},
            condition=Q(pk=-1),
            condition_error="agent is full",
        )
    assert Ticket.objects.get(pk=ticket.pk).status == Status.AWAITING_AGENT


def test_customer_reply_reopens_resolved_ticket(ticket):
    services.ticket_transition(ticket_id=ticket.pk, action=Action.RESOLVE)
    with committed():
        services.message_add(
            ticket_id=ticket.pk, author_kind=AuthorKind.CUSTOMER, text="Still broken"
        )
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_AGENT
    assert ticket.resolved_at is None


def test_agent_reply_sets_first_response_and_waits_on_customer(ticket, agent):
    services.ticket_transition(
        ticket_id=ticket.pk, action=Action.CLAIM, changes={"assignee_id": agent.pk}
    )
    services.message_add(
        ticket_id=ticket.pk, author_kind=AuthorKind.AGENT, author_id=agent.pk, text="Hi"
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_ON_CUSTOMER
    assert ticket.first_response_at is not None


def test_internal_note_does_not_move_the_ticket(ticket, agent):
    ticket.refresh_from_db()
    services.message_add(
        ticket_id=ticket.pk,
        author_kind=AuthorKind.AGENT,
        author_id=agent.pk,
        text="VIP",
        internal=True,
    )
    after = Ticket.objects.get(pk=ticket.pk)
    assert after.status == ticket.status
    assert after.first_response_at is None


def test_rolled_back_create_leaves_nothing(customer):
    with pytest.raises(RuntimeError), transaction.atomic():
        make_ticket(customer.customer)
        raise RuntimeError("boom")
    assert Ticket.objects.count() == 0


def test_customer_email_is_matched_case_insensitively(db):
    first = services.customer_get_or_create(email="Mia@Example.com")
    assert services.customer_get_or_create(email="mia@example.COM") == first
