from contextlib import asynccontextmanager
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async as db
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from agents import dispatch, services
from agents.consumers import AgentConsumer
from agents.events import agent_group
from agents.models import AgentEvent
from conftest import make_ticket
from tickets.models import Ticket
from tickets.states import Status

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 3


@asynccontextmanager
async def console(user, query: str = ""):
    comm = WebsocketCommunicator(AgentConsumer.as_asgi(), f"/ws/agent/{query}")
    comm.scope["user"] = user
    connected, code = await comm.connect(timeout=TIMEOUT)
    assert connected, code
    try:
        yield comm
    finally:
        await comm.disconnect()


async def greet(comm) -> tuple[dict, int]:
    """Read ``hello`` and the "connected" status event; the last seq seen."""
    hello = await comm.receive_json_from(timeout=TIMEOUT)
    status = await comm.receive_json_from(timeout=TIMEOUT)
    assert (status["type"], status["status"]) == ("agent.status", "accepting")
    return hello, status["seq"]


async def frames_until(comm, kind: str, limit: int = 20) -> list[dict]:
    seen = []
    for _ in range(limit):
        frame = await comm.receive_json_from(timeout=TIMEOUT)
        seen.append(frame)
        if frame["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} in {seen}")


def test_a_customer_cannot_open_the_agent_socket(customer):
    async def scenario():
        comm = WebsocketCommunicator(AgentConsumer.as_asgi(), "/ws/agent/")
        comm.scope["user"] = customer
        connected, code = await comm.connect(timeout=TIMEOUT)
        return connected, code

    assert async_to_sync(scenario)() == (False, 4403)


def test_agent_gets_hello_then_the_offer_live(agent, customer):
    async def scenario():
        async with console(agent) as comm:
            hello = await comm.receive_json_from(timeout=TIMEOUT)
            await db(make_ticket)(customer.customer)
            frames = await frames_until(comm, "offer.created")
            return hello, frames

    hello, frames = async_to_sync(scenario)()
    assert hello["type"] == "hello" and hello["agent"]["status"] == "accepting"
    seqs = [f["seq"] for f in frames]
    assert seqs == list(range(hello["head"] + 1, hello["head"] + 1 + len(seqs)))
    assert frames[-1]["countdown_ms"] > 15_000


def test_accept_over_the_socket_claims_the_ticket(agent, customer):
    async def scenario():
        async with console(agent) as comm:
            await comm.receive_json_from(timeout=TIMEOUT)
            await db(make_ticket)(customer.customer)
            offer = (await frames_until(comm, "offer.created"))[-1]
            await comm.send_json_to(
                {"type": "accept", "id": 7, "ticket_id": offer["ticket"]["id"]}
            )
            return offer, await frames_until(comm, "reply")

    offer, frames = async_to_sync(scenario)()
    assert frames[-1]["re"] == 7 and frames[-1]["ticket"]["status"] == "claimed"
    assert Ticket.objects.get(pk=offer["ticket"]["id"]).assignee == agent


def test_reconnect_with_last_seq_gets_exactly_what_was_missed(agent, customer):
    tickets = [make_ticket(customer.customer) for _ in range(3)]

    async def scenario():
        async with console(agent) as comm:
            hello = await comm.receive_json_from(timeout=TIMEOUT)
            frames = await frames_until(comm, "offer.created")  # first ticket
            seen = frames[-1]["seq"]
            assert seen > hello["head"]
        for ticket in tickets[1:]:
            await db(dispatch.ticket_claim)(agent_id=agent.pk, ticket_id=ticket.pk)
        async with console(agent, f"?last_seq={seen}") as comm:
            await comm.receive_json_from(timeout=TIMEOUT)  # hello
            await comm.send_json_to({"type": "heartbeat", "id": 9})
            frames = await frames_until(comm, "reply", limit=40)
        return seen, frames

    seen, frames = async_to_sync(scenario)()
    missed = [f["seq"] for f in frames if f["type"] != "reply"]
    logged = list(
        AgentEvent.objects.filter(user=agent, seq__gt=seen)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert missed == logged == list(range(seen + 1, seen + 1 + len(logged)))
    assert len(logged) >= 2  # at least the two claims


def test_a_console_that_saw_everything_reads_no_log_on_reconnect(agent):
    async def scenario():
        async with console(agent) as comm:
            _, seen = await greet(comm)
        with mock.patch("agents.selectors.agent_events_after") as read:
            async with console(agent, f"?last_seq={seen}") as comm:
                hello = await comm.receive_json_from(timeout=TIMEOUT)
        return seen, hello, read.called

    seen, hello, read = async_to_sync(scenario)()
    assert hello["head"] == seen and not read


def test_missed_notification_is_repaired_from_the_log(agent):
    async def scenario():
        async with console(agent) as comm:
            _, seen = await greet(comm)
            with mock.patch("supportdesk.realtime.send_on_commit"):
                await db(services.agent_events_record)(
                    user_ids=[agent.pk], event={"type": "test.event"}
                )
            await comm.send_json_to({"type": "heartbeat", "id": 1})
            return seen, await frames_until(comm, "reply")

    seen, frames = async_to_sync(scenario)()
    assert [f["type"] for f in frames] == ["test.event", "reply"]
    assert frames[0]["seq"] == seen + 1


def test_repeated_notification_is_sent_once(agent):
    async def scenario():
        async with console(agent) as comm:
            _, seen = await greet(comm)
            await db(services.agent_events_record)(
                user_ids=[agent.pk], event={"type": "test.event"}
            )
            first = await comm.receive_json_from(timeout=TIMEOUT)
            again = {"type": "agent.event", "events": [first]}
            await get_channel_layer().group_send(agent_group(agent.pk), again)
            await comm.send_json_to({"type": "heartbeat", "id": 2})
            return seen, first, await frames_until(comm, "reply")

    seen, first, after = async_to_sync(scenario)()
    assert first["seq"] == seen + 1
    assert [f["type"] for f in after] == ["reply"]


def test_bad_frames_get_error_frames_and_the_socket_survives(agent):
    async def scenario():
        async with console(agent) as comm:
            await greet(comm)
            await comm.send_to(text_data="not json")
            await comm.send_to(text_data="[1, 2]")
            await comm.send_json_to({"type": "teleport"})
            await comm.send_json_to({"type": "accept", "ticket_id": "x"})
            await comm.send_json_to({"type": "accept", "ticket_id": 999999})
            codes = [
                (await comm.receive_json_from(timeout=TIMEOUT))["code"]
                for _ in range(5)
            ]
            await comm.send_json_to({"type": "heartbeat", "id": 3})
            return codes, await comm.receive_json_from(timeout=TIMEOUT)

    codes, reply = async_to_sync(scenario)()
    assert codes == [
        "bad_json",
        "bad_frame",
        "unknown_type",
        "bad_request",
        "not_found",
    ]
    assert reply["type"] == "reply" and reply["ok"]


def test_a_flood_of_frames_is_rate_limited(agent, settings):
    settings.AGENT_WS_BURST = 5
    settings.AGENT_WS_RATE = 1.0

    async def scenario():
        async with console(agent) as comm:
            await greet(comm)
            for _ in range(10):
                await comm.send_json_to({"type": "teleport"})
            return [
                (await comm.receive_json_from(timeout=TIMEOUT))["code"]
                for _ in range(6)
            ]

    codes = async_to_sync(scenario)()
    assert codes == ["unknown_type"] * 5 + ["rate_limited"]


def test_claim_lost_to_another_agent_is_an_error(agent, other_agent, ticket):
    dispatch.ticket_claim(agent_id=other_agent.pk, ticket_id=ticket.pk)

    async def scenario():
        async with console(agent) as comm:
            await comm.receive_json_from(timeout=TIMEOUT)
            await comm.send_json_to({"type": "claim", "id": 4, "ticket_id": ticket.pk})
            return await frames_until(comm, "error")

    error = async_to_sync(scenario)()[-1]
    assert (error["re"], error["code"]) == (4, "illegal_transition")
    assert Ticket.objects.get(pk=ticket.pk).status == Status.CLAIMED


def test_supervisor_watches_but_does_not_take_tickets(supervisor, ticket):
    async def scenario():
        async with console(supervisor) as comm:
            hello = await comm.receive_json_from(timeout=TIMEOUT)
            await comm.send_json_to({"type": "claim", "ticket_id": ticket.pk})
            return hello, await comm.receive_json_from(timeout=TIMEOUT)

    hello, error = async_to_sync(scenario)()
    assert hello["role"] == "supervisor" and hello["queue"]["waiting"] >= 1
    assert error["code"] == "forbidden"
