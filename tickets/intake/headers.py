"""Header values: Message-IDs, addresses and dates, parsed leniently."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime

from . import text as textmod

MAX_ADDRESSES = 500

_MSGID = re.compile(r"<([^<>\s]+)>")
_BARE_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""


def message_ids(value: str) -> list[str]:
    """Normalised ``<id>`` values found in a header, in order, no duplicates."""
    found = _MSGID.findall(textmod.clean_text(value))
    if not found and "@" in value and "<" not in value:
        found = [value.strip().split()[0]]  # some MUAs drop the angle brackets
    return list(dict.fromkeys(f"<{i}>" for i in found))


def parse_addresses(value: str, hint: str | None = None) -> list[Address]:
    """Addresses from an address header; display names decoded."""
    value = textmod.clean_text(re.sub(r"\r?\n[ \t]*", " ", value), hint)
    try:
        pairs = getaddresses([value])
    except RecursionError:
        # The stdlib address parser recurses per token; take bare addresses.
        pairs = [("", a) for a in _BARE_ADDRESS.findall(value)]
    out = []
    for name, addr in pairs:
        addr = addr.strip()
        if "@" in addr and len(out) < MAX_ADDRESSES:
            out.append(
                Address(email=addr, name=textmod.decode_header_value(name, hint))
            )
    return out


def parse_date(value: str) -> datetime | None:
    try:
        date = parsedate_to_datetime(textmod.clean_text(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return date if date.tzinfo else date.replace(tzinfo=UTC)
