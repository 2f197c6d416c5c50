"""Capacity in SQL: the condition of every ownership change, and dispatch's pick.

"The agent may work and holds fewer tickets (held + offered) than their
capacity" is part of the conditional UPDATE itself, so it is never checked on
stale data. Both queries here are written as SQL once, not built with the ORM
per call: compiling the equivalent ``Exists(Subquery(...))`` cost more CPU
than the rest of a claim together.
"""

import json
from datetime import datetime
from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from agents.models import AgentProfile, AgentStatus, OfferDecline
from tickets.models import Ticket
from tickets.states import Status

HELD = (Status.CLAIMED, Status.WAITING_ON_CUSTOMER)
EVERY = 10_000  # "no limit" for the embedded desk's few agents


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# Tickets agent ``{agent}`` holds or is offered, other than the one at stake.
_LOAD = (
    "(SELECT COUNT(*) FROM {tickets} t WHERE t.id <> %s AND ("
    "(t.assignee_id = {agent}.user_id AND t.status IN (%s, %s))"
    " OR (t.offered_to_id = {agent}.user_id AND t.status = %s)))"
)
# The order of the agent_fairness index (migration 0003) once the status is
# fixed; the outer query names the same keys, so it does not sort again.
_FAIRNESS = (
    "ORDER BY {agent}.last_offer_at ASC NULLS FIRST, {agent}.rating DESC,"
    " {agent}.user_id"
)


def _load_params(ticket_id: int) -> list:
    return [ticket_id, *(s.value for s in HELD), Status.OFFERED.value]


@cache
def _room_sql(online: bool) -> str:
    presence = " AND p.status = %s AND p.connections > 0" if online else ""
    load = _LOAD.format(tickets=_table(Ticket), agent="p")
    return (
        f"EXISTS (SELECT 1 FROM {_table(AgentProfile)} p"
        f" JOIN {_table(get_user_model())} u ON u.id = p.user_id"
        " WHERE p.user_id = %s AND p.approved = %s AND p.suspended = %s"
        f" AND u.is_active = %s{presence} AND p.capacity > {load})"
    )


def room(agent_id: int, ticket_id: int, *, online: bool) -> Q:
    """SQL: the agent may work and has a free slot for this ticket."""
    params: list = [agent_id, True, False, True]
    if online:
        params.append(AgentStatus.ACCEPTING.value)
    params += _load_params(ticket_id)
    return Q(RawSQL(_room_sql(online), params, output_field=BooleanField()))


@cache
def _candidates_sql(match_json: bool) -> str:
    load = _LOAD.format(tickets=_table(Ticket), agent="c")
    skills = (
        " AND p.languages @> %s::jsonb"
        " AND (p.categories = '[]'::jsonb OR p.categories @> %s::jsonb)"
        if match_json
        else ""
    )
    # The inner query (cheap conditions, in fairness order; its LIMIT keeps
    # it from being merged into the outer one) hands agents over in order,
    # so the load is counted only until ``limit`` agents with room are
    # found, not for every agent online.
    return (
        f"SELECT c.*, {load} AS load FROM (SELECT p.* FROM {_table(AgentProfile)} p"
        f" JOIN {_table(get_user_model())} u ON u.id = p.user_id"
        " WHERE p.status = %s AND p.connections > 0 AND p.last_seen_at >= %s"
        " AND p.approved = %s AND p.suspended = %s AND u.is_active = %s"
        f" AND NOT EXISTS (SELECT 1 FROM {_table(OfferDecline)} d"
        " WHERE d.ticket_id = %s AND d.user_id = p.user_id)"
        f"{skills} {_FAIRNESS.format(agent='p')} LIMIT {EVERY}) c"
        f" WHERE c.capacity > {load} {_FAIRNESS.format(agent='c')} LIMIT %s"
    )


def candidates(
    *, ticket_id: int, language: str, category: str, fresh: datetime, limit: int
) -> list[AgentProfile]:
    """Agents who may take this ticket now, in fairness order, with ``load``.

    PostgreSQL matches language and category on the JSON lists and stops
    after ``limit`` rows; elsewhere (SQLite, a small embedded desk) every
    present agent with room is returned and ``agents.scoring`` matches them.
    """
    match_json = connection.features.supports_json_field_contains
    params: list = [*_load_params(ticket_id), AgentStatus.ACCEPTING.value, fresh]
    params += [True, False, True, ticket_id]
    if match_json:
        wanted = json.dumps([language] if language else [])
        params += [wanted, json.dumps([category] if category else [])]
    params += [*_load_params(ticket_id), limit if match_json else EVERY]
    return list(AgentProfile.objects.raw(_candidates_sql(match_json), params))
