"""The triage path for one message, without the database.

normalise -> backend (language, PII redaction, classify, draft) under a time
limit -> guardrails on the draft -> route. ``triage.services`` feeds it rows and
records what it returns; ``triage_classify`` feeds it stdin.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from triage.backends.base import (
    Backend,
    BackendError,
    MessageInput,
    Policy,
    TriageOutput,
)

logger = logging.getLogger(__name__)

# Guardrail kinds after which the draft is withheld even from agents: it could
# show them text they must not see (another customer's data, the system prompt).
WITHHELD_KINDS = ("foreign_pii", "leak")


class TriageTimeout(BackendError):
    pass


@dataclass
class Outcome:
    """What triage decided for one message; ``output`` is None when it failed."""

    output: TriageOutput | None
    route: str  # "auto" | "human"
    route_reasons: list[str]
    draft: str = ""
    violations: list[dict[str, str]] = field(default_factory=list)
    error: str = ""
    latency_ms: int = 0
    backend: str = ""

    @property
    def failed(self) -> bool:
        return self.output is None


_BLANKS = re.compile(r"[ \t\u00a0]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def normalise(text: str) -> str:
    """Collapse runs of blanks and empty lines; the email intake already removed
    quoted history and signatures (``Message.reply_text``)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_BLANKS.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def call_with_timeout(fn: Callable[[], Any], timeout: float) -> Any:
    """Run ``fn`` in a daemon thread and give up after ``timeout`` seconds.

    A backend that hangs (a stuck socket, a runaway model) cannot hold the
    ticket in triage: the caller routes it to humans and the thread is left to
    finish on its own (the OpenAI client has its own timeout as well).
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    worker = threading.Thread(target=target, name="triage-backend", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TriageTimeout(f"backend took longer than {timeout:g}s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def check_draft(
    out: TriageOutput, message: MessageInput, *, secrets: Iterable[str] = ()
) -> list[dict[str, str]]:
    """Guardrail violations of the draft under its category's policy.

    Run here for every backend, whatever the backend checked itself: a draft
    from any model passes the same checks before anyone sees it.
    """
    found = [{"kind": "backend", "reason": r} for r in out.violations]
    if not out.draft:
        return found
    try:
        from triage.ml.guardrails import check_draft as ml_check
    except ImportError:
        return [*found, {"kind": "unchecked", "reason": "guardrails unavailable"}]
    policy = message.policy_for(out.category)
    for v in ml_check(
        out.draft,
        allowed_promises=policy.allowed_promises,
        customer_identifiers=message.customer_identifiers,
        allowed_domains=message.allowed_domains,
        secrets_to_protect=secrets,
    ):
        found = [f for f in found if f["reason"] != v.reason]  # the backend's twin
        found.append({"kind": v.kind, "reason": v.reason})
    return found


def decide_route(
    out: TriageOutput, policy: Policy, violations: list[dict[str, str]]
) -> tuple[str, list[str]]:
    """``("auto", [])`` only when every condition for answering alone holds."""
    why = []
    if not policy.auto_send:
        why.append(f"policy for {out.category or 'this category'} needs a human")
    elif out.confidence < policy.confidence_threshold:
        why.append(
            f"confidence {out.confidence:.2f} under {policy.confidence_threshold:.2f}"
        )
    if out.out_of_scope:
        why.append("not one of our categories")
    if out.wants_human:
        why.append("customer asked for a human")
    if out.risk_flags:
        why.append("risk: " + ", ".join(f.kind for f in out.risk_flags))
    if not out.draft:
        why.append("no grounded draft")
    if violations:
        why.append("draft failed checks: " + "; ".join(v["reason"] for v in violations))
    if not why and out.hold_reason:
        why.append(out.hold_reason)
    return ("human", why) if why else ("auto", [])


def run(
    backend: Backend,
    message: MessageInput,
    *,
    timeout: float,
    secrets: Iterable[str] = (),
) -> Outcome:
    """Triage one message; never raises for a backend failure."""
    started = time.perf_counter()
    try:
        out = call_with_timeout(lambda: backend.analyse(message), timeout)
        violations = check_draft(out, message, secrets=secrets)
    except Exception as exc:  # noqa: BLE001 - any failure routes to humans
        logger.warning("triage failed on %s: %s", backend.name, exc)
        return Outcome(
            output=None,
            route="human",
            route_reasons=["triage failed"],
            error=f"{type(exc).__name__}: {exc}"[:2000],
            latency_ms=_ms(started),
            backend=backend.name,
        )
    route, why = decide_route(out, message.policy_for(out.category), violations)
    withheld = any(v["kind"] in WITHHELD_KINDS for v in violations)
    return Outcome(
        output=out,
        route=route,
        route_reasons=why,
        draft="" if withheld else out.draft,
        violations=violations,
        latency_ms=_ms(started),
        backend=out.backend or backend.name,
    )


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
