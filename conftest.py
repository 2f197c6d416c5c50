"""Factories and personas shared by every app's tests.

Personas: ``agent`` (approved, en/sv), ``other_agent`` (approved, not holding
the ticket), ``customer`` (a user with a Customer row), ``other_customer``,
``supervisor`` (staff). ``ticket`` belongs to ``customer``.
"""

import socket

import factory
import pytest
from django.contrib.auth.models import User
from django.test import TestCase
from rest_framework.test import APIClient

from agents.models import AgentProfile
from tickets import services
from tickets.models import Customer


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Faker("name")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentProfile

    user = factory.SubFactory(UserFactory)
    languages = factory.LazyFunction(lambda: ["en", "sv"])
    approved = True


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def committed():
    """Run what the block schedules with ``on_commit``, as a real commit would."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def make_ticket(
    customer: Customer, subject: str = "Card not arrived", text: str = "Hi"
):
    with committed():
        ticket, _ = services.ticket_create(
            customer=customer, subject=subject, text=text
        )
    return ticket


@pytest.fixture
def supervisor(db) -> User:
    return UserFactory(username="sue", is_staff=True)


@pytest.fixture
def agent(db) -> User:
    return AgentFactory(user=UserFactory(username="alice")).user


@pytest.fixture
def other_agent(db) -> User:
    return AgentFactory(user=UserFactory(username="bob")).user


@pytest.fixture
def customer(db) -> User:
    user = UserFactory(username="carl")
    CustomerFactory(user=user, email="carl@example.com")
    return user


@pytest.fixture
def other_customer(db) -> User:
    user = UserFactory(username="dora")
    CustomerFactory(user=user, email="dora@example.com")
    return user


@pytest.fixture
def ticket(customer):
    return make_ticket(customer.customer)


@pytest.fixture
def client_for():
    def build(user: User | None) -> APIClient:
        api = APIClient()
        if user is not None:
            api.force_authenticate(user)
        return api

    return build
