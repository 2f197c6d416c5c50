"""The chat's HTTP side: page, session start, fallback sending, errors, CORS."""

import json

import pytest
from django.core.cache import cache
from django.test import Client

from conftest import committed
from tickets.models import Message


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def web(db) -> Client:
    return Client()


def start(web, **body) -> str:
    response = web.post("/chat/api/sessions", body, content_type="application/json")
    assert response.status_code == 201
    return response.json()["token"]


def post(web, url, token, body):
    return web.post(
        url, json.dumps(body), content_type="application/json", HTTP_X_CHAT_TOKEN=token
    )


def test_chat_page_loads_the_widget_from_the_desk(web):
    response = web.get("/chat/")
    assert response.status_code == 200
    assert b"/static/tickets/widget.js" in response.content


def test_fallback_send_stores_once_and_says_so(web):
    token = start(web)
    body = {"client_msg_id": "m1", "text": "Hello"}
    first = post(web, "/chat/api/messages", token, body)
    again = post(web, "/chat/api/messages", token, body)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert first.json()["message"]["id"] == again.json()["message"]["id"]
    assert Message.objects.count() == 1


def test_history_returns_the_conversation_and_status(web):
    token = start(web, email="pat@example.com")
    with committed():  # triage runs on commit and queues the ticket
        post(web, "/chat/api/messages", token, {"client_msg_id": "m1", "text": "Hi"})
    response = web.get("/chat/api/messages?after=0", HTTP_X_CHAT_TOKEN=token)
    data = response.json()
    assert [m["text"] for m in data["messages"]] == ["Hi"]
    assert data["status"]["state"] == "reply_by_email"


def test_too_long_message_gets_413_with_the_limit(web, settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 5
    token = start(web)
    response = post(
        web, "/chat/api/messages", token, {"client_msg_id": "m", "text": "toolong"}
    )
    assert response.status_code == 413
    assert response.json() == {
        "code": "too_long",
        "error": "the message is 7 characters; the limit is 5",
        "limit": 5,
    }


def test_flood_gets_429_with_retry_after(web, settings):
    settings.CHAT_RATE_PER_SESSION = 1
    token = start(web)
    post(web, "/chat/api/messages", token, {"client_msg_id": "1", "text": "a"})
    response = post(
        web, "/chat/api/messages", token, {"client_msg_id": "2", "text": "b"}
    )
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0


def test_too_many_new_sessions_from_one_address_get_429(web, settings):
    settings.CHAT_SESSIONS_PER_IP = 1
    start(web)
    response = web.post("/chat/api/sessions", {}, content_type="application/json")
    assert response.status_code == 429


@pytest.mark.parametrize("token", ["", "garbage", "a:b:c"])
def test_bad_token_is_refused(web, token):
    response = post(
        web, "/chat/api/messages", token, {"client_msg_id": "1", "text": "a"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "bad_token"


def test_malformed_body_is_a_400(web):
    token = start(web)
    response = web.post(
        "/chat/api/messages",
        b"{not json",
        content_type="application/json",
        HTTP_X_CHAT_TOKEN=token,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_escalate_over_http_reports_the_wait(web):
    token = start(web)
    response = post(web, "/chat/api/escalate", token, {})
    assert response.status_code == 200
    assert response.json()["wants_human"] is True
    assert response.json()["state"] == "no_agents"


def test_cors_allows_only_listed_pages(web, settings):
    settings.CHAT_ALLOWED_ORIGINS = ["https://shop.example"]
    allowed = web.options("/chat/api/messages", HTTP_ORIGIN="https://shop.example")
    other = web.options("/chat/api/messages", HTTP_ORIGIN="https://evil.example")
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "X-Chat-Token" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in other
