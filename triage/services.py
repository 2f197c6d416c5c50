"""Triage writes: read a customer message, record what was found, route.

Idempotent by message id: the slow part (the backend) runs first, outside any
transaction; then one short transaction claims the message by inserting its
TriageResult (unique on message). A redelivered task finds the row, or loses
the insert race, and changes nothing.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from tickets import services as ticket_services
from tickets.models import AuthorKind, Message, Ticket
from tickets.states import Action, IllegalTransition, Status, TicketConflict
from triage import pipeline, selectors
from triage.backends import get_backend
from triage.backends.base import MessageInput
from triage.models import CategoryPolicy, Route, TriageResult

logger = logging.getLogger(__name__)


def message_triage(*, message_id: int) -> TriageResult | None:
    """Triage one customer message and route its ticket; None if already done."""
    message = (
        Message.objects.select_related("ticket__customer")
        .filter(pk=message_id, author_kind=AuthorKind.CUSTOMER, is_internal_note=False)
        .first()
    )
    if message is None or TriageResult.objects.filter(message=message).exists():
        return None
    _start(message.ticket)
    backend = get_backend()
    outcome = pipeline.run(
        backend,
        message_input(message),
        timeout=settings.TRIAGE_TIMEOUT_SECONDS,
        secrets=getattr(backend, "secrets", ()),
    )
    return triage_record(message=message, outcome=outcome)


def _start(ticket: Ticket) -> None:
    """Show the ticket as being triaged (a new ticket's first message)."""
    if ticket.status != Status.NEW:
        return
    try:
        ticket_services.ticket_transition(ticket_id=ticket.pk, action=Action.TRIAGE)
    except (IllegalTransition, TicketConflict):
        pass  # someone else moved it on; routing below re-reads the status


def message_input(message: Message) -> MessageInput:
    ticket = message.ticket
    text = message.reply_text or message.text
    first = not ticket.messages.filter(pk__lt=message.pk).exists()
    if first and ticket.subject and ticket.subject != "(no subject)":
        text = f"{ticket.subject}\n\n{text}"
    customer = ticket.customer
    identifiers = [customer.email or ""]
    identifiers += customer.identities.values_list("value", flat=True)
    return MessageInput(
        text=pipeline.normalise(text),
        channel=message.channel,
        languages=tuple(settings.TRIAGE_LANGUAGES),
        kb=tuple(selectors.knowledge_base()),
        policies=selectors.policies_all(),
        attachments=tuple(message.attachments.values_list("filename", "content_type")),
        customer_identifiers=tuple(i for i in identifiers if i),
        allowed_domains=tuple(settings.TRIAGE_LINK_DOMAINS),
    )


@transaction.atomic
def triage_record(
    *, message: Message, outcome: pipeline.Outcome
) -> TriageResult | None:
    """Claim the message, record the outcome, update and route the ticket."""
    try:
        with transaction.atomic():
            result = TriageResult.objects.create(
                message=message, ticket_id=message.ticket_id, **_result_fields(outcome)
            )
    except IntegrityError:
        return None  # another run recorded this message first
    ticket = Ticket.objects.select_for_update().get(pk=message.ticket_id)
    routing = ticket.status == Status.TRIAGING
    if outcome.output is not None:
        _update_fields(ticket, outcome, routing=routing)
    if routing:
        _route(ticket, outcome)
    return result


def _result_fields(outcome: pipeline.Outcome) -> dict:
    out = outcome.output
    reasons = {"route": "; ".join(outcome.route_reasons) or "policy allows auto"}
    fields = {
        "backend": outcome.backend,
        "route": Route.AUTO if outcome.route == "auto" else Route.HUMAN,
        "latency_ms": outcome.latency_ms,
        "error": outcome.error,
        "draft": outcome.draft,
        "guardrail_violations": outcome.violations,
        "reasons": reasons,
    }
    if out is None:
        return fields
    return fields | {
        "model_name": out.model_name[:200],
        "model_version": out.model_version[:200],
        "prompt_version": out.prompt_version[:32],
        "category": out.category[:64],
        "priority": out.priority,
        "language": out.language[:8],
        "sentiment": out.sentiment,
        "wants_human": out.wants_human,
        "out_of_scope": out.out_of_scope,
        "risk_flags": {
            f.kind: {"confidence": f.confidence, "reason": f.reason}
            for f in out.risk_flags
        },
        "confidence": out.confidence,
        "reasons": {**out.reasons, **reasons},
        "redacted_text": out.redacted_text,
        "cited_articles": list(out.cited),
        "tokens_in": out.tokens_in,
        "tokens_out": out.tokens_out,
        "cost_usd": None if out.cost_usd is None else Decimal(f"{out.cost_usd:.6f}"),
    }


def _update_fields(ticket: Ticket, outcome: pipeline.Outcome, *, routing: bool) -> None:
    out = outcome.output
    assert out is not None
    try:
        priority = ticket_services.priority_from_label(out.priority)
    except ValueError:
        priority = ticket.priority
    fields = {
        "language": out.language[:8],
        "sentiment": out.sentiment if out.sentiment in _SENTIMENTS else "",
        # Once a customer asked for a person, a later message does not undo it.
        "wants_human": ticket.wants_human or out.wants_human,
    }
    if routing:
        fields |= {"category": out.category[:64], "priority": priority}
    else:
        # A held ticket keeps its (possibly agent-corrected) category; a later
        # message can only make it more urgent.
        fields["priority"] = max(ticket.priority, priority)
    ticket_services.ticket_set_fields(
        ticket_id=ticket.pk, fields=fields, actor_kind=AuthorKind.AI
    )


_SENTIMENTS = ("negative", "neutral", "positive")


def _route(ticket: Ticket, outcome: pipeline.Outcome) -> None:
    try:
        if outcome.route == "auto":
            ticket_services.ticket_transition(
                ticket_id=ticket.pk, action=Action.AUTO_ANSWER, actor_kind=AuthorKind.AI
            )
            ticket_services.message_add(
                ticket_id=ticket.pk, author_kind=AuthorKind.AI, text=outcome.draft
            )
        else:
            ticket_services.ticket_transition(
                ticket_id=ticket.pk, action=Action.ROUTE_HUMAN, actor_kind=AuthorKind.AI
            )
    except (IllegalTransition, TicketConflict) as exc:
        logger.info("ticket %s not routed by triage: %s", ticket.pk, exc)


def triage_sweep_stuck(*, older_than_seconds: float | None = None) -> int:
    """Move tickets stuck in ``triaging`` to the human queue; how many moved.

    The backstop for a worker that died mid-triage: whatever happened, a
    customer is never left waiting on a triage that will not finish.
    """
    seconds = older_than_seconds or settings.TRIAGE_STUCK_SECONDS
    cutoff = timezone.now() - timedelta(seconds=seconds)
    stuck = Q(status=Status.TRIAGING, updated_at__lt=cutoff)
    moved = 0
    for ticket_id in Ticket.objects.filter(stuck).values_list("pk", flat=True)[:500]:
        try:
            ticket_services.ticket_transition(
                ticket_id=ticket_id,
                action=Action.ROUTE_HUMAN,
                condition=stuck,
                condition_error="no longer stuck",
            )
        except (IllegalTransition, TicketConflict):
            continue
        moved += 1
    if moved:
        logger.warning("moved %d ticket(s) stuck in triage to the queue", moved)
    return moved


def demo_auto_send_enable() -> int:
    """Turn on auto-send for the demo's safe categories (embedded demo only)."""
    data = json.loads(selectors.DEMO_KB.read_text(encoding="utf-8"))
    categories = [p["category"] for p in data["policies"] if p.get("demo_auto_send")]
    return CategoryPolicy.objects.filter(category__in=categories).update(auto_send=True)
