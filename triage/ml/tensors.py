"""Reading .safetensors files without copying them.

The format is an 8-byte little-endian header length, a JSON header of
name -> dtype/shape/offsets, then raw little-endian data. safetensors.numpy
copies every tensor into memory, which would double the encoder's footprint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


@dataclass(frozen=True)
class TensorInfo:
    dtype: str  # safetensors name: "F32", ...
    shape: tuple[int, ...]
    offset: int  # from the start of the file
    length: int  # bytes


def read_header(file: Path) -> dict[str, TensorInfo]:
    """Where each tensor lies in the file, without reading any data."""
    with open(file, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
    base = 8 + header_len
    return {
        name: TensorInfo(
            dtype=info["dtype"],
            shape=tuple(info["shape"]),
            offset=base + info["data_offsets"][0],
            length=info["data_offsets"][1] - info["data_offsets"][0],
        )
        for name, info in header.items()
        if name != "__metadata__"
    }


def read_safetensors(file: Path) -> dict[str, np.ndarray]:
    """Read-only memory maps of every tensor in a .safetensors file."""
    out = {}
    for name, info in read_header(file).items():
        dtype = np.dtype(_DTYPES[info.dtype]).newbyteorder("<")
        count = info.length // dtype.itemsize
        arr = np.memmap(file, dtype=dtype, mode="r", offset=info.offset, shape=count)
        out[name] = arr.reshape(info.shape)
    return out
