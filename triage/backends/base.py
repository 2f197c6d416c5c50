"""The one interface every triage backend implements.

Plain data in, plain data out, no Django models: the pipeline builds a
``MessageInput`` from the database and records the ``TriageOutput``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

PRIORITIES = ("low", "normal", "high", "urgent")
SENTIMENTS = ("negative", "neutral", "positive")
RISK_KINDS = ("fraud", "legal_threat", "vulnerable_customer", "prompt_injection")


class BackendError(Exception):
    """The backend could not produce a usable result (down, malformed, ...)."""


@dataclass(frozen=True)
class Policy:
    """The parts of a CategoryPolicy a backend and the guardrails need."""

    auto_send: bool = False
    confidence_threshold: float = 0.9
    allowed_promises: tuple[str, ...] = ()


@dataclass(frozen=True)
class MessageInput:
    """A customer message, normalised (quoted history and signature stripped).

    ``text`` is the original: a backend that sends text out of the process must
    send its PII-redacted form. ``kb`` rows are dicts with ``id``, ``title``,
    ``body``, ``language``, ``category`` and ``is_macro``.
    """

    text: str
    channel: str = "email"
    languages: tuple[str, ...] = ("en",)
    kb: tuple[Mapping[str, Any], ...] = ()
    policies: Mapping[str, Policy] = field(default_factory=dict)
    attachments: tuple[tuple[str, str], ...] = ()  # (filename, content type)
    customer_identifiers: tuple[str, ...] = ()  # this customer's own e-mail, ...
    allowed_domains: tuple[str, ...] = ()  # links a draft may contain

    def policy_for(self, category: str) -> Policy:
        return self.policies.get(category, Policy())


@dataclass(frozen=True)
class RiskFlag:
    kind: str
    confidence: float
    reason: str


@dataclass
class TriageOutput:
    """Everything a backend read from one message, each with its confidence."""

    category: str
    confidence: float  # of the category
    priority: str = "normal"
    language: str = "en"
    sentiment: str = "neutral"
    wants_human: bool = False
    out_of_scope: bool = False
    risk_flags: Sequence[RiskFlag] = ()
    reasons: dict[str, str] = field(default_factory=dict)
    redacted_text: str = ""
    draft: str = ""
    cited: Sequence[str] = ()
    violations: Sequence[str] = ()  # guardrail reasons the backend already found
    hold_reason: str = ""  # the backend's own reason to keep a human in the loop
    backend: str = ""
    model_name: str = ""
    model_version: str = ""
    prompt_version: str = ""
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None


class Backend(Protocol):
    name: str

    def analyse(self, message: MessageInput) -> TriageOutput:
        """Read one message; raise BackendError when no usable result exists."""
        ...
