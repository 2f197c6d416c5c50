"""all-MiniLM-L6-v2's transformer layers as an ONNX Runtime session.

The graph is built at load time from the .safetensors header. Every weight is an
ONNX external-data reference (file, offset, length) into model.safetensors, whose
raw little-endian float32 layout is the one ONNX expects: nothing is converted
or written, and ONNX Runtime reads each matrix once, into its packed GEMM layout.
Only standard opset-17 operators are used; ORT's optimiser fuses what it can.

Inputs: ``embeddings`` (tokens, 384), the summed word + position + token-type
embeddings of n texts padded to seq tokens each, text by text; ``mask_bias``
(n, 1, 1, seq), 0 for real tokens and -1e9 for padding; ``heads_shape``, the
int64 vector [n, seq, 12, 32]. Output: ``hidden`` (tokens, 384).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from triage.ml.tensors import TensorInfo, read_header

if TYPE_CHECKING:
    import onnxruntime

N_LAYERS = 6
N_HEADS = 12
DIM = 384
HEAD_DIM = DIM // N_HEADS
LN_EPS = 1e-12
OPSET = 17


class _Graph:
    """Collects nodes and initializers; each op returns its output's name."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.tensors = read_header(file)
        self.nodes: list = []
        self.initializers: list = []
        self._consts: set[str] = set()

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs) -> str:
        from onnx import helper

        out = out or f"{op_type}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def const(self, name: str, value: float | list[int], dtype=np.float32) -> str:
        """A small constant, added once however often it is used."""
        from onnx import numpy_helper

        if name not in self._consts:
            array = np.array(value, dtype=dtype)
            self.initializers.append(numpy_helper.from_array(array, name))
            self._consts.add(name)
        return name

    def weight(self, name: str) -> str:
        """An initializer that points into the .safetensors file."""
        from onnx import TensorProto

        info: TensorInfo = self.tensors[name]
        if info.dtype != "F32":
            raise ValueError(f"{self.file.name}: {name} is {info.dtype}, not F32")
        t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=info.shape)
        t.data_location = TensorProto.EXTERNAL
        where = (("location", self.file.name), ("offset", info.offset))
        for key, value in (*where, ("length", info.length)):
            t.external_data.add(key=key, value=str(value))
        self.initializers.append(t)
        return name

    def linear(self, x: str, prefix: str) -> str:
        # Gemm with transB reads the (out, in) matrices as stored.
        w, b = self.weight(prefix + ".weight"), self.weight(prefix + ".bias")
        return self.op("Gemm", x, w, b, transB=1)

    def layer_norm(self, x: str, prefix: str) -> str:
        w, b = self.weight(prefix + ".weight"), self.weight(prefix + ".bias")
        return self.op("LayerNormalization", x, w, b, epsilon=LN_EPS)

    def gelu(self, x: str) -> str:
        # BERT uses the exact erf form; the tanh approximation drifts measurably.
        scaled = self.op("Div", x, self.const("sqrt2", np.sqrt(2.0)))
        erf = self.op("Add", self.op("Erf", scaled), self.const("one", 1.0))
        return self.op("Mul", self.op("Mul", x, self.const("half", 0.5)), erf)


def _attention(g: _Graph, h: str, prefix: str) -> str:
    """Twelve-head self-attention; returns the context as (tokens, 384)."""

    def heads(name: str, perm: list[int]) -> str:
        x = g.op("Reshape", g.linear(h, prefix + name), "heads_shape")
        return g.op("Transpose", x, perm=perm)

    q = heads("query", [0, 2, 1, 3])  # (n, heads, seq, head_dim)
    k = heads("key", [0, 2, 3, 1])  # (n, heads, head_dim, seq)
    v = heads("value", [0, 2, 1, 3])
    scores = g.op("Div", g.op("MatMul", q, k), g.const("sqrt_hd", np.sqrt(HEAD_DIM)))
    probs = g.op("Softmax", g.op("Add", scores, "mask_bias"), axis=-1)
    ctx = g.op("Transpose", g.op("MatMul", probs, v), perm=[0, 2, 1, 3])
    return g.op("Reshape", ctx, g.const("rows", [-1, DIM], np.int64))


def _layer(g: _Graph, h: str, p: str) -> str:
    ctx = _attention(g, h, p + "attention.self.")
    attn = g.op("Add", g.linear(ctx, p + "attention.output.dense"), h)
    h = g.layer_norm(attn, p + "attention.output.LayerNorm")
    ff = g.linear(g.gelu(g.linear(h, p + "intermediate.dense")), p + "output.dense")
    return g.layer_norm(g.op("Add", ff, h), p + "output.LayerNorm")


def build_model(file: Path) -> bytes:
    """The serialised ONNX model; its weights stay in ``file``."""
    from onnx import TensorProto, helper

    g = _Graph(file)
    h = g.layer_norm("embeddings", "embeddings.LayerNorm")
    for i in range(N_LAYERS):
        h = _layer(g, h, f"encoder.layer.{i}.")
    g.op("Identity", h, out="hidden")
    f32 = TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("embeddings", f32, ["tokens", DIM]),
        helper.make_tensor_value_info("mask_bias", f32, ["n", 1, 1, "seq"]),
        helper.make_tensor_value_info("heads_shape", TensorProto.INT64, [4]),
    ]
    output = helper.make_tensor_value_info("hidden", f32, ["tokens", DIM])
    graph = helper.make_graph(g.nodes, "minilm", inputs, [output], g.initializers)
    opset = [helper.make_opsetid("", OPSET)]
    return helper.make_model(graph, opset_imports=opset).SerializeToString()


def build_session(file: Path) -> onnxruntime.InferenceSession:
    """A single-threaded session: per-message matrices are too small to gain
    from a second thread, and on a busy host spinning threads multiply tail
    latency. ``run`` is safe to call from several threads at once."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # A model given as bytes resolves external data relative to this folder.
    options.add_session_config_entry(
        "session.model_external_initializers_file_folder_path", str(file.parent)
    )
    return ort.InferenceSession(
        build_model(file), options, providers=["CPUExecutionProvider"]
    )
