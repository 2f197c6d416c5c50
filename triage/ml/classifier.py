"""Intent classifier: TF-IDF (word + char n-grams) and MiniLM embeddings under one
linear head.

Two heads are trained side by side: one on TF-IDF + embeddings, one on TF-IDF
alone. The second is the fallback when the embedding model package is missing, so
a desk without it still classifies (about two points less accurate).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from triage.ml import encoder as enc

MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "intent_model.joblib"
DEFAULT_C = 10.0
# With few examples per intent the TF-IDF block (thousands of sparse, rarely
# shared n-grams) overfits and the sentence embedding generalises better, so it
# is weighted up and the penalty set to match. Rows are (at most this many
# examples per intent, C, embedding weight), chosen by cross-validation on
# BANKING77's training set alone: k-shot samples drawn from it, scored on other
# training messages. Above the last row the full-data settings apply.
SMALL_DATA_SETTINGS = ((45, DEFAULT_C, 2.0),)
# Confidence below this means "not one of our categories": hand over to a human.
DEFAULT_OOS_THRESHOLD = 0.35


@dataclass(frozen=True)
class Prediction:
    category: str
    confidence: float  # probability of the top category
    alternatives: tuple[tuple[str, float], ...]  # the next k-1, best first
    out_of_scope: bool
    backend: str  # "tfidf+minilm" or "tfidf"


@dataclass
class Head:
    """A multinomial logistic-regression head stored as float32 arrays.

    Weights are kept as (features, classes) in C order: sparse @ dense is then a
    row gather, while a transposed view makes scipy copy 7 MB on every call.
    """

    coef_t: np.ndarray
    intercept: np.ndarray

    def proba(self, x: sparse.csr_matrix | np.ndarray) -> np.ndarray:
        logits = np.asarray(x @ self.coef_t) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)


@dataclass
class IntentModel:
    vectorizer: FeatureUnion
    classes: list[str]
    heads: dict[str, Head]
    oos_threshold: float = DEFAULT_OOS_THRESHOLD
    meta: dict[str, object] = field(default_factory=dict)

    def predict(self, text: str, k: int = 3) -> Prediction:
        return self.predict_many([text], k=k)[0]

    def predict_many(
        self,
        texts: Sequence[str],
        k: int = 3,
        *,
        embeddings: np.ndarray | None = None,
        use_embeddings: bool = True,
    ) -> list[Prediction]:
        """Classify texts; uses embeddings when both head and encoder exist.

        ``embeddings`` lets evaluation reuse vectors it already computed.
        """
        tfidf = _tfidf_block(self.vectorizer, texts)
        emb = None
        if use_embeddings and "tfidf+minilm" in self.heads:
            emb = embeddings if embeddings is not None else _embed(texts)
        if emb is not None:
            backend, x = "tfidf+minilm", sparse.hstack([tfidf, emb]).tocsr()
        else:
            backend, x = "tfidf", tfidf
        return [self._pack(row, k, backend) for row in self.heads[backend].proba(x)]

    def _pack(self, probs: np.ndarray, k: int, backend: str) -> Prediction:
        order = np.argsort(-probs)[:k]
        top = [(self.classes[i], round(float(probs[i]), 4)) for i in order]
        return Prediction(
            category=top[0][0],
            confidence=top[0][1],
            alternatives=tuple(top[1:]),
            out_of_scope=top[0][1] < self.oos_threshold,
            backend=backend,
        )


def _new_vectorizer() -> FeatureUnion:
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
                ),
            ),
        ]
    )


def _tfidf_block(vec: FeatureUnion, texts: Sequence[str]) -> sparse.csr_matrix:
    # Each sub-vectoriser is L2-normalised; halving the squared norm keeps the
    # TF-IDF block on the same scale as the unit-length embedding.
    # The sub-vectorisers are called directly: FeatureUnion.transform goes through
    # joblib and costs milliseconds per message for nothing.
    blocks = [step.transform(list(texts)) for _, step in vec.transformer_list]
    return sparse.hstack(blocks).tocsr() / np.sqrt(2.0)


def _embed(texts: Sequence[str]) -> np.ndarray | None:
    try:
        return enc.get_encoder().encode(list(texts))
    except enc.EncoderUnavailable:
        return None


def _fit_head(x: sparse.csr_matrix, labels: Sequence[str], c: float) -> Head:
    lr = LogisticRegression(C=c, max_iter=3000)
    lr.fit(x, labels)
    coef, intercept = lr.coef_, lr.intercept_
    if coef.shape[0] == 1:
        # Two classes give one logit z; softmax over (-z/2, z/2) equals sigmoid(z).
        coef, intercept = (
            np.vstack([-coef / 2, coef / 2]),
            np.r_[-intercept, intercept] / 2,
        )
    return Head(
        np.ascontiguousarray(coef.T, dtype=np.float32), intercept.astype(np.float32)
    )


def settings_for(texts_per_class: float) -> tuple[float, float]:
    """(C, embedding weight) for a training set of this size per intent."""
    for most, c, weight in SMALL_DATA_SETTINGS:
        if texts_per_class <= most:
            return c, weight
    return DEFAULT_C, 1.0


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    embeddings: np.ndarray | None = None,
    use_embeddings: bool = True,
    c: float | None = None,
) -> IntentModel:
    """Fit vectoriser and heads. ``embeddings`` may be passed to skip encoding.

    ``manage.py triage_train`` calls this with BANKING77 plus the desk's own
    resolved tickets, where an agent's corrected category is the label. ``c``
    overrides the penalty chosen from the training-set size.
    """
    classes = sorted(set(labels))
    auto_c, weight = settings_for(len(texts) / len(classes))
    c = auto_c if c is None else c
    vec = _new_vectorizer().fit(list(texts))
    tfidf = _tfidf_block(vec, texts)
    heads = {"tfidf": _fit_head(tfidf, labels, c)}
    if use_embeddings:
        emb = embeddings if embeddings is not None else _embed(texts)
        if emb is not None:
            x = sparse.hstack([tfidf, weight * emb]).tocsr()
            head = _fit_head(x, labels, c)
            # Fold the weight into the embedding rows of the head, so serving
            # feeds the raw embedding and the model file keeps its shape.
            head.coef_t[-emb.shape[1] :] *= weight
            heads["tfidf+minilm"] = head
    meta = {"n_train": len(texts), "C": c, "embedding_weight": weight}
    return IntentModel(vec, classes, heads, meta=meta)


def save(model: IntentModel, path: Path = MODEL_PATH) -> None:
    joblib.dump(model, path, compress=3)


_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load(path: Path) -> IntentModel:
    return joblib.load(path)


def load(path: Path = MODEL_PATH) -> IntentModel:
    """The shipped (or retrained) model, loaded once per process."""
    with _lock:
        return _load(path)
