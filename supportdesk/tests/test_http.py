"""HTTP through the ASGI application, as uvicorn serves it (supportdesk/http.py)."""

import json
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.contrib.staticfiles import finders
from django.core import signals
from rest_framework.authtoken.models import Token

from supportdesk.asgi import application
from tickets.models import Ticket


def _request(method: str, path: str, body: bytes = b"", headers=()) -> dict:
    headers = [
        (b"host", b"127.0.0.1"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    communicator = HttpCommunicator(application, method, path, body, headers)
    return async_to_sync(communicator.get_response)(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_api_create_through_asgi_returns_201_and_stores_the_ticket(supervisor):
    token = Token.objects.create(user=supervisor).key
    body = {"subject": "Card", "text": "Lost it", "customer_email": "e@example.com"}

    response = _request(
        "POST",
        "/api/tickets/",
        json.dumps(body).encode(),
        [
            (b"authorization", f"Token {token}".encode()),
            (b"content-type", b"application/json"),
        ],
    )

    assert response["status"] == 201, response["body"]
    created = json.loads(response["body"])
    assert created["customer"]["email"] == "e@example.com"
    assert Ticket.objects.get(pk=created["id"]).messages.count() == 1
    assert (b"Content-Type", b"application/json") in response["headers"]


@pytest.mark.django_db(transaction=True)
def test_error_bodies_come_through_unchanged(supervisor):
    token = Token.objects.create(user=supervisor).key

    response = _request(
        "POST",
        "/api/tickets/",
        b'{"subject": ',
        [
            (b"authorization", f"Token {token}".encode()),
            (b"content-type", b"application/json"),
        ],
    )

    assert response["status"] == 400
    assert json.loads(response["body"])["error"]["code"] == "parse_error"


@pytest.mark.django_db(transaction=True)
def test_request_finishes_on_the_thread_that_ran_it():
    # request_finished hands the thread's database connection back; it must
    # fire on the thread that used the connection, not on the event loop.
    seen = []

    def record(**kwargs):
        seen.append(threading.current_thread().name)

    signals.request_started.connect(record)
    signals.request_finished.connect(record)
    try:
        response = _request("GET", "/healthz")
    finally:
        signals.request_started.disconnect(record)
        signals.request_finished.disconnect(record)

    assert response["status"] == 200
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert seen[0].startswith("http")


@pytest.mark.django_db(transaction=True)
def test_static_files_stream_whole():
    # Static files are streaming responses: sent chunk by chunk from the
    # request's thread.
    with open(finders.find("tickets/widget.js"), "rb") as source:
        expected = source.read()

    response = _request("GET", "/static/tickets/widget.js")

    assert response["status"] == 200
    assert response["body"] == expected
