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
