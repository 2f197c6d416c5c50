"""Retrain the local intent classifier: BANKING77 plus the desk's own labels.

A resolved ticket whose category an agent corrected is a training example with
the agent's category as its label. The model is saved where the local backend
loads it; restart the workers to pick it up.
"""

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from supportdesk.commands import require_migrated
from triage import selectors


class Command(BaseCommand):
    help = "Retrain the local classifier from BANKING77 and agents' corrections."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-seed", action="store_true", help="desk tickets only, no BANKING77"
        )
        parser.add_argument(
            "--no-embeddings", action="store_true", help="TF-IDF head only (faster)"
        )
        parser.add_argument("--output", help="model path (default: where it loads)")
        parser.add_argument(
            "--dry-run", action="store_true", help="count examples, do not train"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        try:
            from triage.ml import classifier, datasets
        except ImportError as exc:
            raise CommandError(f"the triage core is not installed: {exc}") from exc
        texts: list[str] = []
        labels: list[str] = []
        if not options["no_seed"]:
            texts, labels = (list(x) for x in datasets.banking77("train"))
        desk = selectors.desk_training_examples()
        texts += [t for t, _ in desk]
        labels += [c for _, c in desk]
        self.stdout.write(f"seed {len(texts) - len(desk)} examples")
        self.stdout.write(f"desk {len(desk)} examples")
        for category, count in Counter(c for _, c in desk).most_common(10):
            self.stdout.write(f"  {category} {count}")
        if len(set(labels)) < 2:
            raise CommandError("need examples of at least two categories")
        if options["dry_run"]:
            return
        model = classifier.train(
            texts, labels, use_embeddings=not options["no_embeddings"]
        )
        if not options["no_seed"] and datasets.oos_valid_texts():
            from triage.ml.build_model import pick_oos_threshold

            model.oos_threshold = round(min(pick_oos_threshold(model), 0.6), 3)
        path = Path(options["output"]) if options["output"] else classifier.MODEL_PATH
        classifier.save(model, path)
        self.stdout.write(f"saved {path} ({len(model.classes)} categories)")
