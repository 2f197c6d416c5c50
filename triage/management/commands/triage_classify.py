"""Classify JSON lines from stdin with the configured backend.

    echo '{"text": "my card never came", "channel": "chat"}' \
        | python manage.py triage_classify

One JSON line out per line in; a line that cannot be read gives an ``error``
line instead of stopping the run.
"""

import json
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from supportdesk.commands import require_migrated
from triage import pipeline, selectors
from triage.backends import get_backend
from triage.backends.base import MessageInput

CHANNELS = ("chat", "email", "api")


class Command(BaseCommand):
    help = "Triage JSON lines {text, channel} from stdin; write one JSON line each."

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        backend = get_backend()
        kb = tuple(selectors.knowledge_base(demo_if_empty=True))
        policies = selectors.policies_all()
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                text, channel = _parse(line)
            except ValueError as exc:
                self._emit({"line": number, "error": str(exc)})
                continue
            message = MessageInput(
                text=pipeline.normalise(text),
                channel=channel,
                languages=tuple(settings.TRIAGE_LANGUAGES),
                kb=kb,
                policies=policies,
                allowed_domains=tuple(settings.TRIAGE_LINK_DOMAINS),
            )
            outcome = pipeline.run(
                backend,
                message,
                timeout=settings.TRIAGE_TIMEOUT_SECONDS,
                secrets=getattr(backend, "secrets", ()),
            )
            self._emit(_row(outcome))

    def _emit(self, row: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(row, ensure_ascii=False))
        self.stdout.flush()


def _parse(line: str) -> tuple[str, str]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise ValueError('expected an object with a string "text"')
    channel = data.get("channel", "chat")
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
    return data["text"], channel


def _row(outcome: pipeline.Outcome) -> dict[str, Any]:
    out = outcome.output
    row: dict[str, Any] = {"route": outcome.route, "backend": outcome.backend}
    if out is None:
        return row | {"error": outcome.error, "draft": ""}
    return row | {
        "category": out.category,
        "priority": out.priority,
        "language": out.language,
        "sentiment": out.sentiment,
        "wants_human": out.wants_human,
        "out_of_scope": out.out_of_scope,
        "risk_flags": {
            f.kind: {"confidence": f.confidence, "reason": f.reason}
            for f in out.risk_flags
        },
        "confidence": round(out.confidence, 4),
        "draft": outcome.draft,
        "cited_articles": list(out.cited),
        "route_reasons": outcome.route_reasons,
        "latency_ms": outcome.latency_ms,
    }
