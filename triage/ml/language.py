"""Language detection with lingua, restricted to the desk's configured languages.

Restricting the candidate set is what makes short messages reliable (and keeps
memory down: lingua loads models per language, lazily). A detector per language
set is built once and cached for the life of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

DEFAULT_LANGUAGES = (
    "en", "sv", "de", "fr", "es", "it", "nl", "pt", "pl", "fi", "da", "no", "ar",
    "tr", "ja", "zh",
)  # fmt: skip
DEFAULT_LANGUAGE = "en"
MIN_LETTERS = 4  # below this nothing is reliable: answer the default, unsure
MIN_CONFIDENCE = 0.5

# lingua knows Norwegian as Bokmål and Nynorsk; the desk knows "no".
_ALIASES_IN = {"no": ("nb", "nn")}
_ALIASES_OUT = {"nb": "no", "nn": "no"}


@dataclass(frozen=True)
class LanguageGuess:
    code: str  # ISO 639-1
    confidence: float
    reason: str


def _lingua_codes(languages: Iterable[str]) -> list[IsoCode639_1]:
    codes: list[IsoCode639_1] = []
    for lang in languages:
        for code in _ALIASES_IN.get(lang, (lang,)):
            codes.append(IsoCode639_1.from_str(code))
    return codes


_lock = threading.Lock()


@lru_cache(maxsize=8)
def _detector(languages: tuple[str, ...], high_accuracy: bool) -> LanguageDetector:
    codes = _lingua_codes(languages)
    if len(codes) < 2:
        raise ValueError("configure at least two languages")
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    # High-accuracy mode loads every n-gram order: ~330 MB for 16 languages
    # against ~35 MB for trigrams only, which still separate whole sentences.
    return (builder if high_accuracy else builder.with_low_accuracy_mode()).build()


def get_detector(
    languages: Iterable[str] = DEFAULT_LANGUAGES, high_accuracy: bool = False
) -> LanguageDetector:
    key = tuple(sorted(set(languages)))
    with _lock:
        return _detector(key, high_accuracy)


def detect_language(
    text: str,
    languages: Iterable[str] = DEFAULT_LANGUAGES,
    default: str = DEFAULT_LANGUAGE,
) -> LanguageGuess:
    """ISO 639-1 code and confidence; short or ambiguous text gets ``default``."""
    languages = tuple(languages)
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return LanguageGuess(default, 0.1, "too short to tell")
    scores: dict[str, float] = {}
    for value in get_detector(languages).compute_language_confidence_values(text):
        code = value.language.iso_code_639_1.name.lower()
        code = _ALIASES_OUT.get(code, code)
        scores[code] = scores.get(code, 0.0) + value.value
    if not scores:
        return LanguageGuess(default, 0.1, "no candidate language")
    code, conf = max(scores.items(), key=lambda kv: kv[1])
    if conf < MIN_CONFIDENCE:
        return LanguageGuess(default, round(conf, 3), f"ambiguous (best guess {code})")
    return LanguageGuess(code, round(conf, 3), "lingua")
