"""Real-time events an agent's console receives: built here, and only here.

Events that change what an agent holds or is offered go through the per-agent
log (``agents.services.agent_events_record``) and carry that log's sequence
number. Snapshots that the next snapshot supersedes (queue counts, typing) are
sent without a number and never logged.
"""

from datetime import datetime
from typing import Any

from tickets.events import ticket_summary
from tickets.models import Ticket

POOL_GROUP = "agents-pool"

WITHDRAW_REASONS = {
    "status.decline": "declined",
    "status.expire": "expired",
    "status.reassign": "reassigned",
    "status.claim": "taken",
}


def agent_group(user_id: int) -> str:
    return f"agent-{user_id}"


def triage_summary(ticket: Ticket) -> dict[str, Any]:
    return {
        "category": ticket.category,
        "priority": ticket.get_priority_display(),
        "language": ticket.language,
        "sentiment": ticket.sentiment,
        "wants_human": ticket.wants_human,
    }


def offer_created(ticket: Ticket, expires_at: datetime, now: datetime) -> dict:
    return {
        "type": "offer.created",
        "ticket": ticket_summary(ticket),
        "triage": triage_summary(ticket),
        "expires_at": expires_at.isoformat(),
        "countdown_ms": max(0, int((expires_at - now).total_seconds() * 1000)),
    }


def offer_withdrawn(ticket_id: int, reason: str) -> dict:
    return {"type": "offer.withdrawn", "ticket_id": ticket_id, "reason": reason}


def agent_status(status: str, reason: str) -> dict:
    return {"type": "agent.status", "status": status, "reason": reason}


def queue_counts(counts: dict[str, Any]) -> dict:
    return {"type": "queue.counts", "seq": None, **counts}


def agent_typing(ticket_id: int, user_id: int) -> dict:
    return {"type": "agent.typing", "ticket_id": ticket_id, "agent_id": user_id}


def presence_changed(user_id: int, status: str) -> dict:
    return {"type": "presence.changed", "agent_id": user_id, "status": status}
