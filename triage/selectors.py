"""Reads of triage data shared by the pipeline, the commands and the agent side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from triage.backends.base import Policy
from triage.models import CategoryPolicy, KnowledgeArticle, TriageResult

DEMO_KB = Path(__file__).resolve().parent / "fixtures" / "demo_kb.json"


def triage_result_latest(*, ticket_id: int) -> TriageResult | None:
    """The newest reading of a ticket: its draft, category, reasons, flags.

    The agent console shows this beside the conversation.
    """
    return TriageResult.objects.filter(ticket_id=ticket_id).order_by("-id").first()


def category_policy_get(*, category: str) -> CategoryPolicy | None:
    return CategoryPolicy.objects.filter(category=category).first()


def policies_all() -> dict[str, Policy]:
    return {
        p.category: Policy(
            auto_send=p.auto_send,
            confidence_threshold=p.confidence_threshold,
            allowed_promises=tuple(p.allowed_promises),
        )
        for p in CategoryPolicy.objects.all()
    }


def knowledge_base(*, demo_if_empty: bool = False) -> list[dict[str, Any]]:
    """Active articles and macros as plain dicts for the pure retrieval code."""
    rows = list(
        KnowledgeArticle.objects.filter(active=True).values(
            "id", "title", "body", "language", "category", "is_macro"
        )
    )
    for row in rows:
        row["id"] = f"kb{row['id']}"
    if not rows and demo_if_empty:
        return demo_knowledge_base()
    return rows


def demo_knowledge_base() -> list[dict[str, Any]]:
    data = json.loads(DEMO_KB.read_text(encoding="utf-8"))
    return [
        {"id": f"demo{i}", **{k: a[k] for k in ("title", "body", "language")}}
        | {"category": a.get("category", ""), "is_macro": a.get("is_macro", False)}
        for i, a in enumerate(data["articles"], start=1)
    ]


def desk_training_examples() -> list[tuple[str, str]]:
    """(text, category) from resolved tickets whose category an agent corrected.

    The label is the agent's last ``ticket.fields`` change of the category; the
    text is what triage read: the subject and the first customer message.
    """
    from tickets.models import AuthorKind, Message, TicketEvent
    from tickets.states import Status

    corrections = (
        TicketEvent.objects.filter(
            kind="ticket.fields",
            actor_kind=AuthorKind.AGENT,
            after__has_key="category",
            ticket__status__in=[Status.RESOLVED, Status.CLOSED],
        )
        .order_by("ticket_id", "id")
        .values_list("ticket_id", "after")
    )
    labels = {ticket_id: after["category"] for ticket_id, after in corrections}
    firsts = (
        Message.objects.filter(ticket_id__in=labels, author_kind=AuthorKind.CUSTOMER)
        .order_by("ticket_id", "id")
        .values_list("ticket_id", "reply_text", "text", "ticket__subject")
    )
    out: dict[int, tuple[str, str]] = {}
    for ticket_id, reply_text, text, subject in firsts:
        if ticket_id in out or not labels[ticket_id]:
            continue
        body = reply_text or text
        if subject and subject != "(no subject)":
            body = f"{subject}\n\n{body}"
        out[ticket_id] = (body.strip(), labels[ticket_id])
    return [pair for pair in out.values() if pair[0]]
