"""The default backend: ``triage.ml.engine`` in this process, no network.

A thin adapter. The engine's ``Analysis`` is read by attribute name and the
nested readings (language guess, signals, draft) are unwrapped, so small shape
changes in the pure core do not ripple into the Django side.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from triage.backends.base import BackendError, MessageInput, RiskFlag, TriageOutput


class LocalBackend:
    name = "local"

    def analyse(self, message: MessageInput) -> TriageOutput:
        try:
            from triage.ml import engine
        except ImportError as exc:  # the pure core is not installed
            raise BackendError(f"local engine unavailable: {exc}") from exc
        started = time.perf_counter()
        analysis = engine.analyse(
            message.text,
            channel=message.channel,
            languages=list(message.languages),
            kb=[dict(a) for a in message.kb],
            policy={c: asdict(p) for c, p in message.policies.items()},
        )
        out = to_output(analysis)
        out.reasons.setdefault("engine_ms", f"{(time.perf_counter() - started):.3f}")
        return out


def _pick(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None:
            return value
    return default


def _scalar(value: Any, *names: str) -> Any:
    """``"en"`` or ``LanguageGuess(code="en", ...)`` -> ``"en"``."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return _pick(value, *names)


def _flags(raw: Any) -> list[RiskFlag]:
    if isinstance(raw, dict):  # {"fraud": {"confidence":..., "reason":...}}
        raw = [{"kind": k, **v} for k, v in raw.items()]
    return [
        RiskFlag(
            str(_pick(f, "kind")),
            float(_pick(f, "confidence", default=1.0)),
            str(_pick(f, "reason", default="")),
        )
        for f in raw or ()
    ]


def to_output(a: Any) -> TriageOutput:
    """Map an engine ``Analysis`` onto the backend interface."""
    draft = _pick(a, "draft")
    cited = _pick(a, "cited", "cited_articles", default=None)
    if draft is not None and not isinstance(draft, str):
        cited = cited if cited is not None else _pick(draft, "cited", default=())
        draft = _pick(draft, "text", default="")
    violations = [
        _pick(v, "reason", default=str(v)) if not isinstance(v, str) else v
        for v in _pick(a, "violations", "guardrail_violations", default=()) or ()
    ]
    reasons = dict(_pick(a, "reasons", default={}) or {})
    return TriageOutput(
        category=str(_pick(a, "category", default="")),
        confidence=float(_pick(a, "confidence", "category_confidence", default=0.0)),
        priority=str(_scalar(_pick(a, "priority"), "level") or "normal"),
        language=str(_scalar(_pick(a, "language"), "code", "language") or "en"),
        sentiment=str(_scalar(_pick(a, "sentiment"), "label") or "neutral"),
        wants_human=bool(_scalar(_pick(a, "wants_human"), "value")),
        out_of_scope=bool(_pick(a, "out_of_scope", default=False)),
        risk_flags=_flags(_pick(a, "risk_flags", default=())),
        reasons={k: str(v) for k, v in reasons.items()},
        redacted_text=str(
            _scalar(_pick(a, "redacted_text", "redaction"), "text") or ""
        ),
        draft=draft or "",
        cited=[str(c) for c in cited or ()],
        violations=violations,
        backend="local",
        model_name=str(_pick(a, "model_name", "classifier_backend", default="")),
        model_version=str(_pick(a, "model_version", default="")),
    )
