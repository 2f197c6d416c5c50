"""Reads for the agent console: the event log, its tickets, the pool."""

import threading
import time
from typing import Any

from django.db.models import Count, Q

from agents.models import AgentEvent, AgentEventLog, AgentProfile
from supportdesk.prepared import PreparedRead
from tickets.models import Ticket
from tickets.states import HELD, Status

_counts_cache: list = [0.0, {}]  # [monotonic time taken, counts], per process
_refreshing = threading.Lock()

# Read on every heartbeat of every console: compiled once.
_LOG = PreparedRead(lambda: AgentEventLog.objects.filter(user_id=0))


def agent_head(*, user_id: int) -> int:
    log = _LOG.first(user_id)
    return log.head if log else 0


# A reconnecting console reads these two: compiled once, one per page size.
_EVENTS_AFTER: dict[int, PreparedRead] = {}
# Parameters: the agent, the held statuses, the agent again.
_MINE = PreparedRead(
    lambda: (
        Ticket.objects.filter(Q(assignee_id=0, status__in=HELD) | Q(offered_to_id=0))
        .only("pk", "status")
        .order_by("pk")
    )
)


def agent_events_after(*, user_id: int, after: int, limit: int = 500) -> list[dict]:
    """Logged events with ``seq > after``, oldest first, as sent on the wire."""
    if limit not in _EVENTS_AFTER:
        _EVENTS_AFTER[limit] = PreparedRead(
            lambda: (
                AgentEvent.objects.filter(user_id=0)
                .filter(seq__gt=0)
                .only("seq", "payload")
                .order_by("seq")[:limit]
            )
        )
    rows = _EVENTS_AFTER[limit].all(user_id, after)
    return [{**row.payload, "seq": row.seq} for row in rows]


def agent_state(*, user_id: int, status: str, capacity: int) -> dict[str, Any]:
    """Status, capacity and the tickets held and offered, for ``hello``."""
    held, offered = [], []
    for ticket in _MINE.all(user_id, *HELD, user_id):
        if ticket.status in HELD:
            held.append(ticket.pk)
        elif ticket.status == Status.OFFERED:
            offered.append(ticket.pk)
    return {"status": status, "capacity": capacity, "held": held, "offered": offered}


def pool_counts(*, max_age: float = 0.0) -> dict[str, Any]:
    """The pool summary every agent may see: counts, no customer data.

    ``max_age`` lets a burst of connecting consoles share one snapshot (the
    sweeper sends fresh counts every second anyway): when it is older, one
    thread of the process reads new counts while the others send the
    snapshot they have, instead of every console of a reconnect storm
    counting the pool at once.
    """
    taken, counts = _counts_cache
    if max_age and taken:
        if time.monotonic() - taken < max_age or not _refreshing.acquire(False):
            return counts
        try:
            return _refresh()
        finally:
            _refreshing.release()
    return _refresh()


def _refresh() -> dict[str, Any]:
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
        status__in=HELD,
    ).exists()
