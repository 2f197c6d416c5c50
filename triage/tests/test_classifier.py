import pytest

from triage.ml import classifier, encoder
from triage.ml.priority import priority

TINY = (
    [
        "I lost my card",
        "my card was stolen",
        "card stolen on the bus",
        "when will my card arrive",
        "my new card has not arrived",
        "card delivery is late",
    ]
    * 5,
    ["lost", "lost", "lost", "arrival", "arrival", "arrival"] * 5,
)


@pytest.fixture(scope="module")
def model():
    return classifier.load()


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I lost my card, please block it", "lost_or_stolen_card"),
        ("What is the exchange rate for euros?", "exchange_rate"),
        ("My top up failed", "top_up_failed"),
        ("The ATM swallowed my card", "card_swallowed"),
    ],
)
def test_shipped_model_classifies_obvious_messages(model, text, category):
    pred = model.predict(text)
    assert pred.category == category
    assert 0.0 < pred.confidence <= 1.0
    assert len(pred.alternatives) == 2


def test_out_of_domain_question_has_low_confidence(model):
    pred = model.predict("what's the weather like in paris tomorrow")
    assert pred.out_of_scope


def test_tfidf_fallback_when_encoder_is_unavailable(model, monkeypatch):
    monkeypatch.setattr(encoder, "model_dir", lambda: None)
    encoder._cached.cache_clear()
    try:
        pred = model.predict("I lost my card, please block it")
    finally:
        encoder._cached.cache_clear()
    assert pred.backend == "tfidf"
    assert pred.category == "lost_or_stolen_card"


def test_train_without_encoder_gives_tfidf_only_model(monkeypatch):
    monkeypatch.setattr(encoder, "model_dir", lambda: None)
    encoder._cached.cache_clear()
    texts, labels = TINY
    try:
        model = classifier.train(texts, labels)
    finally:
        encoder._cached.cache_clear()
    assert set(model.heads) == {"tfidf"}
    assert model.predict("someone stole my card, it was stolen").category == "lost"


def test_tiny_train_with_embeddings_uses_both_heads():
    texts, labels = TINY
    model = classifier.train(texts, labels)
    pred = model.predict("my card got stolen")
    assert pred.backend == "tfidf+minilm" and pred.category == "lost"


def test_lost_card_is_urgent_and_exchange_rate_is_low():
    assert priority("I lost my card", "lost_or_stolen_card").level == "urgent"
    assert priority("rate?", "exchange_rate").level == "low"


def test_takeover_text_raises_priority_to_urgent():
    p = priority("Someone hacked my account and moved money", "transfer_timing")
    assert p.level == "urgent" and "hacked" in p.reason
