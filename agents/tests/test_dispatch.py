from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents import capacity, dispatch, events, selectors, services
from agents.models import AgentEvent, AgentProfile, AgentStatus, Earning, OfferDecline
from conftest import AgentFactory, UserFactory, committed, make_ticket
from tickets import events as ticket_events
from tickets import services as ticket_services
from tickets.models import Ticket
from tickets.states import Action, IllegalTransition, Status, TicketConflict


def online(user, **profile):
    if profile:
        AgentProfile.objects.filter(user=user).update(**profile)
    with committed():
        services.agent_connect(user_id=user.pk)
    return user


def event_types(user) -> list[str]:
    return list(
        AgentEvent.objects.filter(user=user)
        .order_by("seq")
        .values_list("type", flat=True)
    )


def fresh(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def test_ticket_entering_the_queue_is_offered_to_the_online_agent(
    agent, customer, settings
):
    # The first triage of a test run loads its model: stay "present" meanwhile.
    settings.AGENT_PRESENCE_TIMEOUT = 3600
    online(agent)
    ticket = make_ticket(customer.customer)
    ticket = fresh(ticket)
    assert ticket.status == Status.OFFERED
    assert ticket.offered_to == agent
    assert ticket.offer_expires_at > timezone.now() + timedelta(seconds=15)
    assert "offer.created" in event_types(agent)


def test_nobody_online_leaves_the_ticket_in_the_pool(agent, ticket):
    assert fresh(ticket).status == Status.AWAITING_AGENT
    assert fresh(ticket).offered_to is None


def test_offer_goes_to_the_agent_idle_longest(agent, other_agent, customer):
    online(agent, last_offer_at=timezone.now())
    online(other_agent, last_offer_at=timezone.now() - timedelta(minutes=5))
    ticket = make_ticket(customer.customer)
    assert fresh(ticket).offered_to == other_agent


def test_agent_without_the_language_gets_no_offer(agent, customer):
    online(agent, languages=["de"])
    ticket = make_ticket(customer.customer)
    Ticket.objects.filter(pk=ticket.pk).update(language="en")
    with committed():
        dispatch.ticket_dispatch(ticket_id=ticket.pk)
    assert fresh(ticket).status in {Status.AWAITING_AGENT, Status.OFFERED}
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Status.AWAITING_AGENT, offered_to=None
    )
    assert dispatch.ticket_dispatch(ticket_id=ticket.pk) is None


def test_paused_agent_gets_no_offer(agent, customer):
    online(agent)
    with committed():
        services.agent_set_accepting(user_id=agent.pk, accepting=False)
    ticket = make_ticket(customer.customer)
    assert fresh(ticket).status == Status.AWAITING_AGENT


def test_decline_moves_the_offer_to_the_next_agent_and_never_back(
    agent, other_agent, customer
):
    online(agent)
    ticket = make_ticket(customer.customer)
    online(other_agent)
    with committed():
        dispatch.offer_decline(ticket_id=ticket.pk, agent_id=agent.pk)
    assert fresh(ticket).offered_to == other_agent
    with committed():
        dispatch.offer_decline(ticket_id=ticket.pk, agent_id=other_agent.pk)
    ticket = fresh(ticket)
    assert ticket.status == Status.AWAITING_AGENT  # everyone declined: pool
    assert ticket.offered_to is None
    withdrawn = AgentEvent.objects.filter(user=agent, type="offer.withdrawn").get()
    assert withdrawn.payload["reason"] == "declined"


def test_accept_makes_the_agent_the_assignee(agent, customer):
    online(agent)
    ticket = make_ticket(customer.customer)
    with committed():
        dispatch.offer_accept(ticket_id=ticket.pk, agent_id=agent.pk)
    ticket = fresh(ticket)
    assert (ticket.status, ticket.assignee, ticket.offered_to) == (
        Status.CLAIMED,
        agent,
        None,
    )


def test_accept_of_someone_elses_offer_is_refused(agent, other_agent, customer):
    online(agent)
    ticket = make_ticket(customer.customer)
    with pytest.raises(TicketConflict, match="no longer yours"):
        dispatch.offer_accept(ticket_id=ticket.pk, agent_id=other_agent.pk)
    assert fresh(ticket).offered_to == agent


def test_expired_offer_moves_on_and_the_agent_stops_getting_offers(
    agent, other_agent, customer
):
    online(agent)
    ticket = make_ticket(customer.customer)
    online(other_agent)
    later = timezone.now() + timedelta(seconds=21)
    with committed():
        assert dispatch.offer_expire(ticket_id=ticket.pk, now=later)
    assert fresh(ticket).offered_to == other_agent
    assert AgentProfile.objects.get(user=agent).status == AgentStatus.NOT_RESPONDING
    with pytest.raises(TicketConflict):
        dispatch.offer_accept(ticket_id=ticket.pk, agent_id=agent.pk)


def test_offer_is_not_expired_before_its_countdown(agent, customer):
    online(agent)
    ticket = make_ticket(customer.customer)
    assert not dispatch.offer_expire(ticket_id=ticket.pk, now=timezone.now())
    assert fresh(ticket).offered_to == agent


def test_rearming_a_not_responding_agent_offers_waiting_work(agent, customer):
    online(agent)
    ticket = make_ticket(customer.customer)
    with committed():
        dispatch.offer_expire(
            ticket_id=ticket.pk, now=timezone.now() + timedelta(seconds=30)
        )
    second = make_ticket(customer.customer, subject="Another")
    assert fresh(second).status == Status.AWAITING_AGENT
    with committed():
        services.agent_set_accepting(user_id=agent.pk, accepting=True)
    assert fresh(second).offered_to == agent  # the lapsed one is not re-offered


def test_an_agent_coming_online_is_offered_the_most_urgent_ticket_they_may_take(
    agent, customer
):
    normal, foreign, declined, urgent = (make_ticket(customer.customer) for _ in "1234")
    Ticket.objects.update(language="en")
    Ticket.objects.filter(pk__in=[foreign.pk, declined.pk, urgent.pk]).update(
        priority=3
    )
    Ticket.objects.filter(pk=foreign.pk).update(language="de")
    OfferDecline.objects.create(ticket=declined, user=agent, outcome="declined")
    Ticket.objects.filter(pk=urgent.pk).update(created_at=timezone.now())  # newest
    online(agent)  # connecting offers what waits
    assert fresh(urgent).offered_to == agent
    for ticket in (normal, foreign, declined):
        assert fresh(ticket).status == Status.AWAITING_AGENT


def test_a_paused_agent_is_offered_nothing_when_a_ticket_frees_up(agent, customer):
    online(agent)
    services.agent_set_accepting(user_id=agent.pk, accepting=False)
    ticket = make_ticket(customer.customer)
    assert dispatch.agent_fill(agent_id=agent.pk) is None
    assert fresh(ticket).status == Status.AWAITING_AGENT


def test_claim_rejects_second_agent(agent, other_agent, ticket):
    dispatch.ticket_claim(agent_id=agent.pk, ticket_id=ticket.pk)
    with pytest.raises(IllegalTransition, match="claimed"):
        dispatch.ticket_claim(agent_id=other_agent.pk, ticket_id=ticket.pk)
    assert fresh(ticket).assignee == agent


def test_a_claim_tells_everyone_in_one_send(agent, ticket, monkeypatch):
    from supportdesk import realtime

    sends = []
    monkeypatch.setattr(realtime, "_send_many", sends.append)
    with committed():
        dispatch.ticket_claim(agent_id=agent.pk, ticket_id=ticket.pk)
    assert len(sends) == 1
    groups = {group for group, _ in sends[0]}
    assert groups == {
        events.agent_group(agent.pk),
        ticket_events.ticket_group(ticket.pk),
        ticket_events.SUPERVISORS_GROUP,
    }
    logged = next(m for g, m in sends[0] if g == events.agent_group(agent.pk))
    assert logged["events"][0]["seq"] == selectors.agent_head(user_id=agent.pk)


def test_claim_is_refused_at_capacity(agent, customer):
    AgentProfile.objects.filter(user=agent).update(capacity=1)
    first = make_ticket(customer.customer)
    second = make_ticket(customer.customer)
    dispatch.ticket_claim(agent_id=agent.pk, ticket_id=first.pk)
    with pytest.raises(TicketConflict, match="capacity"):
        dispatch.ticket_claim(agent_id=agent.pk, ticket_id=second.pk)
    assert fresh(second).assignee is None


def test_capacity_is_checked_in_the_claiming_update_itself(agent, ticket):
    with CaptureQueriesContext(connection) as queries:
        dispatch.ticket_claim(agent_id=agent.pk, ticket_id=ticket.pk)
    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    claim = next(sql for sql in updates if '"tickets_ticket"' in sql)
    assert "capacity >" in claim and "COUNT(" in claim and '"version" =' in claim


def test_claim_next_takes_the_most_urgent_ticket_first(agent, customer):
    normal = make_ticket(customer.customer, subject="normal")
    urgent = make_ticket(customer.customer, subject="urgent")
    Ticket.objects.filter(pk=urgent.pk).update(priority=3)
    claimed = dispatch.ticket_claim(agent_id=agent.pk)
    assert claimed.pk == urgent.pk
    assert dispatch.ticket_claim(agent_id=agent.pk).pk == normal.pk
    assert dispatch.ticket_claim(agent_id=agent.pk) is None


def test_claim_next_takes_the_soonest_due_then_the_oldest(agent, customer):
    now = timezone.now()
    undated, later, sooner = (make_ticket(customer.customer) for _ in range(3))
    AgentProfile.objects.filter(user=agent).update(capacity=3)
    Ticket.objects.update(priority=1, language="en", first_response_due=None)
    Ticket.objects.filter(pk=later.pk).update(first_response_due=now + timedelta(2))
    Ticket.objects.filter(pk=sooner.pk).update(first_response_due=now + timedelta(1))
    order = [dispatch.ticket_claim(agent_id=agent.pk).pk for _ in range(3)]
    assert order == [sooner.pk, later.pk, undated.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL plan")
def test_claim_next_reads_the_queue_in_index_order_without_sorting(agent, customer):
    make_ticket(customer.customer)
    with CaptureQueriesContext(connection) as ctx:
        dispatch.ticket_claim(agent_id=agent.pk)
    pick = next(q["sql"] for q in ctx.captured_queries if "SKIP LOCKED" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + pick)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ticket_waiting" in plan and "Sort" not in plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL plan")
def test_capacity_check_reads_only_the_agents_own_tickets(agent, customer):
    # A generic plan (a prepared statement's), made from statistics taken
    # when nothing was claimed, must still count through the partial indexes
    # rather than read every claimed ticket of the desk, by plain index scans
    # (which mark the entries of tickets since closed as dead).
    ticket = make_ticket(customer.customer)
    sql = capacity._room_sql(False)
    for number in range(1, sql.count("%s") + 1):
        sql = sql.replace("%s", f"${number}", 1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_seqscan = off")  # a desk, not one row
        cursor.execute(f"PREPARE room_check AS SELECT {sql}")
        values = f"{int(agent.pk)}, true, false, true, {ticket.pk:d}, {ticket.pk:d}"
        cursor.execute(f"EXPLAIN EXECUTE room_check({values})")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE room_check")
    assert "ticket_held" in plan and "ticket_offered" in plan, plan
    assert "ticket_queue" not in plan and "Bitmap" not in plan, plan


def test_claim_of_a_ticket_offered_to_someone_else_is_refused(
    agent, other_agent, customer
):
    online(agent)
    ticket = make_ticket(customer.customer)
    with pytest.raises(TicketConflict, match="another agent"):
        dispatch.ticket_claim(agent_id=other_agent.pk, ticket_id=ticket.pk)


def test_release_returns_the_ticket_and_offers_it_to_someone_else(
    agent, other_agent, ticket
):
    dispatch.ticket_claim(agent_id=agent.pk, ticket_id=ticket.pk)
    online(agent)
    online(other_agent)
    with committed():
        dispatch.ticket_release(ticket_id=ticket.pk, agent_id=agent.pk)
    ticket = fresh(ticket)
    assert ticket.assignee is None
    assert ticket.offered_to == other_agent


def test_release_by_a_non_holder_is_refused(agent, other_agent, ticket):
    dispatch.ticket_claim(agent_id=agent.pk, ticket_id=ticket.pk)
    with pytest.raises(TicketConflict, match="do not hold"):
        dispatch.ticket_release(ticket_id=ticket.pk, agent_id=other_agent.pk)


def test_supervisor_reassigns_and_the_old_holder_is_told(
    agent, other_agent, supervisor, ticket
):
    dispatch.ticket_claim(agent_id=agent.pk, ticket_id=ticket.pk)
    with committed():
        dispatch.ticket_reassign(
            ticket_id=ticket.pk, agent_id=other_agent.pk, supervisor_id=supervisor.pk
        )
    assert fresh(ticket).assignee == other_agent
    last = AgentEvent.objects.filter(user=agent).latest("seq")
    assert last.payload["ticket"]["assignee_id"] == other_agent.pk


def test_vanished_agent_goes_offline_and_loses_tickets_after_grace(
    agent, other_agent, ticket
):
    online(agent)
    dispatch.ticket_claim(agent_id=agent.pk, ticket_id=ticket.pk)
    services.agent_disconnect(user_id=agent.pk)
    later = timezone.now() + timedelta(seconds=5)
    with committed():
        assert services.agent_go_offline(user_id=agent.pk, now=later)
    assert AgentProfile.objects.get(user=agent).status == AgentStatus.OFFLINE
    assert not dispatch.ticket_reclaim(ticket_id=ticket.pk, now=later)
    online(other_agent)
    with committed():
        assert dispatch.ticket_reclaim(
            ticket_id=ticket.pk, now=later + timedelta(seconds=61)
        )
    assert fresh(ticket).offered_to == other_agent


def test_agent_back_within_grace_keeps_the_ticket(agent, ticket):
    online(agent)
    dispatch.ticket_claim(agent_id=agent.pk, ticket_id=ticket.pk)
    services.agent_disconnect(user_id=agent.pk)
    later = timezone.now() + timedelta(seconds=5)
    services.agent_go_offline(user_id=agent.pk, now=later)
    online(agent)
    assert not dispatch.ticket_reclaim(
        ticket_id=ticket.pk, now=later + timedelta(seconds=120)
    )
    assert fresh(ticket).assignee == agent


def test_open_second_tab_keeps_the_agent_online(agent):
    online(agent)
    online(agent)
    services.agent_disconnect(user_id=agent.pk)
    later = timezone.now() + timedelta(seconds=5)
    assert not services.agent_go_offline(user_id=agent.pk, now=later)


def test_offline_agent_offers_go_to_the_next_agent(agent, other_agent, customer):
    online(agent)
    ticket = make_ticket(customer.customer)
    online(other_agent)
    services.agent_disconnect(user_id=agent.pk)
    later = timezone.now() + timedelta(seconds=5)
    with committed():
        services.agent_go_offline(user_id=agent.pk, now=later)
        assert dispatch.offers_withdraw(agent_id=agent.pk, now=later) == 1
    assert fresh(ticket).offered_to == other_agent


def test_resolving_credits_the_agent_once(agent, ticket):
    dispatch.ticket_claim(agent_id=agent.pk, ticket_id=ticket.pk)
    ticket_services.ticket_transition(ticket_id=ticket.pk, action=Action.RESOLVE)
    earning = Earning.objects.get(user=agent, ticket=ticket)
    assert earning.amount_cents == 150


def test_customer_message_on_a_held_ticket_reaches_the_agent(agent, ticket):
    dispatch.ticket_claim(agent_id=agent.pk, ticket_id=ticket.pk)
    ticket_services.message_add(
        ticket_id=ticket.pk, author_kind="customer", text="any news?"
    )
    assert event_types(agent)[-1] == "message.created"


def test_event_log_numbers_are_contiguous_and_resync_returns_the_rest(agent, customer):
    online(agent)
    make_ticket(customer.customer)
    head = selectors.agent_head(user_id=agent.pk)
    seqs = [e["seq"] for e in selectors.agent_events_after(user_id=agent.pk, after=0)]
    assert seqs == list(range(1, head + 1))
    rest = selectors.agent_events_after(user_id=agent.pk, after=head - 1)
    assert [e["seq"] for e in rest] == [head]


def test_several_agents_events_are_numbered_on_in_each_log(agent, other_agent):
    services.agent_events_record(user_ids=[agent.pk], event={"type": "first"})
    with CaptureQueriesContext(connection) as ctx:
        notices = services._record(
            {
                agent.pk: [{"type": "a1"}, {"type": "a2"}],
                other_agent.pk: [{"type": "b1"}],  # this agent's first event
            }
        )
    logged = {
        user: [
            (e["seq"], e["type"])
            for e in selectors.agent_events_after(user_id=user.pk, after=0)
        ]
        for user in (agent, other_agent)
    }
    assert logged[agent] == [(1, "first"), (2, "a1"), (3, "a2")]
    assert logged[other_agent] == [(1, "b1")]
    sent = {group: [e["seq"] for e in m["events"]] for group, m in notices}
    assert sent == {
        events.agent_group(agent.pk): [2, 3],
        events.agent_group(other_agent.pk): [1],
    }
    if connection.vendor == "postgresql":  # heads and events: one round trip
        assert len(ctx.captured_queries) == 1


def test_suspended_agent_cannot_claim(customer, ticket):
    user = AgentFactory(user=UserFactory(username="sam"), suspended=True).user
    with pytest.raises(TicketConflict):
        dispatch.ticket_claim(agent_id=user.pk, ticket_id=ticket.pk)
