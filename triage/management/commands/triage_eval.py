"""Measure the configured backend on a labelled CSV (columns ``text,category``).

Prints ``name value unit`` lines (accuracy, macro_f1, p50_ms, p95_ms), then the
most frequent confusions as ``confused TRUE -> PREDICTED COUNT``.
"""

import csv
import time
from collections import Counter
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from supportdesk.commands import require_migrated
from triage import selectors
from triage.backends import BackendError, get_backend
from triage.backends.base import MessageInput


class Command(BaseCommand):
    help = "Accuracy, macro F1 and latency of the triage backend on a CSV."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--csv", required=True, help="columns: text,category")
        parser.add_argument("--limit", type=int, default=0, help="first N rows only")
        parser.add_argument("--top", type=int, default=10, help="confusions shown")
        parser.add_argument(
            "--with-kb",
            action="store_true",
            help="also retrieve and draft (measures the whole reading)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        rows = _read(options["csv"], options["limit"])
        backend = get_backend()
        kb = (
            tuple(selectors.knowledge_base(demo_if_empty=True))
            if options["with_kb"]
            else ()
        )
        truth, predicted, latencies = [], [], []
        for text, category in rows:
            message = MessageInput(
                text=text, languages=tuple(settings.TRIAGE_LANGUAGES), kb=kb
            )
            started = time.perf_counter()
            try:
                guess = backend.analyse(message).category
            except BackendError as exc:
                self.stderr.write(f"failed: {exc}")
                guess = ""
            latencies.append((time.perf_counter() - started) * 1000)
            truth.append(category)
            predicted.append(guess)
        for name, value, unit in metrics(truth, predicted, latencies):
            self.stdout.write(f"{name} {value} {unit}")
        for (true, guess), count in confusions(truth, predicted, options["top"]):
            self.stdout.write(f"confused {true} -> {guess or '(none)'} {count}")


def _read(path: str, limit: int) -> list[tuple[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not {"text", "category"} <= set(reader.fieldnames or ()):
                raise CommandError(f"{path}: needs the columns text,category")
            rows = [(r["text"], r["category"]) for r in reader]
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc
    if not rows:
        raise CommandError(f"{path}: no rows")
    return rows[:limit] if limit else rows


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def macro_f1(truth: list[str], predicted: list[str]) -> float:
    """Unweighted mean of per-class F1 over the classes in the truth."""
    scores = []
    for label in sorted(set(truth)):
        tp = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        fp = sum(p == label != t for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == label != p for t, p in zip(truth, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def metrics(
    truth: list[str], predicted: list[str], latencies: list[float]
) -> list[tuple[str, str, str]]:
    correct = sum(t == p for t, p in zip(truth, predicted, strict=True))
    return [
        ("n", str(len(truth)), "messages"),
        ("accuracy", f"{100 * correct / len(truth):.2f}", "%"),
        ("macro_f1", f"{100 * macro_f1(truth, predicted):.2f}", "%"),
        ("p50_ms", f"{percentile(latencies, 50):.2f}", "ms"),
        ("p95_ms", f"{percentile(latencies, 95):.2f}", "ms"),
    ]


def confusions(
    truth: list[str], predicted: list[str], top: int
) -> list[tuple[tuple[str, str], int]]:
    pairs = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    return pairs.most_common(top)
