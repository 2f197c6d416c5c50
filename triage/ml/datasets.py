"""Loaders for the data shipped in triage/data (and the shared OOS set)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
# The out-of-scope set has no licence that lets the repo carry it: it is read
# from the shared datasets folder beside the checkout, for model building and
# the benchmark only.
OOS_DIR = Path(
    os.environ.get(
        "BANKING77_OOS_DIR",
        Path(__file__).resolve().parents[3] / "shared/datasets/banking77_oos",
    )
)


def banking77(split: str) -> tuple[list[str], list[str]]:
    """(texts, labels) of BANKING77 ``train`` or ``test``."""
    with open(DATA / "banking77" / f"{split}.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def banking77_categories() -> list[str]:
    return json.loads((DATA / "banking77" / "categories.json").read_text())


def oos_valid_texts(root: Path = OOS_DIR) -> list[str]:
    """Out-of-domain questions (CLINC150) from the BANKING77-OOS validation split."""
    path = root / "ood-oos" / "valid" / "seq.in"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def oos_test_texts(root: Path = OOS_DIR) -> list[str]:
    path = root / "ood-oos" / "test" / "seq.in"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def wants_human(split: str) -> list[tuple[str, bool, str]]:
    """(text, wants_human, language) rows of one file in ``data/wants_human``."""
    path = DATA / "wants_human" / f"{split}.tsv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [(r["text"], r["label"] == "1", r["lang"]) for r in rows]
