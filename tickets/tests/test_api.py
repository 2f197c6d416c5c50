import json

import pytest
from django.urls import reverse

from conftest import make_ticket
from tickets.models import Ticket, TicketEvent

LIST = "/api/tickets/"


def detail(ticket_id: int, suffix: str = "") -> str:
    return f"/api/tickets/{ticket_id}/{suffix}"


def test_customer_lists_only_own_tickets(client_for, customer, other_customer, ticket):
    make_ticket(other_customer.customer, subject="Someone else's")
    response = client_for(customer).get(LIST)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [ticket.pk]


def test_customer_cannot_read_someone_elses_ticket(client_for, other_customer, ticket):
    response = client_for(other_customer).get(detail(ticket.pk))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_agent_sees_only_held_tickets(client_for, agent, other_agent, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    assert client_for(agent).get(detail(ticket.pk)).status_code == 200
    assert client_for(other_agent).get(detail(ticket.pk)).status_code == 404
    assert client_for(other_agent).get(LIST).json()["results"] == []


def test_anonymous_is_refused(client_for, ticket):
    response = client_for(None).get(LIST)
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_supervisor_creates_ticket_for_a_customer(client_for, supervisor):
    response = client_for(supervisor).post(
        LIST,
        {
            "subject": "Refund",
            "text": "Where is my refund?",
            "customer_email": "x@y.se",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["customer"]["email"] == "x@y.se"
    assert Ticket.objects.get(pk=body["id"]).messages.count() == 1


def test_customer_creates_own_ticket(client_for, customer):
    response = client_for(customer).post(
        LIST, {"subject": "Hello", "text": "My card"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["customer"]["email"] == "carl@example.com"


def test_customer_cannot_open_ticket_for_someone_else(client_for, customer):
    response = client_for(customer).post(
        LIST,
        {"subject": "Hi", "text": "x", "customer_email": "victim@example.com"},
        format="json",
    )
    assert response.status_code == 403
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"subject": "Hi"}, "text"),
        ({"subject": "Hi", "text": "x", "colour": "red"}, "colour"),
        ({"subject": ["not", "a", "string"], "text": "x"}, "subject"),
        ({"subject": "Hi", "text": "x" * 20_001}, "text"),
    ],
)
def test_bad_ticket_body_is_400_with_field_errors(client_for, customer, body, field):
    response = client_for(customer).post(LIST, body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not Ticket.objects.exists()


def test_malformed_json_is_400(client_for, customer):
    response = client_for(customer).post(
        LIST, data='{"subject": "x",', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_json_that_is_not_an_object_is_400(client_for, customer):
    response = client_for(customer).post(
        LIST, data="[1, 2]", content_type="application/json"
    )
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_oversized_body_is_413(client_for, customer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"subject": "x", "text": "y" * 5000})
    response = client_for(customer).post(
        LIST, data=body, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert not Ticket.objects.exists()


def test_bad_filter_is_400(client_for, supervisor):
    response = client_for(supervisor).get(LIST, {"status": "sleeping"})
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_filters_narrow_the_list(client_for, supervisor, customer):
    make_ticket(customer.customer)
    urgent = make_ticket(customer.customer)
    Ticket.objects.filter(pk=urgent.pk).update(priority=3)
    response = client_for(supervisor).get(LIST, {"priority": "urgent"})
    assert [row["id"] for row in response.json()["results"]] == [urgent.pk]


def test_list_query_count_is_constant(
    client_for, supervisor, customer, django_assert_max_num_queries
):
    for _ in range(30):
        make_ticket(customer.customer)
    api = client_for(supervisor)
    with django_assert_max_num_queries(3):
        response = api.get(LIST)
    assert len(response.json()["results"]) == 25
    with django_assert_max_num_queries(3):
        api.get(response.json()["next"])


def test_illegal_transition_is_409_and_changes_nothing(client_for, supervisor, ticket):
    response = client_for(supervisor).post(
        detail(ticket.pk, "transitions/"), {"action": "accept"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "illegal_transition"
    assert Ticket.objects.get(pk=ticket.pk).status == "awaiting_agent"


def test_customer_may_not_claim(client_for, customer, ticket):
    response = client_for(customer).post(
        detail(ticket.pk, "transitions/"), {"action": "claim"}, format="json"
    )
    assert response.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_customer_can_ask_for_a_human_only_through_known_actions(
    client_for, customer, ticket
):
    response = client_for(customer).post(
        detail(ticket.pk, "transitions/"), {"action": "teleport"}, format="json"
    )
    assert response.status_code == 400
    assert "action" in response.json()["error"]["fields"]


def test_customer_reply_is_stored(client_for, customer, ticket):
    response = client_for(customer).post(
        detail(ticket.pk, "messages/"), {"text": "More details"}, format="json"
    )
    assert response.status_code == 201
    assert ticket.messages.count() == 2


def test_customer_cannot_write_internal_notes(client_for, customer, ticket):
    response = client_for(customer).post(
        detail(ticket.pk, "messages/"), {"text": "x", "internal": True}, format="json"
    )
    assert response.status_code == 403
    assert ticket.messages.count() == 1


def test_customer_never_sees_internal_notes(client_for, customer, supervisor, ticket):
    client_for(supervisor).post(
        detail(ticket.pk, "messages/"), {"text": "VIP", "internal": True}, format="json"
    )
    rows = client_for(customer).get(detail(ticket.pk, "messages/")).json()["results"]
    assert [row["internal"] for row in rows] == [False]


def test_audit_trail_is_for_staff(client_for, customer, supervisor, ticket):
    assert client_for(customer).get(detail(ticket.pk, "events/")).status_code == 403
    rows = client_for(supervisor).get(detail(ticket.pk, "events/")).json()["results"]
    assert [row["kind"] for row in rows] == list(
        TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True)
    )


def test_token_authentication_works(client, customer):
    response = client.post(reverse("api-token"), {"username": "carl", "password": "pw"})
    token = response.json()["token"]
    listed = client.get(LIST, HTTP_AUTHORIZATION=f"Token {token}")
    assert listed.status_code == 200


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/tickets/" in schema.content
    assert client.get("/api/docs/").status_code == 200
