"""POST /api/tickets/: what one create costs and what it returns."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from conftest import make_ticket
from tickets.api.serializers import TicketSerializer
from tickets.models import Ticket, TicketEvent

LIST = "/api/tickets/"
BODY = {"subject": "Card", "text": "Lost it", "customer_email": "e@example.com"}


def _token_client(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user)}")
    return api


def test_create_runs_five_queries(supervisor, django_assert_max_num_queries):
    # Token -> user, customer by address, then ticket, message and audit
    # event inserted in one transaction (and nothing else but its bounds).
    api = _token_client(supervisor)
    api.post(LIST, BODY, format="json")  # the customer exists from now on

    with django_assert_max_num_queries(7) as captured:
        response = api.post(LIST, BODY, format="json")

    assert response.status_code == 201
    statements = [
        " ".join(q["sql"].replace('"', "").split()[:3])
        for q in captured
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))
    ]
    assert statements == [
        "SELECT auth_user.id, auth_user.password,",
        "SELECT tickets_customer.id, tickets_customer.user_id,",
        "INSERT INTO tickets_ticket",
        "INSERT INTO tickets_message",
        "INSERT INTO tickets_ticketevent",
    ]


def test_create_with_a_bad_token_is_refused_without_writing(client, supervisor):
    response = client.post(
        LIST,
        BODY,
        content_type="application/json",
        HTTP_AUTHORIZATION="Token not-a-token",
    )

    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "authentication_failed"
    assert not Ticket.objects.exists()


def test_inactive_users_token_is_refused(supervisor):
    api = _token_client(supervisor)
    supervisor.is_active = False
    supervisor.save()

    response = api.post(LIST, BODY, format="json")

    assert response.status_code in (401, 403)
    assert "inactive" in response.json()["error"]["message"]


def test_create_writes_ticket_message_and_audit_and_returns_the_ticket(supervisor):
    response = _token_client(supervisor).post(LIST, BODY, format="json")

    body = response.json()
    ticket = Ticket.objects.get(pk=body["id"])
    assert body == json.loads(JSONRenderer().render(_drf_fields(ticket)))
    assert ticket.messages.get().text == "Lost it"
    event = TicketEvent.objects.get(ticket=ticket)
    assert event.kind == "ticket.created"
    assert event.actor_id == supervisor.pk


@pytest.mark.parametrize("held", [False, True])
def test_ticket_json_is_what_the_declared_fields_write(customer, agent, held):
    ticket = make_ticket(customer.customer)
    if held:
        now = timezone.now()
        Ticket.objects.filter(pk=ticket.pk).update(
            assignee=agent,
            first_response_due=now + timedelta(hours=1),
            resolved_at=now,
            priority=3,
        )
    ticket = Ticket.objects.select_related("customer", "assignee").get(pk=ticket.pk)

    fast = JSONRenderer().render(TicketSerializer(ticket).data)

    assert json.loads(fast) == json.loads(JSONRenderer().render(_drf_fields(ticket)))


def _drf_fields(ticket: Ticket) -> dict:
    """The ticket rendered field by field by DRF from the declared fields."""
    return serializers.Serializer.to_representation(TicketSerializer(), ticket)
