"""Rule-based signals an agent can read: wants-a-human, sentiment, risk flags.

Rules, not a model, because each hit must come with a reason an agent can check
at a glance, and because a customer asking for a person must never depend on a
classifier's mood. Patterns are per language and matched on lower-cased text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from triage.ml.lexicons import (
    HUMAN_NEGATIONS,
    HUMAN_NOUNS,
    HUMAN_REQUESTS,
    INJECTION,
    LEGAL,
    NARRATIVE,
    NEGATIVE_WORDS,
    POSITIVE_WORDS,
    REQUEST_CUES,
    VULNERABLE,
)


@dataclass(frozen=True)
class Signal:
    """A yes/no reading with a confidence and a reason for the agent."""

    value: bool
    confidence: float
    reason: str


@dataclass(frozen=True)
class Sentiment:
    label: str  # "negative" | "neutral" | "positive"
    confidence: float
    reason: str


@dataclass(frozen=True)
class RiskFlag:
    kind: str  # "fraud" | "legal_threat" | "vulnerable_customer" | "prompt_injection"
    confidence: float
    reason: str


def _compile(table: dict[str, list[str]]) -> list[tuple[str, re.Pattern[str]]]:
    return [(lang, re.compile(p)) for lang, pats in table.items() for p in pats]


_HUMAN = _compile(HUMAN_REQUESTS)
_HUMAN_NOT = _compile(HUMAN_NEGATIONS)
_INJECTION = _compile(INJECTION)
_LEGAL = _compile(LEGAL)
_VULNERABLE = _compile(VULNERABLE)
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def _union(alternatives: list[str]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")


_NOUN_RE = _union(HUMAN_NOUNS)
_CUE_RE = _union(REQUEST_CUES)
_NARRATIVE_RE = _union(NARRATIVE)
_CLAUSE_RE = re.compile(r"[^.,;:!?¿¡\n]+")


def _generic_request(low: str) -> str | None:
    """A clause with a person word and a request cue and no narrative marker."""
    for clause in _CLAUSE_RE.findall(low):
        noun, cue = _NOUN_RE.search(clause), _CUE_RE.search(clause)
        if noun and cue and not _NARRATIVE_RE.search(clause):
            return clause.strip()
    return None


def _first_hit(
    text: str, patterns: list[tuple[str, re.Pattern[str]]]
) -> tuple[str, str] | None:
    for lang, pat in patterns:
        m = pat.search(text)
        if m:
            return lang, m.group(0)
    return None


def human_rule_features(text: str) -> list[float]:
    """Refusal, named request, generic request and narrative cues, as 0/1."""
    low = text.lower()
    return [
        float(_first_hit(low, _HUMAN_NOT) is not None),
        float(_first_hit(low, _HUMAN) is not None),
        float(_generic_request(low) is not None),
        float(_NARRATIVE_RE.search(low) is not None),
        float(_NOUN_RE.search(low) is not None),
    ]


def _rule_reading(text: str) -> Signal:
    low = text.lower()
    refusal = _first_hit(low, _HUMAN_NOT)
    if refusal:
        return Signal(False, 0.8, f"mentions a person but declines ({refusal[1]!r})")
    hit = _first_hit(low, _HUMAN)
    if hit:
        return Signal(True, 0.95, f"asks for a human [{hit[0]}]: {hit[1]!r}")
    clause = _generic_request(low)
    if clause:
        return Signal(True, 0.8, f"asks for a person: {clause[:60]!r}")
    return Signal(False, 0.85, "no request for a person")


def wants_human(text: str) -> Signal:
    """An explicit request for a person, in any configured language.

    A learned model (character n-grams plus the rules as features) decides; the
    reason quotes the matched rule when there is one, else the n-grams that
    weighed most, so an agent can still check it at a glance.
    """
    from triage.ml.human import THRESHOLD, model

    m = model()
    p = m.proba(text)
    rules = _rule_reading(text)
    if p >= THRESHOLD:
        if rules.value:
            return Signal(True, round(p, 3), rules.reason)
        grams = ", ".join(repr(g) for g in m.top_ngrams(text))
        return Signal(True, round(p, 3), f"asks for a person (model): {grams}")
    reason = rules.reason if not rules.value else "mentions a person, not a request"
    return Signal(False, round(1 - p, 3), reason)


def sentiment(text: str) -> Sentiment:
    """Lexicon polarity over several languages; exclamation and caps add weight."""
    words = _WORD_RE.findall(text.lower())
    neg = [w for w in words if w in NEGATIVE_WORDS]
    pos = [w for w in words if w in POSITIVE_WORDS]
    shout = text.count("!") >= 2 or (
        sum(c.isupper() for c in text) > 0.5 * max(1, sum(c.isalpha() for c in text))
        and len(text) > 12
    )
    score = len(pos) - len(neg) - (1 if shout and neg else 0)
    if score < 0:
        why = ", ".join(sorted(set(neg))[:4]) + (" + shouting" if shout else "")
        return Sentiment("negative", min(0.95, 0.6 + 0.1 * -score), f"words: {why}")
    if score > 0:
        why = ", ".join(sorted(set(pos))[:4])
        return Sentiment("positive", min(0.95, 0.6 + 0.1 * score), f"words: {why}")
    return Sentiment("neutral", 0.6, "no strong polarity words")


FRAUD_CATEGORIES = frozenset(
    {
        "compromised_card",
        "card_payment_not_recognised",
        "cash_withdrawal_not_recognised",
        "direct_debit_payment_not_recognised",
        "lost_or_stolen_card",
        "lost_or_stolen_phone",
    }
)
_FRAUD_RE = re.compile(
    r"\b(fraud\w*|scam\w*|hack\w*|stolen|phishing|bedrägeri|bedragare|kapad"
    r"|betrug|gehackt|gestohlen|fraude|estafa|arnaque|truffa|oplichting|dolandırıcı"
    r"|oszustw\w*|huijau\w*|svindel)\b"
)


def risk_flags(text: str, *, category: str | None = None) -> list[RiskFlag]:
    """Fraud, legal threat, vulnerable customer and prompt-injection flags."""
    low = text.lower()
    flags: list[RiskFlag] = []
    fraud = _FRAUD_RE.search(low)
    if fraud or category in FRAUD_CATEGORIES:
        why = f"word {fraud.group(0)!r}" if fraud else f"category {category}"
        flags.append(RiskFlag("fraud", 0.9 if fraud else 0.7, why))
    for kind, patterns in (
        ("legal_threat", _LEGAL),
        ("vulnerable_customer", _VULNERABLE),
        ("prompt_injection", _INJECTION),
    ):
        hit = _first_hit(low, patterns)
        if hit:
            flags.append(RiskFlag(kind, 0.9, f"[{hit[0]}] {hit[1]!r}"))
    return flags
