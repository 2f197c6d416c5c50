"""The pipeline with the real local engine and the demo knowledge base."""

import pytest

from conftest import make_ticket
from tickets.models import AuthorKind, Message, Priority, Ticket
from tickets.states import Status
from triage import services
from triage.models import TriageResult

pytest.importorskip("triage.ml.engine", reason="needs the triage-core branch")


def triage(customer, subject, text) -> tuple[Ticket, TriageResult]:
    ticket = make_ticket(customer.customer, subject=subject, text=text)
    return Ticket.objects.get(pk=ticket.pk), TriageResult.objects.get(ticket=ticket)


def test_card_arrival_is_answered_alone_once_the_policy_allows(customer):
    services.demo_auto_send_enable()
    ticket, result = triage(
        customer,
        "(no subject)",
        "I ordered a card two weeks ago and it has not arrived yet",
    )

    assert (result.backend, result.category, result.error) == (
        "local",
        "card_arrival",
        "",
    )
    assert result.cited_articles and result.draft
    assert ticket.status == Status.AUTO_ANSWERED, result.reasons["route"]
    assert (
        Message.objects.get(ticket=ticket, author_kind=AuthorKind.AI).text
        == result.draft
    )


def test_stolen_card_is_urgent_and_goes_to_a_human_with_a_draft(customer):
    services.demo_auto_send_enable()
    ticket, result = triage(customer, "Help", "My card was stolen this morning")

    assert ticket.priority == Priority.URGENT
    assert ticket.status == Status.AWAITING_AGENT
    assert "fraud" in result.risk_flags
    assert result.route == "human"


def test_request_for_a_person_in_swedish_goes_to_a_human(customer):
    services.demo_auto_send_enable()
    ticket, result = triage(
        customer,
        "(no subject)",
        "Mitt kort har inte kommit. Jag vill prata med en människa",
    )

    assert ticket.wants_human and ticket.language == "sv"
    assert ticket.status == Status.AWAITING_AGENT
    assert "asked for a human" in result.reasons["route"]


def test_card_number_is_redacted_in_the_stored_reading(customer):
    _, result = triage(customer, "Card", "Card 4111 1111 1111 1111 never arrived")

    assert "4111" not in result.redacted_text
    assert "[CARD]" in result.redacted_text
