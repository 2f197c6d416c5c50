"""One call that reads a customer message: ``analyse(text, ...) -> Analysis``.

This is the local backend's whole reading of a message, and the contract the
Django pipeline, ``manage.py triage_classify`` and the evaluation commands use.
It never raises on odd input and never touches the network or the database.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from triage.ml import classifier
from triage.ml.draft import draft_reply
from triage.ml.guardrails import Violation, check_draft
from triage.ml.language import DEFAULT_LANGUAGES, detect_language
from triage.ml.pii import DEFAULT_ID_COUNTRIES, redact
from triage.ml.priority import priority
from triage.ml.signals import RiskFlag, risk_flags, sentiment, wants_human

ENGINE_VERSION = "local-1"


@dataclass(frozen=True)
class CategoryPolicy:
    """What the desk allows the AI to do alone for one category."""

    auto_send: bool = False
    threshold: float = 0.9
    allowed_promises: frozenset[str] = frozenset()  # e.g. {"refund"}


@dataclass(frozen=True)
class Policy:
    categories: Mapping[str, CategoryPolicy] = field(default_factory=dict)
    default: CategoryPolicy = CategoryPolicy()
    allowed_domains: tuple[str, ...] = ()
    id_countries: tuple[str, ...] = DEFAULT_ID_COUNTRIES

    def for_category(self, category: str) -> CategoryPolicy:
        return self.categories.get(category, self.default)


@dataclass(frozen=True)
class Analysis:
    category: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    out_of_scope: bool
    priority: str
    language: str
    language_confidence: float
    sentiment: str
    wants_human: bool
    risk_flags: tuple[RiskFlag, ...]
    reasons: dict[str, str]  # output name -> why, for the agent console
    confidences: dict[str, float]  # output name -> confidence
    redacted_text: str
    redactions: tuple[tuple[str, int, int], ...]  # (kind, start, end)
    draft: str
    cited_articles: tuple[str, ...]
    violations: tuple[Violation, ...]
    route: str  # "auto" or "human"
    channel: str
    backend: str
    engine_version: str = ENGINE_VERSION
    latency_ms: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def analyse(
    text: str,
    *,
    channel: str = "chat",
    languages: Iterable[str] = DEFAULT_LANGUAGES,
    kb: Sequence[Mapping[str, object]] = (),
    policy: Policy | None = None,
    customer_identifiers: Iterable[str] = (),
    model: classifier.IntentModel | None = None,
) -> Analysis:
    """Read one message: classify, flag, draft, check the draft, pick a route."""
    started = time.perf_counter()
    policy = policy or Policy()
    model = model or classifier.load()
    pred = model.predict(text)
    lang = detect_language(text, tuple(languages))
    prio = priority(text, pred.category, pred.confidence)
    mood = sentiment(text)
    human = wants_human(text)
    flags = tuple(risk_flags(text, category=pred.category))
    red = redact(text, id_countries=policy.id_countries)
    cat_policy = policy.for_category(pred.category)
    draft = draft_reply(text, kb, category=pred.category, language=lang.code)
    violations = tuple(
        check_draft(
            draft.text,
            allowed_promises=cat_policy.allowed_promises,
            customer_identifiers=customer_identifiers,
            allowed_domains=policy.allowed_domains,
        )
    )
    route, route_reason = decide_route(
        pred, cat_policy, human.value, flags, violations, bool(draft.text),
        draft.needs_translation,
    )  # fmt: skip
    reasons = {
        "category": f"{pred.backend} classifier, top {pred.category}",
        "priority": prio.reason,
        "language": lang.reason,
        "sentiment": mood.reason,
        "wants_human": human.reason,
        "route": route_reason,
        **{f"risk:{f.kind}": f.reason for f in flags},
    }
    confidences = {
        "category": pred.confidence,
        "priority": prio.confidence,
        "language": lang.confidence,
        "sentiment": mood.confidence,
        "wants_human": human.confidence,
        **{f"risk:{f.kind}": f.confidence for f in flags},
    }
    return Analysis(
        category=pred.category,
        confidence=pred.confidence,
        alternatives=pred.alternatives,
        out_of_scope=pred.out_of_scope,
        priority=prio.level,
        language=lang.code,
        language_confidence=lang.confidence,
        sentiment=mood.label,
        wants_human=human.value,
        risk_flags=flags,
        reasons=reasons,
        confidences=confidences,
        redacted_text=red.text,
        redactions=tuple(red.kinds),
        draft=draft.text,
        cited_articles=draft.cited,
        violations=violations,
        route=route,
        channel=channel,
        backend=pred.backend,
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
    )


def decide_route(
    pred: classifier.Prediction,
    cat_policy: CategoryPolicy,
    wants_human_: bool,
    flags: Sequence[RiskFlag],
    violations: Sequence[Violation],
    has_draft: bool,
    needs_translation: bool,
) -> tuple[str, str]:
    """'auto' only when every condition holds; the reason names the first that fails."""
    checks = [
        (wants_human_, "customer asked for a human"),
        (pred.out_of_scope, "not one of our categories"),
        (bool(flags), "risk flag: " + ", ".join(f.kind for f in flags)),
        (not cat_policy.auto_send, f"policy: no auto-send for {pred.category}"),
        (
            pred.confidence < cat_policy.threshold,
            f"confidence {pred.confidence:.2f} < {cat_policy.threshold:.2f}",
        ),
        (not has_draft, "no knowledge-base article matched"),
        (needs_translation, "article not in the customer's language"),
        (bool(violations), "draft failed: " + "; ".join(v.reason for v in violations)),
    ]
    for failed, reason in checks:
        if failed:
            return "human", reason
    return "auto", f"policy allows auto-send at confidence {pred.confidence:.2f}"
