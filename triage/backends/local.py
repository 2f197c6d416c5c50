"""The default backend: ``triage.ml.engine`` in this process, no network."""

from __future__ import annotations

from typing import Any

from triage.backends.base import BackendError, MessageInput, RiskFlag, TriageOutput


class LocalBackend:
    name = "local"

    def analyse(self, message: MessageInput) -> TriageOutput:
        try:
            from triage.ml import engine
        except ImportError as exc:  # the pure core is not installed
            raise BackendError(f"local engine unavailable: {exc}") from exc
        policy = engine.Policy(
            categories={
                name: engine.CategoryPolicy(
                    auto_send=p.auto_send,
                    threshold=p.confidence_threshold,
                    allowed_promises=frozenset(p.allowed_promises),
                )
                for name, p in message.policies.items()
            },
            allowed_domains=tuple(message.allowed_domains),
        )
        analysis = engine.analyse(
            message.text,
            channel=message.channel,
            languages=message.languages,
            kb=[dict(a) for a in message.kb],
            policy=policy,
            customer_identifiers=message.customer_identifiers,
        )
        return to_output(analysis)


def to_output(a: Any) -> TriageOutput:
    """Map an engine ``Analysis`` onto the backend interface."""
    reasons = {k: str(v) for k, v in a.reasons.items()}
    for name, value in a.confidences.items():
        reasons.setdefault(f"confidence:{name}", f"{value:.2f}")
    return TriageOutput(
        category=a.category,
        confidence=float(a.confidence),
        priority=a.priority,
        language=a.language,
        sentiment=a.sentiment,
        wants_human=bool(a.wants_human),
        out_of_scope=bool(a.out_of_scope),
        risk_flags=[
            RiskFlag(f.kind, float(f.confidence), f.reason) for f in a.risk_flags
        ],
        reasons=reasons,
        redacted_text=a.redacted_text,
        draft=a.draft,
        cited=[str(c) for c in a.cited_articles],
        violations=[v.reason for v in a.violations],
        # The engine may be stricter than the shared rules (e.g. a draft built
        # from an article in another language): keep its "human" verdict.
        hold_reason=a.reasons.get("route", "") if a.route == "human" else "",
        backend="local",
        model_name=a.backend,  # "tfidf+minilm" or "tfidf"
        model_version=a.engine_version,
    )
