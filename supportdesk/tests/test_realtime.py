import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from conftest import make_ticket
from supportdesk.asgi import application
from supportdesk.realtime import desk_notices, send_on_commit
from tickets import services
from tickets.events import ticket_group
from tickets.models import AuthorKind


def _connect(user, ticket_id):
    """A communicator logged in as ``user`` (call outside the event loop)."""
    client = Client()
    client.force_login(user)
    return WebsocketCommunicator(
        application,
        f"/ws/tickets/{ticket_id}/",
        headers=[
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
            (b"origin", b"http://127.0.0.1"),
            (b"host", b"127.0.0.1"),
        ],
    )


@pytest.mark.django_db(transaction=True)
def test_committed_message_reaches_a_watching_supervisor(supervisor, customer):
    ticket = make_ticket(customer.customer)

    socket = _connect(supervisor, ticket.pk)

    async def scenario():
        connected, _ = await socket.connect()
        assert connected
        from channels.db import database_sync_to_async

        await database_sync_to_async(services.message_add)(
            ticket_id=ticket.pk, author_kind=AuthorKind.CUSTOMER, text="hello"
        )
        event = await socket.receive_json_from(timeout=3)
        await socket.disconnect()
        return event

    event = async_to_sync(scenario)()
    assert event["type"] == "message.created"
    assert event["message"]["text"] == "hello"
    assert event["seq"] > 0


@pytest.mark.django_db(transaction=True)
def test_batched_publications_arrive_in_order(supervisor, customer):
    ticket = make_ticket(customer.customer)
    group = ticket_group(ticket.pk)

    def write_batch():
        with transaction.atomic():
            send_on_commit(
                desk_notices([group], {"n": 1}) + desk_notices([group], {"n": 2})
            )

    socket = _connect(supervisor, ticket.pk)

    async def scenario():
        connected, _ = await socket.connect()
        assert connected
        from channels.db import database_sync_to_async

        await database_sync_to_async(write_batch)()
        got = [await socket.receive_json_from(timeout=3) for _ in range(2)]
        await socket.disconnect()
        return got

    assert async_to_sync(scenario)() == [{"n": 1}, {"n": 2}]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_write_is_never_published(supervisor, customer):
    ticket = make_ticket(customer.customer)

    def write_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            services.message_add(
                ticket_id=ticket.pk, author_kind=AuthorKind.CUSTOMER, text="ghost"
            )
            raise RuntimeError

    socket = _connect(supervisor, ticket.pk)

    async def scenario():
        connected, _ = await socket.connect()
        assert connected
        from channels.db import database_sync_to_async

        await database_sync_to_async(write_then_fail)()
        nothing = await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()
        return nothing

    assert async_to_sync(scenario)() is True


@pytest.mark.django_db(transaction=True)
def test_websocket_refuses_strangers(other_customer, customer):
    ticket = make_ticket(customer.customer)

    socket = _connect(other_customer, ticket.pk)

    async def scenario():
        connected, code = await socket.connect()
        return connected, code

    connected, code = async_to_sync(scenario)()
    assert not connected
    assert code == 4404
