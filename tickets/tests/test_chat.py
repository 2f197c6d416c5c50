"""Chat sessions, sending, escalation and status, through the services."""

import pytest
from django.core.cache import cache

from conftest import committed
from tickets import services
from tickets.chat import selectors, tokens
from tickets.chat import services as chat
from tickets.models import AuthorKind, ChatClientMessage, Message, Ticket
from tickets.states import Action, Status


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def session(db):
    return chat.chat_session_start(email="", name="Vera")[0]


def send(session, text="My card never arrived", client_msg_id="c1", ip=None):
    with committed():
        return chat.chat_message_send(
            session_key=session.key, client_msg_id=client_msg_id, text=text, ip=ip
        )


def test_token_names_its_session_and_cannot_be_forged(session):
    token = tokens.token_for(session.key)
    assert tokens.session_key_from(token) == session.key
    payload, signature = token.split(":", 1)
    other = tokens.token_for("someone-else").split(":", 1)[0]
    with pytest.raises(tokens.BadToken):
        tokens.session_key_from(f"{other}:{signature}")
    with pytest.raises(chat.SessionNotFound):
        chat.chat_session_from_token(f"{payload}:{signature[:-2]}xx")


def test_first_message_opens_a_chat_ticket_for_the_session(session):
    sent = send(session)
    session.refresh_from_db()
    ticket = session.ticket
    assert sent.created
    assert ticket.channel == "chat"
    assert ticket.status == Status.AWAITING_AGENT  # triaged on commit
    assert sent.message.text == "My card never arrived"
    assert ticket.customer.identities.filter(kind="chat", value=session.key).exists()


def test_resend_with_the_same_client_id_is_stored_once(session):
    first = send(session, client_msg_id="abc")
    again = send(session, client_msg_id="abc")
    assert not again.created
    assert again.message.pk == first.message.pk
    assert Message.objects.filter(ticket=first.message.ticket).count() == 1
    assert ChatClientMessage.objects.filter(session=session).count() == 1


def test_message_after_the_ticket_closed_starts_a_new_ticket(session):
    first = send(session, client_msg_id="1").message.ticket
    Ticket.objects.filter(pk=first.pk).update(status=Status.CLOSED)
    second = send(session, text="Another thing", client_msg_id="2").message.ticket
    session.refresh_from_db()
    assert second.pk != first.pk
    assert session.ticket_id == second.pk


def test_too_long_message_is_refused_with_its_limit(session, settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 10
    with pytest.raises(chat.TooLong) as caught:
        send(session, text="x" * 11)
    assert caught.value.extra == {"limit": 10}
    assert not Message.objects.exists()


@pytest.mark.parametrize("text", ["", "   ", None, 42])
def test_empty_or_non_text_message_is_refused(session, text):
    with pytest.raises(chat.ChatError) as caught:
        send(session, text=text)
    assert caught.value.code == "empty"


def test_session_rate_limit_stops_a_flood_but_not_a_resend(session, settings):
    settings.CHAT_RATE_PER_SESSION = 2
    send(session, client_msg_id="1")
    send(session, client_msg_id="2")
    with pytest.raises(chat.RateLimited) as caught:
        send(session, client_msg_id="3")
    assert 0 < caught.value.extra["retry_after"] <= 60
    assert not send(session, client_msg_id="2").created  # resend still answered


def test_ip_rate_limit_counts_every_session_from_that_address(db, settings):
    settings.CHAT_RATE_PER_IP = 2
    a, _ = chat.chat_session_start()
    b, _ = chat.chat_session_start()
    send(a, client_msg_id="1", ip="203.0.113.9")
    send(b, client_msg_id="1", ip="203.0.113.9")
    with pytest.raises(chat.RateLimited):
        send(b, client_msg_id="2", ip="203.0.113.9")
    assert send(b, client_msg_id="2", ip="198.51.100.1").created


def test_escalate_queues_for_a_person_and_is_audited(session):
    ticket = send(session).message.ticket
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.AUTO_ANSWERED)
    with committed():
        ticket = chat.chat_escalate(session_key=session.key)
    assert ticket.status == Status.AWAITING_AGENT
    assert ticket.wants_human
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds[-2:] == ["status.escalate", "ticket.fields"]
    assert ticket.events.latest("id").actor_kind == AuthorKind.CUSTOMER


def test_escalate_before_any_message_opens_a_ticket_for_a_person(session):
    with committed():
        ticket = chat.chat_escalate(session_key=session.key)
    assert ticket.status == Status.AWAITING_AGENT
    assert ticket.wants_human
    assert ticket.messages.get().text == chat.ESCALATE_TEXT


def test_escalate_twice_or_while_held_only_keeps_the_flag(session, agent):
    ticket = send(session).message.ticket
    services.ticket_transition(
        ticket_id=ticket.pk, action=Action.CLAIM, changes={"assignee_id": agent.pk}
    )
    with committed():
        chat.chat_escalate(session_key=session.key)
        chat.chat_escalate(session_key=session.key)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.wants_human) == (Status.CLAIMED, True)
    escalations = ticket.events.filter(kind="ticket.fields", after__wants_human=True)
    assert escalations.count() == 1


def test_history_never_shows_internal_notes(session, agent):
    ticket = send(session).message.ticket
    with committed():
        services.message_add(
            ticket_id=ticket.pk, author_kind="agent", text="VIP", internal=True
        )
        services.message_add(ticket_id=ticket.pk, author_kind="agent", text="Hello!")
    session.refresh_from_db()
    texts = [m["text"] for m in selectors.chat_messages_after(session=session)]
    assert texts == ["My card never arrived", "Hello!"]
    first_id = Message.objects.filter(ticket=ticket).order_by("id").first().pk
    later = selectors.chat_messages_after(session=session, after=first_id)
    assert [m["text"] for m in later] == ["Hello!"]


def test_status_says_we_reply_by_email_when_nobody_is_online(session):
    send(session)
    session.refresh_from_db()
    assert selectors.chat_status(session=session)["state"] == "no_agents"
    session = chat.chat_contact_set(session_key=session.key, email="Vera@Example.com")
    status = selectors.chat_status(session=session)
    assert (status["state"], status["email"]) == ("reply_by_email", True)
    assert session.customer.__class__.objects.get(pk=session.customer_id).email == (
        "vera@example.com"
    )


def test_status_gives_queue_position_when_agents_are_online(
    session, customer, monkeypatch
):
    from conftest import make_ticket

    make_ticket(customer.customer)  # someone already waiting
    send(session)
    session.refresh_from_db()
    monkeypatch.setattr(selectors, "agents_online_count", lambda: 2)
    status = selectors.chat_status(session=session)
    assert status["state"] == "waiting"
    assert status["queue_position"] == 2
    assert status["agents_online"] == 2


def test_agents_online_count_is_zero_without_presence(agent):
    assert selectors.agents_online_count() == 0


def test_contact_refuses_a_bad_address(session):
    with pytest.raises(chat.ChatError) as caught:
        chat.chat_contact_set(session_key=session.key, email="not-an-address")
    assert caught.value.code == "invalid_email"
