"""The inbound webhook: HMAC signature, size limit, JSON errors, storage."""

from __future__ import annotations

import pytest

from conftest import committed
from tickets.models import InboundEmail, InboundStatus, Ticket
from tickets.tests.conftest import make_raw
from tickets.views_email import sign

pytestmark = pytest.mark.django_db
URL = "/api/inbound/email/"
SECRET = "webhook-test-secret"


@pytest.fixture(autouse=True)
def webhook(settings, tmp_path):
    settings.INBOUND_EMAIL_SECRET = SECRET
    settings.INBOUND_EMAIL_MAX_BYTES = 64 * 1024
    settings.MEDIA_ROOT = tmp_path


def post(client, body: bytes, signature: str | None = None, **extra):
    headers = {"HTTP_X_SIGNATURE_SHA256": signature or sign(body, SECRET), **extra}
    with committed():
        return client.post(URL, data=body, content_type="message/rfc822", **headers)


def test_signed_message_is_stored_and_opens_a_ticket(client):
    response = post(client, make_raw())
    assert response.status_code == 202
    body = response.json()
    assert body["outcome"] == "new"
    assert Ticket.objects.filter(pk=body["ticket_id"]).exists()
    assert InboundEmail.objects.get(pk=body["inbound_id"]).source == "webhook"


def test_redelivery_is_a_duplicate(client):
    post(client, make_raw())
    response = post(client, make_raw())
    assert response.status_code == 200 and response.json()["outcome"] == "duplicate"
    assert InboundEmail.objects.count() == 1


def test_bad_signature_is_401_and_stores_nothing(client):
    response = post(client, make_raw(), signature="sha256=" + "0" * 64)
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"
    assert not InboundEmail.objects.exists()


def test_prefixed_signature_is_accepted(client):
    raw = make_raw()
    assert post(client, raw, signature="sha256=" + sign(raw, SECRET)).status_code == 202


def test_oversized_body_is_413_json(client):
    raw = make_raw(body="x" * (70 * 1024))
    response = post(client, raw)
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_wrong_content_type_and_method_are_json_errors(client):
    raw = make_raw()
    response = client.post(
        URL,
        data=raw,
        content_type="text/plain",
        HTTP_X_SIGNATURE_SHA256=sign(raw, SECRET),
    )
    assert response.status_code == 415 and response.json()["error"] == "unsupported"
    assert client.get(URL).json()["error"] == "method_not_allowed"


def test_disabled_without_a_secret(client, settings):
    settings.INBOUND_EMAIL_SECRET = ""
    response = post(client, make_raw())
    assert response.status_code == 503 and response.json()["error"] == "disabled"


def test_garbage_body_is_stored_and_flagged(client):
    garbage = b"\x00\x00\xff not mime at all \xc3\x28" * 20
    response = post(client, garbage)
    assert response.status_code == 202
    row = InboundEmail.objects.get(pk=response.json()["inbound_id"])
    assert bytes(row.raw) == garbage
    assert row.status == InboundStatus.QUARANTINED or row.flags.get("defects")
