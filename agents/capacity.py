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


# Tickets agent ``p`` holds or is offered, other than the one at stake.
_LOAD = (
    "(SELECT COUNT(*) FROM {tickets} t WHERE t.id <> %s AND ("
    "(t.assignee_id = p.user_id AND t.status IN (%s, %s))"
    " OR (t.offered_to_id = p.user_id AND t.status = %s)))"
)


def _load_params(ticket_id: int) -> list:
    return [ticket_id, *(s.value for s in HELD), Status.OFFERED.value]


@cache
def _room_sql(online: bool) -> str:
    presence = " AND p.status = %s AND p.connections > 0" if online else ""
    load = _LOAD.format(tickets=_table(Ticket))
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
    load = _LOAD.format(tickets=_table(Ticket))
    skills = (
        " AND p.languages @> %s::jsonb"
        " AND (p.categories = '[]'::jsonb OR p.categories @> %s::jsonb)"
        if match_json
        else ""
    )
    return (
        f"SELECT p.*, {load} AS load FROM {_table(AgentProfile)} p"
        f" JOIN {_table(get_user_model())} u ON u.id = p.user_id"
        " WHERE p.status = %s AND p.connections > 0 AND p.last_seen_at >= %s"
        " AND p.approved = %s AND p.suspended = %s AND u.is_active = %s"
        f" AND NOT EXISTS (SELECT 1 FROM {_table(OfferDecline)} d"
        " WHERE d.ticket_id = %s AND d.user_id = p.user_id)"
        f"{skills} AND p.capacity > {load}"
        # The order of the agent_fairness index (see agents.models.FAIRNESS).
        " ORDER BY p.status, p.last_offer_at ASC NULLS FIRST, p.rating DESC,"
        " p.user_id LIMIT %s"
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
