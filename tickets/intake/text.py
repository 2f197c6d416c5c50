"""Text helpers for intake: tolerant charset decoding, HTML and quoted history.

Everything here returns clean ``str`` (no NULs, no lone surrogates) because the
results end up in database text columns, where PostgreSQL rejects both.
"""

from __future__ import annotations

import codecs
import html as html_lib
import re
from email.header import decode_header

import nh3
from mailparser_reply import EmailMessage
from mailparser_reply.constants import MAIL_LANGUAGES

# Labels seen in real mail that Python does not know, or knows under a
# narrower name. Windows code pages are supersets of what senders mislabel as
# ISO-8859-1 / Shift_JIS / EUC-KR / GB2312, so decoding with them loses nothing.
CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "x-unknown": "",
    "unknown-8bit": "",
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_BLOCK_TAGS = re.compile(
    r"<\s*(?:br|/p|/div|/tr|/h[1-6]|li|/li|/blockquote|/table)\b[^>]*>", re.IGNORECASE
)

# Reply stripping runs regexes per message; a bounded input keeps the worst
# case bounded. The newest reply sits at the top, so nothing useful is cut.
REPLY_SCAN_CHARS = 32_000
_REPLY_LANGUAGES = tuple(lang for lang in MAIL_LANGUAGES if len(lang) == 2)
_QUOTE_HEADER = re.compile(r"(?m)^(?!>)[^\n]{5,300}:[ \t]*\n(?:[ \t]*\n)?>")
_SEPARATOR_LINES = re.compile(r"(?m)^\s*[-=_*]{2,}.*?[-=_*]{2,}\s*$")
_SURROGATES = re.compile("[\ud800-\udfff]")


def _compiled_reply_patterns() -> dict[str, re.Pattern]:
    # The library compiles its (large) patterns per message, and they fall out
    # of re's cache under load; build them once and hand them in.
    probe = EmailMessage(text="", languages=list(_REPLY_LANGUAGES))
    return {
        "_header_regex": probe.HEADER_REGEX,
        "_disclaimers_regex": probe.DISCLAIMERS_REGEX,
        "_signature_regex": probe.SIGNATURE_REGEX,
    }


_REPLY_PATTERNS = _compiled_reply_patterns()


def codec_for(label: str | None) -> str | None:
    """Return a Python codec name for a MIME charset label, or None if unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = CHARSET_ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, list[str]]:
    """Decode body bytes, never failing; return the text and any defects.

    UTF-8 mislabelled as a single-byte charset is the most common mistake, and
    UTF-8 decodes strictly almost never by accident, so it goes first for those
    labels; otherwise the declared charset goes first. The last resort is the
    declared charset (or cp1252) with replacement characters.
    """
    defects: list[str] = []
    codec = codec_for(charset)
    if charset and codec is None:
        defects.append(f"unknown_charset:{charset[:40]}")
    order = ("utf-8", codec) if _single_byte(codec) else (codec, "utf-8")
    for candidate in order:
        if candidate is None:
            continue
        try:
            return _newlines(clean_text(data.decode(candidate))), defects
        except (UnicodeDecodeError, LookupError):
            continue
    defects.append("invalid_bytes_for_charset")
    text = data.decode(codec or "cp1252", errors="replace")
    return _newlines(clean_text(text)), defects


def _single_byte(codec: str | None) -> bool:
    return (
        codec is None
        or codec in ("cp1252", "ascii")
        or codec.startswith(("iso8859", "latin", "cp125", "koi8", "mac-"))
    )


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_text(text: str, hint: str | None = None) -> str:
    """Drop NULs and other C0 controls; recover or replace stray surrogates."""
    if _has_surrogates(text):
        text = unescape_surrogates(text, hint)
    return _CONTROL.sub("", text)


def _has_surrogates(text: str) -> bool:
    return _SURROGATES.search(text) is not None


def unescape_surrogates(text: str, hint: str | None = None) -> str:
    """Recover raw 8-bit bytes the parser kept as surrogates.

    UTF-8 first (RFC 6532); else ``hint``, the message's body charset, since
    old clients put raw GB2312 or Big5 in headers in the body's charset.
    """
    raw = text.encode("utf-8", errors="surrogateescape")
    for codec in ("utf-8", codec_for(hint)):
        try:
            return raw.decode(codec) if codec else raw.decode("cp1252", "replace")
        except UnicodeDecodeError:
            continue
    return raw.decode("cp1252", errors="replace")


def decode_header_value(value: str, hint: str | None = None) -> str:
    """Decode RFC 2047 encoded-words with tolerant charsets; unfold lines."""
    value = unescape_surrogates(value, hint) if _has_surrogates(value) else value
    value = re.sub(r"\r?\n[ \t]*", " ", value)
    if "=?" not in value:
        return clean_text(value).strip()
    try:
        chunks = decode_header(value)
    except Exception:  # noqa: BLE001 - any header is better than a crash
        return clean_text(value).strip()
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_bytes(chunk, charset)[0])
    return clean_text("".join(out)).strip()


def _drop_remote_images(element: str, attribute: str, value: str) -> str | None:
    # Remote images are tracking beacons; agents see inline (cid:) images only.
    if element == "img" and attribute == "src" and not value.startswith("cid:"):
        return None
    return value


# Built once: nh3.clean() builds the same sanitiser again on every call.
_SANITIZER = nh3.Cleaner(
    url_schemes={"http", "https", "mailto", "cid"},
    attribute_filter=_drop_remote_images,
)


def sanitize_html(html: str) -> str:
    """Sanitise HTML for display to agents; keep ``cid:`` images."""
    return _SANITIZER.clean(html)


def html_to_text(html: str) -> str:
    """Plain text from HTML for messages that have no text part."""
    marked = _BLOCK_TAGS.sub(lambda m: "\n" + m.group(0), html)
    stripped = nh3.clean(marked, tags=set())
    text = html_lib.unescape(stripped).replace("\xa0", " ")
    return _BLANK_LINES.sub("\n\n", clean_text(text)).strip()


def strip_reply(text: str) -> tuple[str, list[str]]:
    """The newest reply without quoted history or signature, for triage."""
    if not text.strip():
        return "", []
    try:
        message = EmailMessage(
            text=text[:REPLY_SCAN_CHARS],
            languages=list(_REPLY_LANGUAGES),
            **_REPLY_PATTERNS,
        )
        reply = message.read().latest_reply
    except Exception:  # noqa: BLE001 - keep the full text rather than fail
        return text.strip(), ["reply_strip_failed"]
    reply = _cut_quote_header((reply or text).strip())
    if not _SEPARATOR_LINES.sub("", reply).strip():
        # Only a "---- Forwarded message ----" line was left: a forward's
        # content is what the customer is sending, so keep all of it.
        return text.strip(), []
    return reply, []


def _cut_quote_header(text: str) -> str:
    # Language-independent backstop for attribution lines the library misses
    # ("X wrote:" in any language): a line ending in ":" right before a quote.
    found = _QUOTE_HEADER.search(text)
    return text[: found.start()].strip() if found and found.start() else text
