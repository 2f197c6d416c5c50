"""PII redaction applied before any customer text leaves the process.

Every detector validates what it finds (Luhn, IBAN mod-97, date plausibility,
phone-number metadata) so that order numbers and amounts are not blanked out and
the external model still sees a useful message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

PLACEHOLDERS = {
    "email": "[EMAIL]",
    "iban": "[IBAN]",
    "card": "[CARD]",
    "national_id": "[NATIONAL_ID]",
    "phone": "[PHONE]",
}
# When spans overlap, the earlier kind in this tuple wins.
PRIORITY = ("email", "iban", "card", "national_id", "phone")
DEFAULT_ID_COUNTRIES = ("SE", "US", "GB")
DEFAULT_PHONE_REGIONS = ("SE", "US", "GB", "DE", "FR")


@dataclass(frozen=True)
class PiiMatch:
    """One detected item. ``value`` is the original text: never persist it."""

    kind: str
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class Redaction:
    text: str
    matches: tuple[PiiMatch, ...]

    @property
    def kinds(self) -> list[tuple[str, int, int]]:
        """What was redacted, as (kind, start, end) in the original text."""
        return [(m.kind, m.start, m.end) for m in self.matches]


EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
CARD_RE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
SE_PNR_RE = re.compile(r"(?<!\d)(?:\d{2})?(\d{2})(\d{2})(\d{2})[-+]?(\d{4})(?!\d)")
US_SSN_RE = re.compile(r"(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)")
UK_NI_RE = re.compile(
    r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
    re.IGNORECASE,
)


def luhn_ok(digits: str) -> bool:
    """Luhn checksum, used by payment cards and Swedish personnummer."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    """ISO 13616 mod-97 check; rejects look-alikes such as reference codes."""
    s = candidate.replace(" ", "").upper()
    if not 15 <= len(s) <= 34:
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _cards(text: str) -> Iterable[tuple[int, int]]:
    for m in CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            yield m.span()


def _ibans(text: str) -> Iterable[tuple[int, int]]:
    for m in IBAN_RE.finditer(text):
        # The greedy pattern may swallow a following word; trim until it validates.
        value = m.group()
        while len(value.replace(" ", "")) >= 15:
            if iban_ok(value):
                yield m.start(), m.start() + len(value.rstrip())
                break
            value = value[:-1].rstrip()


def _se_personnummer(text: str) -> Iterable[tuple[int, int]]:
    for m in SE_PNR_RE.finditer(text):
        yy, mm, dd, tail = m.groups()
        day = int(dd) - 60 if int(dd) > 60 else int(dd)  # samordningsnummer
        if 1 <= int(mm) <= 12 and 1 <= day <= 31 and luhn_ok(yy + mm + dd + tail):
            yield m.span()


def _national_ids(text: str, countries: Iterable[str]) -> Iterable[tuple[int, int]]:
    countries = set(countries)
    if "SE" in countries:
        yield from _se_personnummer(text)
    if "US" in countries:
        yield from (m.span() for m in US_SSN_RE.finditer(text))
    if "GB" in countries:
        yield from (m.span() for m in UK_NI_RE.finditer(text))


def _phones(text: str, regions: Iterable[str]) -> Iterable[tuple[int, int]]:
    for region in regions:
        for m in phonenumbers.PhoneNumberMatcher(text, region):
            yield m.start, m.end


def find_pii(
    text: str,
    *,
    id_countries: Iterable[str] = DEFAULT_ID_COUNTRIES,
    phone_regions: Iterable[str] = DEFAULT_PHONE_REGIONS,
) -> list[PiiMatch]:
    """All validated PII in ``text``, non-overlapping, in reading order."""
    found: dict[str, Iterable[tuple[int, int]]] = {
        "email": (m.span() for m in EMAIL_RE.finditer(text)),
        "iban": _ibans(text),
        "card": _cards(text),
        "national_id": _national_ids(text, id_countries),
        "phone": _phones(text, phone_regions),
    }
    taken: list[PiiMatch] = []
    for kind in PRIORITY:
        for start, end in found[kind]:
            if all(end <= t.start or start >= t.end for t in taken):
                taken.append(PiiMatch(kind, start, end, text[start:end]))
    return sorted(taken, key=lambda m: m.start)


def redact(
    text: str,
    *,
    id_countries: Iterable[str] = DEFAULT_ID_COUNTRIES,
    phone_regions: Iterable[str] = DEFAULT_PHONE_REGIONS,
) -> Redaction:
    """Replace every validated item with a placeholder such as ``[CARD]``."""
    matches = find_pii(text, id_countries=id_countries, phone_regions=phone_regions)
    out, pos = [], 0
    for m in matches:
        out.append(text[pos : m.start])
        out.append(PLACEHOLDERS[m.kind])
        pos = m.end
    out.append(text[pos:])
    return Redaction("".join(out), tuple(matches))
