"""The customer chat websocket, end to end through the ASGI application."""

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache

from supportdesk.asgi import application
from tickets import services
from tickets.chat import services as chat
from tickets.consumers import TicketWatchConsumer
from tickets.models import ChatSession, Message
from tickets.states import Action

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def token(db) -> str:
    return chat.chat_session_start(name="Vera")[1]


def run(coroutine_function):
    return async_to_sync(coroutine_function)()


async def connect(token: str, origin=ORIGIN) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, f"/ws/chat/{token}/", [origin])
    connected, _ = await socket.connect()
    assert connected
    hello = await socket.receive_json_from()
    assert hello["type"] == "chat.hello"
    return socket


async def receive_until(socket, kind: str, timeout: float = 2) -> dict:
    """The next frame of ``kind``, skipping status and other noise."""
    while True:
        frame = await socket.receive_json_from(timeout=timeout)
        if frame["type"] == kind:
            return frame


in_thread = sync_to_async


def test_bad_token_is_refused(db):
    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/chat/forged:abc/", [ORIGIN])
        connected, code = await socket.connect()
        assert not connected
        assert code == 4403

    run(scenario)


def test_page_from_an_unlisted_origin_is_refused(token):
    async def scenario():
        socket = WebsocketCommunicator(
            application, f"/ws/chat/{token}/", [(b"origin", b"https://evil.example")]
        )
        connected, _ = await socket.connect()
        assert not connected

    run(scenario)


def test_listed_origin_may_embed_the_chat(token, settings):
    settings.CHAT_ALLOWED_ORIGINS = ["https://shop.example"]

    async def scenario():
        socket = await connect(token, (b"origin", b"https://shop.example"))
        await socket.disconnect()

    run(scenario)


def test_message_is_acked_and_reaches_the_other_tab_and_agent_replies_both(
    token, agent
):
    async def scenario():
        tab1 = await connect(token)
        tab2 = await connect(token)
        await tab1.send_json_to(
            {"type": "message.send", "client_msg_id": "c1", "text": "Where is my card?"}
        )
        ack = await receive_until(tab1, "message.ack")
        assert ack["client_msg_id"] == "c1"
        assert ack["duplicate"] is False
        opened = await receive_until(tab2, "chat.ticket")
        await tab2.send_json_to({"type": "sync", "after": 0})
        history = await receive_until(tab2, "chat.history")
        assert [m["text"] for m in history["messages"]] == ["Where is my card?"]

        ticket_id = opened["ticket_id"]
        await in_thread(services.message_add)(
            ticket_id=ticket_id, author_kind="agent", text="Checking", internal=True
        )
        await in_thread(services.message_add)(
            ticket_id=ticket_id, author_kind="agent", text="It ships today"
        )
        for tab in (tab1, tab2):
            event = await receive_until(tab, "chat.message")
            # The internal note never arrives; the reply does.
            assert event["message"]["text"] == "It ships today"
            assert event["message"]["author_kind"] == "agent"
            assert "internal" not in event["message"]
        await tab1.disconnect()
        await tab2.disconnect()

    run(scenario)


def test_resend_after_a_drop_is_stored_once(token):
    async def scenario():
        frame = {"type": "message.send", "client_msg_id": "same", "text": "Hello"}
        first = await connect(token)
        await first.send_json_to(frame)
        await receive_until(first, "message.ack")
        await first.disconnect()
        second = await connect(token)
        await second.send_json_to(frame)
        ack = await receive_until(second, "message.ack")
        assert ack["duplicate"] is True
        await second.disconnect()

    run(scenario)
    assert Message.objects.count() == 1


def test_reconnect_resyncs_only_what_was_missed(token):
    async def scenario():
        socket = await connect(token)
        for n in range(3):
            await socket.send_json_to(
                {"type": "message.send", "client_msg_id": str(n), "text": f"m{n}"}
            )
            ack = await receive_until(socket, "message.ack")
        await socket.disconnect()
        last_seen = ack["message"]["id"] - 1  # the client missed the last one
        again = await connect(token)
        await again.send_json_to({"type": "sync", "after": last_seen})
        history = await receive_until(again, "chat.history")
        assert [m["text"] for m in history["messages"]] == ["m2"]
        status = await receive_until(again, "chat.status")
        assert status["ticket_id"] is not None
        await again.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_frame"),
        (json.dumps([1, 2]), "unknown_type"),
        (json.dumps({"type": "launch"}), "unknown_type"),
        (json.dumps({"type": "sync", "after": "x"}), "bad_frame"),
        (json.dumps({"type": "message.send", "text": "hi"}), "bad_client_msg_id"),
        (json.dumps({"type": "message.send", "client_msg_id": "1"}), "empty"),
        ("x" * 70_000, "bad_frame"),
    ],
)
def test_malformed_frames_get_an_error_frame_and_the_socket_stays(token, frame, code):
    async def scenario():
        socket = await connect(token)
        await socket.send_to(text_data=frame)
        error = await receive_until(socket, "error")
        assert error["code"] == code
        await socket.send_json_to({"type": "ping"})
        assert (await receive_until(socket, "pong"))["type"] == "pong"
        await socket.disconnect()

    run(scenario)


def test_binary_frame_gets_an_error_frame(token):
    async def scenario():
        socket = await connect(token)
        await socket.send_to(bytes_data=b"\x00\x01")
        assert (await receive_until(socket, "error"))["code"] == "bad_frame"
        await socket.disconnect()

    run(scenario)


def test_too_long_message_gets_an_error_frame_with_the_limit(token, settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 3

    async def scenario():
        socket = await connect(token)
        await socket.send_json_to(
            {"type": "message.send", "client_msg_id": "x", "text": "four"}
        )
        error = await receive_until(socket, "error")
        assert (error["code"], error["limit"], error["ref"]) == ("too_long", 3, "x")
        await socket.disconnect()

    run(scenario)


def test_escalate_frame_answers_with_the_honest_status(token):
    async def scenario():
        socket = await connect(token)
        await socket.send_json_to({"type": "escalate"})
        status = await receive_until(socket, "chat.status")
        assert status["wants_human"] is True
        assert status["state"] == "no_agents"
        await socket.send_json_to({"type": "contact", "email": "v@example.com"})
        status = await receive_until(socket, "chat.status")
        assert status["state"] == "reply_by_email"
        await socket.disconnect()

    run(scenario)


def test_typing_goes_customer_to_agent_and_agent_to_customer(token, supervisor):
    session = ChatSession.objects.get()
    with_ticket = chat.chat_message_send(
        session_key=session.key, client_msg_id="1", text="hi"
    )
    ticket_id = with_ticket.message.ticket_id

    async def scenario():
        customer = await connect(token)
        staff = WebsocketCommunicator(
            TicketWatchConsumer.as_asgi(), f"/ws/tickets/{ticket_id}/"
        )
        staff.scope["user"] = supervisor
        staff.scope["url_route"] = {"kwargs": {"ticket_id": ticket_id}}
        assert (await staff.connect())[0]
        await customer.send_json_to({"type": "typing", "typing": True})
        seen = await receive_until(staff, "chat.typing")
        assert (seen["who"], seen["typing"]) == ("customer", True)
        await staff.send_json_to({"type": "typing", "typing": True})
        seen = await receive_until(customer, "chat.typing")
        assert seen["who"] == "agent"
        await staff.disconnect()
        await customer.disconnect()

    run(scenario)


def test_status_follows_the_ticket_when_an_agent_claims_it(token, agent):
    session = ChatSession.objects.get()
    ticket_id = chat.chat_message_send(
        session_key=session.key, client_msg_id="1", text="hi"
    ).message.ticket_id

    async def scenario():
        socket = await connect(token)
        await socket.send_json_to({"type": "status"})
        await receive_until(socket, "chat.status")
        await in_thread(services.ticket_transition)(
            ticket_id=ticket_id, action=Action.CLAIM, changes={"assignee_id": agent.pk}
        )
        status = await receive_until(socket, "chat.status")
        assert status["state"] == "with_agent"
        await socket.disconnect()

    run(scenario)
