"""Safe attachment file names.

The name a sender gives is data, not a path: it may carry ``../``, drive
letters, NULs, control or bidi characters, Windows device names or 10,000
characters. What comes out is a single path component, safe on any file
system and for a Content-Disposition header, and never empty.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata

MAX_FILENAME_CHARS = 120
FALLBACK_STEM = "attachment"

_UNSAFE = re.compile(r'[<>:"|?*\\/]')
_SPACES = re.compile(r"\s+")
_WINDOWS_DEVICES = {
    "con", "prn", "aux", "nul",
    *(f"com{i}" for i in range(1, 10)),
    *(f"lpt{i}" for i in range(1, 10)),
}  # fmt: skip


def safe_filename(
    name: str | None, *, content_type: str = "", max_chars: int = MAX_FILENAME_CHARS
) -> str:
    """Return a file name that is safe to store and to offer for download."""
    cleaned = _basename(unicodedata.normalize("NFC", name or ""))
    cleaned = "".join(ch for ch in cleaned if _allowed(ch))
    cleaned = _SPACES.sub(" ", _UNSAFE.sub("_", cleaned)).strip(" .")
    if cleaned.split(".")[0].lower() in _WINDOWS_DEVICES:
        cleaned = f"_{cleaned}"
    if not cleaned:
        cleaned = FALLBACK_STEM + _extension_for(content_type)
    return _shorten(cleaned, max_chars)


def _basename(name: str) -> str:
    # Both separators count: a Windows client's "C:\\x\\..\\evil" is a path too.
    return re.split(r"[\\/]", name)[-1]


def _allowed(ch: str) -> bool:
    # Cc: NUL and control characters; Cf: bidi overrides that disguise ".exe".
    return unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")


def _extension_for(content_type: str) -> str:
    ext = mimetypes.guess_extension(content_type or "", strict=False) or ".bin"
    return ext if content_type else ".bin"


def _shorten(name: str, max_chars: int) -> str:
    if len(name) <= max_chars:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        return name[:max_chars].rstrip(" .")
    return stem[: max_chars - len(ext) - 1].rstrip(" .") + "." + ext
