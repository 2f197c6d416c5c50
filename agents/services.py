"""Agent writes: the per-agent event log, presence, and reactions to tickets.

Ownership changes (offer, accept, claim, ...) live in ``agents.dispatch``;
this module records what an agent must see and keeps presence up to date.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache, lru_cache, partial
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from agents import events, notify, scoring, selectors
from agents.capacity import table
from agents.models import (
    AgentEvent,
    AgentEventLog,
    AgentProfile,
    AgentStatus,
    Earning,
)
from supportdesk import realtime
from supportdesk.bulk_insert import insert_rows
from tickets.models import Message, Ticket, TicketEvent
from tickets.states import HELD, Status

logger = logging.getLogger(__name__)


class AgentUnavailable(Exception):
    """The agent may not do this now (offline, suspended, not an agent)."""


class Connected(NamedTuple):
    """What ``agent_connect`` tells the console's ``hello``."""

    status: str
    capacity: int
    head: int  # the agent's event log before connecting


# --- the event log ---------------------------------------------------------


def send_to_group(group: str, event: dict[str, Any]) -> None:
    """An unlogged snapshot (queue counts) to every console in ``group``."""
    notify.group_send(group, {"type": "pool.event", "event": event})


def agent_events_record(*, user_ids: Iterable[int], event: dict[str, Any]) -> None:
    """Log ``event`` for each agent, then notify their consoles after commit."""
    realtime.send_on_commit(_record({user_id: [event] for user_id in user_ids}))


def _record(batches: dict[int, list[dict[str, Any]]]) -> list[realtime.Notice]:
    """Log each agent's events; the notices for their consoles, for the
    caller to send after commit.

    Each agent's head is bumped by the number of its events: the row stays
    locked until commit, so two writers for the same agent commit their
    numbers in order and never leave a hole that a later, already delivered
    number would hide. The events travel in the notice, so a console that
    is up to date sends them on without reading the log. A logged event's
    number is its ``seq`` column (the log's reader puts it in the event). No
    savepoint: nothing here is caught and retried by a caller, so a failure
    rolls back the caller's transaction with it.
    """
    order = sorted(batches)  # every writer locks logs in the same order
    if not order:
        return []
    params: list = []
    for user_id in order:
        params += [user_id, len(batches[user_id])]
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            heads = _log_in_one_statement(order, batches, params)
        else:  # no data-modifying WITH: the heads, then the events
            with connection.cursor() as cursor:
                cursor.execute(_heads_sql(len(order)), params)
                heads = dict(cursor.fetchall())
            insert_rows(
                [
                    AgentEvent(
                        user_id=user_id, seq=seq, type=event["type"], payload=event
                    )
                    for user_id in order
                    for seq, event in _numbered(heads[user_id], batches[user_id])
                ]
            )
    notices = []
    for user_id in order:
        numbered = [
            {**event, "seq": seq}
            for seq, event in _numbered(heads[user_id], batches[user_id])
        ]
        message = {"type": "agent.event", "events": numbered}
        notices.append((events.agent_group(user_id), message))
    return notices


def _numbered(head: int, batch: list[dict]) -> Iterable[tuple[int, dict]]:
    """Each event with its number: a batch ends at the log's new head."""
    return enumerate(batch, start=head - len(batch) + 1)


def _log_in_one_statement(
    order: list[int], batches: dict[int, list[dict]], params: list
) -> dict[int, int]:
    """PostgreSQL: bump every head and insert every event in one statement,
    one round trip; the new head of each agent's log."""
    count = sum(len(batches[user_id]) for user_id in order)
    payload = AgentEvent._meta.get_field("payload")
    created = AgentEvent._meta.get_field("created_at")
    params = [*params, created.get_db_prep_save(timezone.now(), connection)]
    for user_id in order:
        for back, event in enumerate(reversed(batches[user_id])):
            value = payload.get_db_prep_save(event, connection)
            params += [user_id, back, event["type"], value]
    with connection.cursor() as cursor:
        cursor.execute(_log_sql(len(order), count), params)
        return dict(cursor.fetchall())


@lru_cache(maxsize=64)
def _heads_sql(agents: int) -> str:
    """Add each agent's count to their head (a first event makes the row);
    returns (agent, new head) rows."""
    heads = ", ".join(["(%s, %s)"] * agents)
    return (
        f"INSERT INTO {table(AgentEventLog)} AS l (user_id, head) VALUES {heads}"
        " ON CONFLICT (user_id) DO UPDATE SET head = l.head + EXCLUDED.head"
        " RETURNING user_id, head"
    )


@lru_cache(maxsize=64)
def _log_sql(agents: int, count: int) -> str:
    """The heads' upsert and the insert of ``count`` events: the ``back``-th
    event from the end of an agent's batch gets the new head minus ``back``."""
    rows = ", ".join(["(%s::bigint, %s::bigint, %s::varchar, %s::jsonb)"] * count)
    return (
        f"WITH h AS ({_heads_sql(agents)}),"
        f" e AS (INSERT INTO {table(AgentEvent)} (user_id, seq, type, payload,"
        " created_at) SELECT v.user_id, h.head - v.back, v.type, v.payload,"
        f" %s::timestamptz FROM (VALUES {rows}) AS v (user_id, back, type, payload)"
        " JOIN h ON h.user_id = v.user_id)"
        " SELECT user_id, head FROM h"
    )


# --- reactions to ticket changes (called by tickets.services) --------------


def _owners(values: dict[str, Any]) -> set[int]:
    return {values.get("assignee_id"), values.get("offered_to_id")} - {None}


def ticket_changed(
    *, ticket: Ticket, audit: TicketEvent, event: dict
) -> list[realtime.Notice]:
    """Log the change for every agent involved, before and after, and react
    to it; the notices for their consoles, to send after commit."""
    from agents import dispatch

    before, after = audit.before, audit.after
    involved = _owners(before) | _owners(
        {"assignee_id": ticket.assignee_id, "offered_to_id": ticket.offered_to_id}
    )
    batches: dict[int, list[dict]] = {user_id: [event] for user_id in involved}
    lost_offer = before.get("offered_to_id")
    if lost_offer and lost_offer != after.get("offered_to_id", lost_offer):
        if audit.kind != "status.accept":
            reason = events.WITHDRAW_REASONS.get(audit.kind, "withdrawn")
            withdrawn = events.offer_withdrawn(ticket.pk, reason)
            batches.setdefault(lost_offer, []).append(withdrawn)
    if ticket.status == Status.OFFERED and ticket.offered_to_id:
        if after.get("offered_to_id") == ticket.offered_to_id:
            offer = events.offer_created(
                ticket, ticket.offer_expires_at, timezone.now()
            )
            batches.setdefault(ticket.offered_to_id, []).append(offer)
    notices = _record(batches) if batches else []
    if ticket.status == Status.AWAITING_AGENT:
        need = scoring.Need(ticket.language, ticket.category)
        transaction.on_commit(partial(dispatch.dispatch_quietly, ticket.pk, need))
    freed = _freed_agent(ticket, before, lost_offer, audit.kind)
    if freed:
        transaction.on_commit(partial(dispatch.fill_quietly, freed))
    if audit.kind == "status.resolve" and ticket.assignee_id:
        _earn(ticket)
    return notices


def _freed_agent(
    ticket: Ticket, before: dict, lost_offer: int | None, kind: str
) -> int | None:
    """The agent who has room again after this change, to offer them more."""
    previous = before.get("assignee_id")
    if previous and previous != ticket.assignee_id:
        return previous
    if ticket.assignee_id and ticket.status not in HELD:
        return ticket.assignee_id
    if lost_offer and kind == "status.decline":
        return lost_offer
    return None


def message_created(*, message: Message, event: dict) -> list[realtime.Notice]:
    """A message on a ticket an agent holds or is offered reaches that agent:
    logged now; the notices are the caller's to send after commit."""
    ticket = message.ticket
    involved = {ticket.assignee_id, ticket.offered_to_id} - {None}
    return _record({user_id: [event] for user_id in involved}) if involved else []


def _earn(ticket: Ticket) -> None:
    rate = (
        AgentProfile.objects.filter(user_id=ticket.assignee_id)
        .values_list("pay_rate_cents", flat=True)
        .first()
    )
    if rate is not None:
        Earning.objects.get_or_create(
            user_id=ticket.assignee_id,
            ticket_id=ticket.pk,
            reason="resolved",
            defaults={"amount_cents": rate},
        )


# --- presence ---------------------------------------------------------------


def _set_status(user_id: int, status: str, reason: str, **fields: Any) -> bool:
    """Change the agent's status (logged); False when it already was."""
    changed = (
        AgentProfile.objects.filter(user_id=user_id)
        .exclude(status=status)
        .update(status=status, **fields)
    )
    if fields and not changed:
        AgentProfile.objects.filter(user_id=user_id).update(**fields)
    if changed:
        agent_events_record(
            user_ids=[user_id], event=events.agent_status(status, reason)
        )
    return bool(changed)


# Raw SQL, built once: compiling these through the ORM cost more CPU than
# running them, and a reconnect storm runs them once per socket.
@cache
def _connect_sql() -> str:
    profiles = table(AgentProfile)
    return (
        f"UPDATE {profiles} SET connections = connections + 1, last_seen_at = %s,"
        " disconnected_at = NULL WHERE user_id = %s AND approved = %s"
        f" AND suspended = %s AND user_id IN (SELECT id FROM"
        f" {table(get_user_model())} WHERE is_active = %s)"
        f" RETURNING status, capacity, COALESCE((SELECT head FROM"
        f" {table(AgentEventLog)} l WHERE l.user_id = {profiles}.user_id), 0)"
    )


@cache
def _disconnect_sql() -> str:
    return (
        f"UPDATE {table(AgentProfile)} SET"
        " connections = CASE WHEN connections > 0 THEN connections - 1 ELSE 0 END,"
        " disconnected_at = CASE WHEN connections <= 1 THEN %s"
        " ELSE disconnected_at END WHERE user_id = %s"
    )


@transaction.atomic
def agent_connect(*, user_id: int) -> Connected:
    """A console connected: the agent is online and keeps what it holds.

    One UPDATE checks that the agent may work, counts the socket, locks the
    profile and reads ``head``, the log's head before connecting.
    """
    from agents import dispatch

    now = timezone.now()
    params = [now, user_id, True, False, True]
    with connection.cursor() as cursor:
        cursor.execute(_connect_sql(), params)
        row = cursor.fetchone()
    if row is None:
        raise AgentUnavailable("this account may not take tickets")
    connected = Connected(*row)
    if connected.status == AgentStatus.OFFLINE:
        connected = connected._replace(status=AgentStatus.ACCEPTING)
        _set_status(user_id, connected.status, "connected")
        # Back within the grace period: the leases on held tickets (set
        # only when the agent went offline) are cancelled.
        Ticket.objects.filter(
            assignee_id=user_id, status__in=HELD, lease_expires_at__isnull=False
        ).update(lease_expires_at=None)
    if connected.status == AgentStatus.ACCEPTING:
        transaction.on_commit(partial(dispatch.fill_quietly, user_id))
    return connected


def agent_disconnect(*, user_id: int) -> None:
    """A console closed; the sweeper decides when the agent counts as gone."""
    with connection.cursor() as cursor:
        cursor.execute(_disconnect_sql(), [timezone.now(), user_id])


def agent_heartbeat(*, user_id: int, record: bool = True) -> int:
    """Record that the agent is alive; returns the head of its event log.

    ``record=False`` only reads the head (the console was seen a moment ago).
    """
    if record:
        now = timezone.now()
        AgentProfile.objects.filter(user_id=user_id).update(last_seen_at=now)
    return selectors.agent_head(user_id=user_id)


@transaction.atomic
def agent_set_accepting(*, user_id: int, accepting: bool) -> str:
    """Accept offers again (also re-arms a not-responding agent) or pause."""
    from agents import dispatch

    profile = AgentProfile.objects.select_for_update().get(user_id=user_id)
    if profile.connections == 0 or profile.status == AgentStatus.OFFLINE:
        raise AgentUnavailable("go online first")
    status = AgentStatus.ACCEPTING if accepting else AgentStatus.NOT_ACCEPTING
    _set_status(user_id, status, "agent")
    if accepting:
        transaction.on_commit(partial(dispatch.fill_quietly, user_id))
    return status


@transaction.atomic
def agent_mark_not_responding(*, user_id: int) -> None:
    _set_status(user_id, AgentStatus.NOT_RESPONDING, "offer expired")


def _gone(now: datetime) -> Q:
    silent = now - timedelta(seconds=settings.AGENT_PRESENCE_TIMEOUT)
    closed = now - timedelta(seconds=settings.AGENT_DISCONNECT_GRACE)
    return (
        Q(last_seen_at__lt=silent)
        | Q(last_seen_at__isnull=True)
        | Q(connections=0, disconnected_at__lte=closed)
    )


def agents_gone(*, now: datetime) -> list[int]:
    """Agents marked online whose socket or heartbeat is gone."""
    rows = AgentProfile.objects.exclude(status=AgentStatus.OFFLINE).filter(_gone(now))
    return list(rows.values_list("user_id", flat=True)[:200])


@transaction.atomic
def agent_go_offline(*, user_id: int, now: datetime) -> bool:
    """Mark a vanished agent offline and start the lease grace period."""
    profile = (
        AgentProfile.objects.select_for_update()
        .filter(user_id=user_id)
        .exclude(status=AgentStatus.OFFLINE)
        .filter(_gone(now))
        .first()
    )
    if profile is None:
        return False
    grace = now + timedelta(seconds=profile.lease_grace_seconds)
    Ticket.objects.filter(
        assignee_id=user_id, status__in=HELD, lease_expires_at__isnull=True
    ).update(lease_expires_at=grace)
    _set_status(user_id, AgentStatus.OFFLINE, "connection lost", connections=0)
    return True
