"""The triage pipeline end to end on the database, with a scripted backend."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import committed, make_ticket
from tickets import services as ticket_services
from tickets.models import AuthorKind, Message, Priority, Ticket, TicketEvent
from tickets.states import Action, Status
from triage import pipeline, services, tasks
from triage.backends.base import BackendError, RiskFlag, TriageOutput
from triage.models import CategoryPolicy, TriageResult
from triage.selectors import triage_result_latest

DRAFT = "Hello,\n\nCards usually arrive within 5 to 7 business days. [kb1]"


class ScriptedBackend:
    """A backend whose answer (or failure) each test sets."""

    name = "scripted"

    def __init__(self):
        self.fields = {}
        self.error = None
        self.sleep = 0.0
        self.calls = []

    def analyse(self, message):
        self.calls.append(message)
        if self.sleep:
            time.sleep(self.sleep)
        if self.error:
            raise self.error
        fields = {
            "category": "test_auto",
            "confidence": 0.97,
            "priority": "normal",
            "language": "en",
            "sentiment": "neutral",
            "redacted_text": message.text,
            "draft": DRAFT,
            "cited": ["kb1"],
            "backend": self.name,
            "model_version": "v-test",
        }
        return TriageOutput(**(fields | self.fields))


@pytest.fixture
def backend(monkeypatch):
    scripted = ScriptedBackend()
    monkeypatch.setattr(services, "get_backend", lambda: scripted)
    return scripted


@pytest.fixture
def auto_policy(db):
    return CategoryPolicy.objects.create(
        category="test_auto", auto_send=True, confidence_threshold=0.9
    )


@pytest.fixture
def guardrails():
    pytest.importorskip("triage.ml.guardrails", reason="needs the triage-core branch")


def status_of(ticket) -> str:
    return Ticket.objects.get(pk=ticket.pk).status


def test_confident_answer_in_auto_category_is_sent_by_the_ai(
    backend, auto_policy, guardrails, customer
):
    ticket = make_ticket(customer.customer)

    assert status_of(ticket) == Status.AUTO_ANSWERED
    reply = Message.objects.get(ticket=ticket, author_kind=AuthorKind.AI)
    assert reply.text == DRAFT
    result = TriageResult.objects.get(ticket=ticket)
    assert (result.route, result.category, result.error) == ("auto", "test_auto", "")
    assert result.cited_articles == ["kb1"]


def test_low_confidence_goes_to_humans_with_the_draft(backend, auto_policy, customer):
    backend.fields = {"confidence": 0.5}
    ticket = make_ticket(customer.customer)

    assert status_of(ticket) == Status.AWAITING_AGENT
    result = triage_result_latest(ticket_id=ticket.pk)
    assert result.route == "human"
    assert result.draft == DRAFT
    assert "confidence 0.50 under 0.90" in result.reasons["route"]
    assert not Message.objects.filter(ticket=ticket, author_kind=AuthorKind.AI)


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"wants_human": True}, "customer asked for a human"),
        ({"risk_flags": [RiskFlag("fraud", 0.9, "stolen")]}, "risk: fraud"),
        ({"out_of_scope": True}, "not one of our categories"),
        ({"category": "no_policy_here"}, "needs a human"),
        ({"draft": ""}, "no grounded draft"),
    ],
)
def test_any_reason_for_a_human_blocks_auto_send(
    backend, auto_policy, customer, fields, reason
):
    backend.fields = fields
    ticket = make_ticket(customer.customer)

    assert status_of(ticket) == Status.AWAITING_AGENT
    assert reason in triage_result_latest(ticket_id=ticket.pk).reasons["route"]


def test_draft_promising_a_refund_outside_policy_goes_to_a_human(
    backend, auto_policy, guardrails, customer
):
    backend.fields = {"draft": "Hello, we will refund you the full amount today."}
    ticket = make_ticket(customer.customer)

    assert status_of(ticket) == Status.AWAITING_AGENT
    result = triage_result_latest(ticket_id=ticket.pk)
    assert [v["kind"] for v in result.guardrail_violations] == ["promise"]
    assert "draft failed checks" in result.reasons["route"]


def test_ticket_fields_take_the_reading(backend, customer):
    backend.fields = {
        "category": "lost_or_stolen_card",
        "priority": "urgent",
        "language": "sv",
        "sentiment": "negative",
        "wants_human": True,
    }
    ticket = Ticket.objects.get(pk=make_ticket(customer.customer).pk)

    assert ticket.category == "lost_or_stolen_card"
    assert ticket.priority == Priority.URGENT
    assert (ticket.language, ticket.sentiment, ticket.wants_human) == (
        "sv",
        "negative",
        True,
    )


def test_backend_failure_routes_to_humans_without_a_draft(backend, customer):
    backend.error = BackendError("model is down")
    ticket = make_ticket(customer.customer)

    assert status_of(ticket) == Status.AWAITING_AGENT
    result = triage_result_latest(ticket_id=ticket.pk)
    assert (result.route, result.draft) == ("human", "")
    assert "model is down" in result.error


def test_backend_over_the_time_limit_routes_to_humans(backend, customer, settings):
    settings.TRIAGE_TIMEOUT_SECONDS = 0.05
    backend.sleep = 0.5
    ticket = make_ticket(customer.customer)

    assert status_of(ticket) == Status.AWAITING_AGENT
    result = triage_result_latest(ticket_id=ticket.pk)
    assert "TriageTimeout" in result.error
    assert result.draft == ""


def test_redelivered_task_changes_nothing(backend, customer):
    ticket = make_ticket(customer.customer)
    message = ticket.messages.get()
    events = TicketEvent.objects.filter(ticket=ticket).count()

    tasks.triage_message(message.pk)
    tasks.triage_message(message.pk)

    assert len(backend.calls) == 1
    assert TriageResult.objects.filter(message=message).count() == 1
    assert TicketEvent.objects.filter(ticket=ticket).count() == events


def test_second_recording_of_a_message_loses_the_race(backend, customer):
    ticket = make_ticket(customer.customer)
    message = ticket.messages.get()
    TriageResult.objects.filter(message=message).delete()
    outcome = pipeline.run(backend, services.message_input(message), timeout=1.0)

    first = services.triage_record(message=message, outcome=outcome)
    second = services.triage_record(message=message, outcome=outcome)

    assert first is not None and second is None
    assert TriageResult.objects.filter(message=message).count() == 1


def test_message_on_a_held_ticket_is_read_but_not_rerouted(backend, customer, agent):
    ticket = make_ticket(customer.customer)
    ticket_services.ticket_transition(
        ticket_id=ticket.pk,
        action=Action.CLAIM,
        actor_id=agent.pk,
        changes={"assignee_id": agent.pk},
    )
    backend.fields = {"priority": "urgent", "category": "card_arrival"}
    with committed():
        message = ticket_services.message_add(
            ticket_id=ticket.pk, author_kind=AuthorKind.CUSTOMER, text="Anyone?"
        )

    ticket.refresh_from_db()
    assert ticket.status == Status.CLAIMED
    assert ticket.priority == Priority.URGENT
    assert ticket.category == "test_auto"  # the first reading, not overwritten
    assert TriageResult.objects.get(message=message).category == "card_arrival"


def test_only_the_subject_line_of_the_first_message_is_read(backend, customer):
    ticket = make_ticket(customer.customer, subject="Card not arrived", text="Hi")

    assert backend.calls[0].text == "Card not arrived\n\nHi"
    with committed():
        ticket_services.message_add(
            ticket_id=ticket.pk, author_kind=AuthorKind.CUSTOMER, text="Still  here"
        )
    assert backend.calls[1].text == "Still here"


def test_messages_by_agents_are_not_triaged(backend, customer, agent):
    ticket = make_ticket(customer.customer)
    note = ticket_services.message_add(
        ticket_id=ticket.pk, author_kind=AuthorKind.AGENT, text="n", internal=True
    )

    assert services.message_triage(message_id=note.pk) is None
    assert len(backend.calls) == 1


def test_sweep_moves_only_tickets_stuck_in_triage(backend, customer):
    stuck = make_ticket(customer.customer)
    fresh = make_ticket(customer.customer)
    Ticket.objects.filter(pk__in=[stuck.pk, fresh.pk]).update(status=Status.TRIAGING)
    Ticket.objects.filter(pk=stuck.pk).update(
        updated_at=timezone.now() - timedelta(minutes=10)
    )

    moved = tasks.sweep_stuck()

    assert moved == 1
    assert status_of(stuck) == Status.AWAITING_AGENT
    assert status_of(fresh) == Status.TRIAGING


def test_normalise_collapses_blank_runs():
    assert pipeline.normalise("a \t b\r\n\r\n\r\n\r\nc  ") == "a b\n\nc"


def test_demo_auto_send_turns_on_only_safe_categories(db):
    services.demo_auto_send_enable()

    assert CategoryPolicy.objects.get(category="card_arrival").auto_send
    assert not CategoryPolicy.objects.get(category="lost_or_stolen_card").auto_send
