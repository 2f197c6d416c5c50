import threading
import time
from datetime import timedelta

from django.utils import timezone

from agents import dispatch, selectors, services, sweeper
from agents.models import AgentProfile, AgentStatus
from agents.tests.test_dispatch import fresh, online
from conftest import committed, make_ticket
from tickets.models import Ticket
from tickets.states import Status


def test_sweep_expires_due_offers_and_offers_the_next_agent(
    agent, other_agent, customer
):
    online(agent)
    ticket = make_ticket(customer.customer)
    online(other_agent)
    later = timezone.now() + timedelta(seconds=20, milliseconds=100)
    AgentProfile.objects.update(last_seen_at=later)  # both kept heartbeating
    with committed():
        done = sweeper.sweep_once(now=later)
    assert done["expired"] == 1
    assert fresh(ticket).offered_to == other_agent
    with committed():
        assert sweeper.sweep_once()["expired"] == 0  # nothing else is due


def test_sweep_marks_silent_agents_offline_and_reclaims_after_grace(
    agent, other_agent, ticket
):
    online(agent)
    dispatch.ticket_claim(agent_id=agent.pk, ticket_id=ticket.pk)
    silent = timezone.now() + timedelta(seconds=11)  # no heartbeat for 11 s
    with committed():
        assert sweeper.sweep_once(now=silent)["offline"] == 1
    assert AgentProfile.objects.get(user=agent).status == AgentStatus.OFFLINE
    assert fresh(ticket).lease_expires_at is not None
    with committed():
        done = sweeper.sweep_once(now=silent + timedelta(seconds=61))
    assert done["reclaimed"] == 1
    assert fresh(ticket).status == Status.AWAITING_AGENT


def test_heartbeat_keeps_an_agent_online(agent):
    online(agent)
    services.agent_heartbeat(user_id=agent.pk)
    soon = timezone.now() + timedelta(seconds=5)
    assert sweeper.sweep_once(now=soon)["offline"] == 0


def test_stuck_waiting_ticket_is_dispatched_by_the_safety_net(agent, ticket):
    online(agent)
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Status.AWAITING_AGENT, offered_to=None
    )
    with committed():
        done = sweeper.sweep_once(now=timezone.now() + timedelta(seconds=3), stuck=True)
    assert done["dispatched"] == 1
    assert fresh(ticket).offered_to == agent


def test_loop_stops_by_itself_after_its_ticks(db):
    stop = threading.Event()
    sweeper.run(interval=0.01, stop=stop, ticks=3)
    assert not stop.is_set()


def test_a_burst_of_consoles_counts_the_pool_once(db, django_assert_num_queries):
    selectors._counts_cache[:] = [time.monotonic() - 60, {"waiting": 7}]
    with selectors._refreshing:  # another console is counting right now
        with django_assert_num_queries(0):
            assert selectors.pool_counts(max_age=1.0) == {"waiting": 7}
    with django_assert_num_queries(2):
        fresh = selectors.pool_counts(max_age=1.0)
    assert fresh["waiting"] == 0
    with django_assert_num_queries(0):
        assert selectors.pool_counts(max_age=1.0) is fresh
