"""The pool's timers: offer expiry, presence, lease reclaim, stuck tickets.

A dedicated loop rather than Celery beat: beat only enqueues a task, which
then waits behind whatever the workers are doing (triage can take seconds),
so a 0.5 s period would not bound how late an expired offer moves on. The
loop ticks every ``AGENT_SWEEP_INTERVAL`` seconds on its own connection.
Every step is a conditional UPDATE, so two sweepers (a rolling deploy) only
repeat each other's reads, never each other's writes.
"""

import logging
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from agents import dispatch, events, selectors, services
from tickets.models import Ticket
from tickets.states import HELD, Status

logger = logging.getLogger(__name__)
BATCH = 200
STUCK_AFTER = timedelta(seconds=2)


def sweep_once(*, now: datetime | None = None, stuck: bool = False) -> dict:
    """One pass; returns how many of each thing it did."""
    now = now or timezone.now()
    done = {"expired": 0, "offline": 0, "reclaimed": 0, "dispatched": 0}
    due = Ticket.objects.filter(status=Status.OFFERED, offer_expires_at__lte=now)
    for pk in due.order_by("offer_expires_at").values_list("pk", flat=True)[:BATCH]:
        done["expired"] += dispatch.offer_expire(ticket_id=pk, now=now)
    for user_id in services.agents_gone(now=now):
        if services.agent_go_offline(user_id=user_id, now=now):
            done["offline"] += 1
            dispatch.offers_withdraw(agent_id=user_id, now=now)
    leases = Ticket.objects.filter(
        status__in=HELD, lease_expires_at__lte=now
    ).values_list("pk", flat=True)
    for pk in leases[:BATCH]:
        done["reclaimed"] += dispatch.ticket_reclaim(ticket_id=pk, now=now)
    if stuck:
        done["dispatched"] = _redispatch_stuck(now)
    return done


def _redispatch_stuck(now: datetime) -> int:
    """Safety net for a dispatch lost with its process after commit."""
    waiting = Ticket.objects.filter(
        status=Status.AWAITING_AGENT, updated_at__lte=now - STUCK_AFTER
    ).order_by("-priority", "created_at")
    ids = waiting.values_list("pk", flat=True)[:20]
    return sum(dispatch.ticket_dispatch(ticket_id=pk) is not None for pk in ids)


def _publish_counts(previous: dict | None) -> dict:
    counts = selectors.pool_counts()
    if counts != previous:
        services.send_to_group(events.POOL_GROUP, events.queue_counts(counts))
    return counts


def run(*, interval: float, stop: threading.Event, ticks: int | None = None) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set (or ``ticks``)."""
    counts, tick = None, 0
    while not stop.is_set() and (ticks is None or tick < ticks):
        started = time.monotonic()
        try:
            close_old_connections()
            sweep_once(stuck=tick % 20 == 0)
            if tick % 4 == 0:
                counts = _publish_counts(counts)
        except Exception:  # a database restart must not end the loop
            logger.exception("sweep failed; retrying")
            connection.close()
        tick += 1
        stop.wait(max(0.0, interval - (time.monotonic() - started)))


def start_thread() -> threading.Event:
    """Run the sweeper inside this process (the embedded desk)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run,
        kwargs={"interval": settings.AGENT_SWEEP_INTERVAL, "stop": stop},
        name="agent-sweeper",
        daemon=True,
    )
    thread.start()
    return stop
