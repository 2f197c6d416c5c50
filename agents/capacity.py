"""Capacity in SQL: the condition of every ownership change, and the picks.

Dispatch picks agents for a ticket (``candidates``); a pool claim picks the
next ticket for an agent (``next_waiting``).

"The agent may work and holds fewer tickets (held + offered) than their
capacity" is part of the conditional UPDATE itself, so it is never checked on
stale data. The queries here are written as SQL once, or compiled once, not
built with the ORM per call: compiling the equivalent ``Exists(Subquery(...))``
cost more CPU than the rest of a claim together.
"""

import json
from datetime import datetime
from functools import cache, partial

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from agents.models import AgentProfile, AgentStatus, OfferDecline
from supportdesk.prepared import PreparedRead, slot
from tickets.models import QUEUE_ORDER, Ticket
from tickets.states import HELD, Status

EVERY = 10_000  # "no limit" for the embedded desk's few agents


def table(model) -> str:
    """The model's table name, quoted for SQL written by hand."""
    return connection.ops.quote_name(model._meta.db_table)


def _literal(status: Status) -> str:
    assert status.value.isidentifier(), status  # a constant of ours, no quoting
    return f"'{status.value}'"


# Tickets agent ``{agent}`` holds or is offered, other than the one at stake.
# Two counts, each read by a plain index scan of a partial index
# (ticket_held, ticket_offered in tickets/models.py), which marks the entries
# of tickets since closed as dead on the way; one count over an OR would be a
# bitmap scan that visits every such ticket again until the next vacuum. The
# statuses are literals, not parameters: they must match the partial indexes
# when the plan is made, which a prepared statement's generic plan does
# without its values.
_LOAD = (
    "((SELECT COUNT(*) FROM {tickets} t WHERE t.assignee_id = {agent}.user_id"
    f" AND t.status IN ({_literal(HELD[0])}, {_literal(HELD[1])})"
    " AND t.id <> %s) + (SELECT COUNT(*) FROM {tickets} t"
    " WHERE t.offered_to_id = {agent}.user_id"
    f" AND t.status = {_literal(Status.OFFERED)} AND t.id <> %s))"
)
# The order of the agent_fairness index (migration 0003) once the status is
# fixed; the outer query names the same keys, so it does not sort again.
_FAIRNESS = (
    "ORDER BY {agent}.last_offer_at ASC NULLS FIRST, {agent}.rating DESC,"
    " {agent}.user_id"
)


@cache
def _room_sql(online: bool) -> str:
    presence = " AND p.status = %s AND p.connections > 0" if online else ""
    load = _LOAD.format(tickets=table(Ticket), agent="p")
    return (
        f"EXISTS (SELECT 1 FROM {table(AgentProfile)} p"
        f" JOIN {table(get_user_model())} u ON u.id = p.user_id"
        " WHERE p.user_id = %s AND p.approved = %s AND p.suspended = %s"
        f" AND u.is_active = %s{presence} AND p.capacity > {load})"
    )


def room(agent_id: int, ticket_id: int, *, online: bool) -> Q:
    """SQL: the agent may work and has a free slot for this ticket."""
    params: list = [agent_id, True, False, True]
    if online:
        params.append(AgentStatus.ACCEPTING.value)
    params += [ticket_id, ticket_id]
    return Q(RawSQL(_room_sql(online), params, output_field=BooleanField()))


@cache
def _candidates_sql(match_json: bool) -> str:
    load = _LOAD.format(tickets=table(Ticket), agent="c")
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
        f"SELECT c.*, {load} AS load FROM (SELECT p.* FROM {table(AgentProfile)} p"
        f" JOIN {table(get_user_model())} u ON u.id = p.user_id"
        " WHERE p.status = %s AND p.connections > 0 AND p.last_seen_at >= %s"
        " AND p.approved = %s AND p.suspended = %s AND u.is_active = %s"
        f" AND NOT EXISTS (SELECT 1 FROM {table(OfferDecline)} d"
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
    params: list = [ticket_id, ticket_id, AgentStatus.ACCEPTING.value, fresh]
    params += [True, False, True, ticket_id]
    if match_json:
        wanted = json.dumps([language] if language else [])
        params += [wanted, json.dumps([category] if category else [])]
    params += [ticket_id, ticket_id, limit if match_json else EVERY]
    return list(AgentProfile.objects.raw(_candidates_sql(match_json), params))


# The pool claim's two reads, compiled once (supportdesk/prepared.py), inside
# the first claim's transaction, as FOR UPDATE requires.
_LOCKED_PROFILE = PreparedRead(
    lambda: AgentProfile.objects.select_for_update().filter(user_id=0)
)
_NEXT_WAITING: dict[tuple[int, int], PreparedRead] = {}


def next_waiting(profile: AgentProfile) -> Ticket | None:
    """The first waiting ticket in queue order this agent may take, locked.

    Racing claimers each lock a different row (SKIP LOCKED) instead of all
    queueing behind the head of the queue; the UPDATE still decides. One
    compiled query per number of languages and categories.
    """
    languages, categories = profile.languages, profile.categories
    shape = (len(languages), len(categories))
    if shape not in _NEXT_WAITING:
        _NEXT_WAITING[shape] = PreparedRead(partial(_waiting_query, *shape))
    read = _NEXT_WAITING[shape]
    return read.first(*read.fill(_skill_values(profile)))


# What agent_fill reads when an agent has room again (connect, release,
# resolve, a decline): compiled once, as the pool claim's reads are.
_PROFILE = PreparedRead(lambda: AgentProfile.objects.filter(user_id=0))
_FILLABLE: dict[tuple[int, int, int], PreparedRead] = {}


def present_profile(agent_id: int, fresh: datetime) -> AgentProfile | None:
    """The agent's profile if they accept offers, are connected and were
    seen since ``fresh``; else None."""
    profile = _PROFILE.first(agent_id)
    if (
        profile is None
        or profile.status != AgentStatus.ACCEPTING
        or profile.connections <= 0
        or profile.last_seen_at is None
        or profile.last_seen_at < fresh
    ):
        return None
    return profile


def fillable(profile: AgentProfile, limit: int) -> list[Ticket]:
    """Up to ``limit`` waiting tickets in queue order this agent may be
    offered (skills match, not declined by them); id and category only."""
    shape = (len(profile.languages), len(profile.categories), limit)
    if shape not in _FILLABLE:
        _FILLABLE[shape] = PreparedRead(partial(_fillable_query, *shape))
    values = {**_skill_values(profile), "agent": profile.user_id}
    read = _FILLABLE[shape]
    return read.all(*read.fill(values))


def _fillable_query(languages: int, categories: int, limit: int):
    rule = _skill_slots(languages, categories)
    # RawSQL keeps its parameter as given, so the agent can be a slot.
    not_declined = RawSQL(
        f"NOT EXISTS (SELECT 1 FROM {table(OfferDecline)} d WHERE d.ticket_id ="
        f" {table(Ticket)}.id AND d.user_id = %s)",
        [slot("agent")],
        output_field=BooleanField(),
    )
    waiting = Ticket.objects.filter(rule, Q(not_declined), status=Status.AWAITING_AGENT)
    return waiting.only("pk", "category").order_by(*QUEUE_ORDER)[:limit]


def skills(languages: list, categories: list) -> Q:
    """Tickets in one of the agent's languages (or none) and, when the agent
    has categories, in one of them (or none)."""
    rule = Q(language__in=[*languages, ""])
    if categories:
        rule &= Q(category__in=[*categories, ""])
    return rule


def _skill_values(profile: AgentProfile) -> dict[str, str]:
    """What fills ``_skill_slots``: the agent's languages and categories."""
    values = {f"language{i}": v for i, v in enumerate(profile.languages)}
    values.update({f"category{i}": v for i, v in enumerate(profile.categories)})
    return values


def _skill_slots(languages: int, categories: int) -> Q:
    """``skills`` for this many languages and categories, as slots to fill."""
    return skills(
        [slot(f"language{i}") for i in range(languages)],
        [slot(f"category{i}") for i in range(categories)],
    )


def _waiting_query(languages: int, categories: int):
    rule = _skill_slots(languages, categories)
    waiting = Ticket.objects.filter(rule, status=Status.AWAITING_AGENT)
    if connection.features.has_select_for_update_skip_locked:
        waiting = waiting.select_for_update(skip_locked=True, of=("self",))
    return waiting.order_by(*QUEUE_ORDER)[:1]


def lock_profile(agent_id: int) -> AgentProfile | None:
    """Lock the agent's row, as every ownership change does; it has the skills."""
    return _LOCKED_PROFILE.first(agent_id)
