"""Reads for the agent console: the event log, its tickets, the pool."""

import time
from typing import Any

from django.db.models import Count, Q

from agents.models import AgentEvent, AgentEventLog, AgentProfile
from supportdesk.prepared import PreparedRead
from tickets.models import Ticket
from tickets.states import Status

HELD = (Status.CLAIMED, Status.WAITING_ON_CUSTOMER)
_counts_cache: list = [0.0, {}]  # [monotonic time taken, counts], per process

# Read on every heartbeat of every console: compiled once.
_LOG = PreparedRead(lambda: AgentEventLog.objects.filter(user_id=0))


def agent_head(*, user_id: int) -> int:
    log = _LOG.first(user_id)
    return log.head if log else 0


def agent_events_after(*, user_id: int, after: int, limit: int = 500) -> list[dict]:
    """Logged events with ``seq > after``, oldest first, as sent on the wire."""
    rows = AgentEvent.objects.filter(user_id=user_id, seq__gt=after).order_by("seq")
    return [{**row.payload, "seq": row.seq} for row in rows[:limit]]


def agent_state(*, user_id: int, profile: AgentProfile | None = None) -> dict[str, Any]:
    """Status, capacity and the tickets held and offered, for ``hello``."""
    profile = profile or AgentProfile.objects.get(user_id=user_id)
    mine = Ticket.objects.filter(
        Q(assignee_id=user_id, status__in=HELD) | Q(offered_to_id=user_id)
    )
    held, offered = [], []
    for pk, status in mine.order_by("pk").values_list("pk", "status"):
        if status in HELD:
            held.append(pk)
        elif status == Status.OFFERED:
            offered.append(pk)
    return {
        "status": profile.status,
        "capacity": profile.capacity,
        "held": held,
        "offered": offered,
    }


def pool_counts(*, max_age: float = 0.0) -> dict[str, Any]:
    """The pool summary every agent may see: counts, no customer data.

    ``max_age`` lets a burst of connecting consoles share one snapshot (the
    sweeper sends fresh counts every second anyway).
    """
    taken, counts = _counts_cache
    if max_age and time.monotonic() - taken < max_age:
        return counts
    counts = _pool_counts()
    _counts_cache[:] = [time.monotonic(), counts]
    return counts


def _pool_counts() -> dict[str, Any]:
    rows = (
        Ticket.objects.filter(status__in=[Status.AWAITING_AGENT, Status.OFFERED])
        .values("status", "priority")
        .annotate(n=Count("id"))
        .order_by()
    )
    waiting = sum(r["n"] for r in rows if r["status"] == Status.AWAITING_AGENT)
    offered = sum(r["n"] for r in rows if r["status"] == Status.OFFERED)
    urgent = sum(
        r["n"]
        for r in rows
        if r["status"] == Status.AWAITING_AGENT and r["priority"] == 3
    )
    online = AgentProfile.objects.exclude(status="offline").count()
    return {"waiting": waiting, "offered": offered, "urgent": urgent, "online": online}


def agent_holds(*, user_id: int, ticket_id: int) -> bool:
    return Ticket.objects.filter(
        pk=ticket_id,
        assignee_id=user_id,
        status__in=[Status.CLAIMED, Status.WAITING_ON_CUSTOMER],
    ).exists()
