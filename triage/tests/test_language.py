import pytest

from triage.ml.language import detect_language


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Kan jag få prata med en människa om mitt kort?", "sv"),
        ("Ich möchte mit einem Menschen sprechen", "de"),
        ("Where is my card? I ordered it two weeks ago", "en"),
        ("Haluan puhua ihmisen kanssa", "fi"),
        ("Bir insanla konuşmak istiyorum", "tr"),
        ("我要转人工", "zh"),
        ("Je voudrais parler à un conseiller s'il vous plaît", "fr"),
    ],
)
def test_detects_configured_languages(text, code):
    guess = detect_language(text)
    assert guess.code == code and guess.confidence >= 0.5


def test_short_text_gets_default_with_low_confidence():
    guess = detect_language("ok", default="sv")
    assert guess.code == "sv" and guess.confidence < 0.5


def test_only_configured_languages_are_candidates():
    guess = detect_language("Ich möchte mit einem Menschen sprechen", ["en", "sv"])
    assert guess.code in ("en", "sv")
