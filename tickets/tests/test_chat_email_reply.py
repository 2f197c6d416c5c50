"""A chat customer who left an address and is not on the chat gets replies by
email: the widget promised "we'll reply by email"."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.cache import cache
from django.utils import timezone

from conftest import committed
from tickets import services
from tickets.chat import services as chat
from tickets.chat import tokens
from tickets.models import AuthorKind, ChatSession, EmailOutbox
from tickets.tests.test_chat_consumer import connect


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def open_chat(email: str = "") -> ChatSession:
    session, _ = chat.chat_session_start(name="Vera")
    with committed():
        chat.chat_message_send(
            session_key=session.key, client_msg_id="c1", text="Card never arrived"
        )
    if email:
        chat.chat_contact_set(session_key=session.key, email=email)
    return ChatSession.objects.get(pk=session.pk)


def agent_reply(session: ChatSession, text: str = "It is on its way"):
    with committed():
        return services.message_add(
            ticket_id=session.ticket_id, author_kind=AuthorKind.AGENT, text=text
        )


def emailed(session: ChatSession) -> list[tuple[str, str]]:
    rows = EmailOutbox.objects.filter(ticket_id=session.ticket_id, kind="reply")
    return list(rows.values_list("to_address", "text"))


@pytest.mark.django_db
def test_reply_is_emailed_when_the_customer_left_an_address_and_is_gone():
    session = open_chat(email="vera@example.com")
    agent_reply(session)
    assert emailed(session) == [("vera@example.com", "It is on its way")]


@pytest.mark.django_db
def test_reply_is_not_emailed_while_the_customer_is_on_the_chat():
    session = open_chat(email="vera@example.com")
    chat.chat_presence_set(session_key=session.key, listening=True)
    agent_reply(session)
    assert emailed(session) == []


@pytest.mark.django_db
def test_a_socket_silent_past_the_presence_window_counts_as_gone(settings):
    session = open_chat(email="vera@example.com")
    silent_since = timezone.now() - timedelta(seconds=settings.CHAT_PRESENCE_SECONDS)
    ChatSession.objects.filter(pk=session.pk).update(
        seen_at=silent_since - timedelta(seconds=1)
    )
    agent_reply(session)
    assert [to for to, _ in emailed(session)] == ["vera@example.com"]


@pytest.mark.django_db
def test_no_address_no_email_and_internal_notes_never_leave():
    session = open_chat()
    agent_reply(session)
    addressed = open_chat(email="vera@example.com")
    with committed():
        services.message_add(
            ticket_id=addressed.ticket_id,
            author_kind=AuthorKind.AGENT,
            text="note to self",
            internal=True,
        )
    assert (emailed(session), emailed(addressed)) == ([], [])


@pytest.mark.django_db(transaction=True)
def test_socket_marks_the_customer_present_until_it_closes():
    session = open_chat(email="vera@example.com")
    seen = sync_to_async(lambda: ChatSession.objects.get(pk=session.pk).seen_at)

    async def scenario():
        socket = await connect(tokens.token_for(session.key))
        while_open = await seen()
        await socket.send_json_to({"type": "ping"})
        assert (await socket.receive_json_from())["type"] == "pong"
        await socket.disconnect()
        return while_open, await seen()

    while_open, after_close = async_to_sync(scenario)()
    assert while_open is not None and after_close is None
