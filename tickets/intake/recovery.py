"""Second chances for damaged MIME that the stdlib parser gives up on."""

from __future__ import annotations

import re
from email.message import Message
from email.parser import BytesParser

_OBSOLETE_HEADER = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]+:")
_OBSOLETE_NAME = re.compile(rb"(?m)^([\x21-\x39\x3b-\x7e]+)[ \t]+:")
_HEADER_END = re.compile(rb"\r?\n\r?\n|\r\r")
_BOUNDARY = re.compile(r'boundary\s*=\s*"?([^";\s]+)', re.IGNORECASE)


def has_obsolete_headers(raw: bytes) -> bool:
    """RFC 5322 section 4.5 allows ``Name :``; the stdlib parser does not."""
    return bool(_OBSOLETE_HEADER.match(raw))


def fix_obsolete_headers(raw: bytes) -> bytes:
    found = _HEADER_END.search(raw)
    end = found.start() if found else len(raw)
    return _OBSOLETE_NAME.sub(rb"\1:", raw[:end]) + raw[end:]


def recover_parts(part: Message, body: str) -> list[Message] | None:
    """Parts of a multipart whose boundary parameter was mangled, if findable.

    Unquoted boundaries with ``=`` (``----=_NextPart``) are common in the wild
    and the modern header parser cuts them short; a lenient regex does not.
    """
    raw_ctype = next(
        (v for k, v in part.raw_items() if k.lower() == "content-type"), ""
    )
    found = _BOUNDARY.search(str(raw_ctype))
    if not found or f"--{found.group(1)}" not in body:
        return None
    head = f'Content-Type: multipart/mixed; boundary="{found.group(1)}"\n\n'
    data = (head + body).encode("utf-8", "surrogateescape")
    inner = BytesParser(policy=part.policy).parsebytes(data)
    payload = inner.get_payload()
    return payload if isinstance(payload, list) else None
