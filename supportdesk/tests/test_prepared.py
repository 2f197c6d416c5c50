"""PreparedRead: compiled once, run many times, rows as the ORM makes them."""

import pytest
from django.db.models import Count, OuterRef, Subquery

from agents.models import AgentProfile
from conftest import AgentFactory, UserFactory, make_ticket
from supportdesk.prepared import PreparedRead, slot
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def test_row_equals_the_orms_with_converters_applied(customer):
    ticket = make_ticket(customer.customer)
    read = PreparedRead(lambda: Ticket.objects.filter(pk=0))
    for _ in range(2):  # the second run uses the compiled SQL
        row = read.first(ticket.pk)
        expected = Ticket.objects.get(pk=ticket.pk)
        assert row == expected
        for field in Ticket._meta.concrete_fields:
            name = field.attname
            assert getattr(row, name) == getattr(expected, name), name
    assert row.created_at.tzinfo is not None
    assert read.first(ticket.pk + 1000) is None


def test_json_fields_come_back_as_python_values():
    AgentFactory(user=UserFactory(username="ana"), languages=["en", "de"])
    read = PreparedRead(lambda: AgentProfile.objects.filter(user__username="x"))
    assert read.first("ana").languages == ["en", "de"]


def test_slots_are_filled_by_name_and_other_values_kept():
    AgentFactory(user=UserFactory(username="ana"), languages=["de"], capacity=4)
    AgentFactory(user=UserFactory(username="bo"), languages=["fr"], capacity=9)
    read = PreparedRead(
        lambda: AgentProfile.objects.filter(
            user__username__in=[slot("a"), slot("b")], capacity__gt=5
        )
    )
    assert read.first(*read.fill({"a": "ana", "b": "bo"})).user.username == "bo"
    assert read.first(*read.fill({"a": "ana", "b": "ana"})) is None


def test_annotations_are_set_as_attributes(customer):
    ticket = make_ticket(customer.customer)
    read = PreparedRead(
        lambda: Ticket.objects.filter(pk=0).annotate(
            first_text=Subquery(
                Message.objects.filter(ticket=OuterRef("pk")).values("text")[:1]
            ),
            message_count=Count("messages"),
        )
    )
    row = read.first(ticket.pk)
    assert row.first_text == "Hi" and row.message_count == 1


def test_a_wrong_number_of_parameters_is_refused():
    read = PreparedRead(lambda: Ticket.objects.filter(pk=0))
    with pytest.raises(TypeError, match="1 parameters expected, got 2"):
        read.first(1, 2)
