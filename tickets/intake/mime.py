"""Parse one raw email into plain values, never raising.

``parse_email`` is the only entry point. Whatever the input, it returns a
``ParsedEmail``; problems become ``defects`` and, when nothing meaningful could
be recovered, a ``quarantine_reason``. The caller stores the raw bytes first
and everything here second, so a message is never lost to a parser bug.

Headers are read raw and decoded here with tolerant charsets rather than
through the modern header registry: it is strict about charsets, slow on
huge headers, and a 135 KB ``To:`` must not stall the messages behind it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser

from . import recovery
from . import text as textmod
from .cached_policy import POLICY
from .filenames import safe_filename
from .headers import MAX_ADDRESSES, Address, message_ids, parse_addresses, parse_date

MAX_DEPTH = 20
MAX_PARTS = 2_000
MAX_MULTIPARTS = 200
MAX_HEADER_CHARS = 64_000
MAX_HEADERS_KEPT = 300
MAX_REFERENCES = 200
DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_MULTIPART = re.compile(rb"(?i)content-type:\s*multipart/")


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    size: int
    content: bytes
    content_id: str | None = None
    inline: bool = False
    original_filename: str | None = None
    rejected_reason: str | None = None
    sha256: str = ""


@dataclass
class ParsedEmail:
    content_hash: str
    raw_size: int
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_address: Address | None = None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    return_path: str | None = None
    date: datetime | None = None
    content_type: str = "text/plain"
    report_type: str | None = None
    part_types: list[str] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    html: str = ""
    reply_text: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    enclosed_message_ids: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    quarantine_reason: str | None = None

    def header(self, name: str) -> str | None:
        """First value of a header (decoded), case-insensitive."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    @property
    def has_content(self) -> bool:
        parts = (self.subject, self.text, self.html)
        return any(p.strip() for p in parts) or bool(self.attachments)

    @property
    def thread_ids(self) -> list[str]:
        """Ids this message points at, nearest first: In-Reply-To, References."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids += [i for i in reversed(self.references) if i not in ids]
        return ids


def parse_email(
    raw: bytes,
    *,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    allowed_types: Collection[str] | None = None,
) -> ParsedEmail:
    """Parse raw RFC 5322 bytes. Never raises.

    ``allowed_types`` holds content types (``image/png``) or families
    (``image/*``); ``None`` allows every type. Rejected attachments are still
    listed, with ``rejected_reason`` set and no content (the raw message keeps
    the bytes).
    """
    parsed = ParsedEmail(
        content_hash=hashlib.sha256(raw).hexdigest(), raw_size=len(raw)
    )
    if not raw.strip():
        parsed.quarantine_reason = "empty message"
        return parsed
    try:
        msg = _parse_tree(raw, parsed)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"
        parsed.quarantine_reason = f"unparseable: {type(exc).__name__}"
        return parsed
    limits = _Limits(max_attachment_bytes, allowed_types)
    for step in (_read_headers, lambda m, p: _read_body(m, p, limits)):
        try:
            step(msg, parsed)
        except Exception as exc:  # noqa: BLE001
            parsed.defects.append(f"parse_error:{type(exc).__name__}")
    _finish(parsed)
    return parsed


def _parse_tree(raw: bytes, parsed: ParsedEmail) -> Message:
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
        parsed.defects.append("bom_before_headers")
    if b"\x00" in raw:
        parsed.defects.append("nul_bytes")
    # The exact count scans the whole message case-insensitively; a plain
    # count first skips it for all but the suspicious few.
    suspicious = raw.lower().count(b"multipart/") > MAX_MULTIPARTS
    if suspicious and len(_MULTIPART.findall(raw)) > MAX_MULTIPARTS:
        # The stdlib parser checks every line against every open boundary:
        # quadratic in nesting, so a 50 KB message could stall the worker.
        parsed.defects.append("nesting_too_deep")
        return BytesParser(policy=POLICY).parsebytes(raw, headersonly=True)
    try:
        msg = BytesParser(policy=POLICY).parsebytes(raw)
        if not msg.keys() and recovery.has_obsolete_headers(raw):
            # RFC 5322 section 4.5 allows "Name :"; the parser does not.
            parsed.defects.append("obsolete_header_syntax")
            msg = BytesParser(policy=POLICY).parsebytes(
                recovery.fix_obsolete_headers(raw)
            )
        return msg
    except RecursionError:
        # The parser recurses per nesting level; keep the headers at least.
        parsed.defects.append("nesting_too_deep")
        parsed.quarantine_reason = "MIME nesting too deep to parse"
        return BytesParser(policy=POLICY).parsebytes(raw, headersonly=True)


def _finish(parsed: ParsedEmail) -> None:
    if parsed.text and not parsed.reply_text:
        parsed.reply_text, defects = textmod.strip_reply(parsed.text)
        parsed.defects += defects
    if parsed.quarantine_reason:
        return
    if "nesting_too_deep" in parsed.defects:
        parsed.quarantine_reason = f"MIME nesting deeper than {MAX_DEPTH} levels"
    elif not parsed.headers:
        parsed.quarantine_reason = "no headers found"
    elif not parsed.has_content:
        parsed.quarantine_reason = "no readable content recovered"


# --- headers ---------------------------------------------------------------


def _raw_headers(msg: Message) -> Iterator[tuple[str, str]]:
    for name, value in msg.raw_items():
        yield textmod.clean_text(str(name)).strip(), str(value)


def _read_headers(msg: Message, parsed: ParsedEmail) -> None:
    hint = _charset_hint(msg)
    for name, value in _raw_headers(msg):
        if len(value) > MAX_HEADER_CHARS:
            parsed.defects.append(f"huge_header:{name[:40]}")
            value = value[:MAX_HEADER_CHARS]
        if len(parsed.headers) < MAX_HEADERS_KEPT:
            parsed.headers.append((name, textmod.decode_header_value(value, hint)))
        try:
            _apply_header(parsed, name.lower(), value, hint)
        except Exception as exc:  # noqa: BLE001 - one bad header, not the message
            parsed.defects.append(f"bad_header:{name[:40]}:{type(exc).__name__}")
    parsed.defects += [f"mime:{type(d).__name__}" for d in msg.defects][:20]


def _charset_hint(msg: Message) -> str | None:
    """The first declared body charset, for raw 8-bit bytes in headers."""
    for part in msg.walk():
        charset = part.get_content_charset()
        if charset and charset not in ("us-ascii", "utf-8"):
            return charset
    return None


def _apply_header(parsed: ParsedEmail, name: str, value: str, hint: str | None) -> None:
    if name == "message-id" and parsed.message_id is None:
        parsed.message_id = next(iter(message_ids(value)), None)
    elif name == "in-reply-to" and parsed.in_reply_to is None:
        parsed.in_reply_to = next(iter(message_ids(value)), None)
    elif name == "references" and not parsed.references:
        parsed.references = message_ids(value)[-MAX_REFERENCES:]
    elif name == "subject" and not parsed.subject:
        parsed.subject = textmod.decode_header_value(value, hint)
    elif name == "from" and parsed.from_address is None:
        parsed.from_address = next(iter(parse_addresses(value, hint)), None)
    elif name in ("to", "cc", "reply-to"):
        target = getattr(parsed, name.replace("-", "_"))
        target += parse_addresses(value, hint)[: MAX_ADDRESSES - len(target)]
    elif name in ("delivered-to", "x-original-to", "envelope-to"):
        parsed.delivered_to += [a.email for a in parse_addresses(value)]
    elif name == "return-path" and parsed.return_path is None:
        parsed.return_path = value.strip().strip("<>").strip()
    elif name == "date" and parsed.date is None:
        parsed.date = parse_date(value)


# --- body ------------------------------------------------------------------


@dataclass(frozen=True)
class _Limits:
    max_bytes: int
    allowed_types: Collection[str] | None

    def reject_reason(self, content_type: str, size: int) -> str | None:
        if size > self.max_bytes:
            return f"too large: {size} bytes > {self.max_bytes}"
        if self.allowed_types is None:
            return None
        family = content_type.split("/")[0] + "/*"
        if content_type in self.allowed_types or family in self.allowed_types:
            return None
        return f"type not allowed: {content_type}"


def _read_body(msg: Message, parsed: ParsedEmail, limits: _Limits) -> None:
    parsed.content_type = msg.get_content_type()
    if parsed.content_type == "multipart/report":
        parsed.report_type = (msg.get_param("report-type") or "").lower() or None
    plains: list[str] = []
    htmls: list[str] = []
    for part, related in _walk(msg, parsed):
        _read_part(part, related, parsed, limits, (plains, htmls))
    html = "\n".join(htmls)
    parsed.html = textmod.sanitize_html(html) if html else ""
    parsed.text = "\n\n".join(p.strip() for p in plains if p.strip())
    if not parsed.text and html:
        parsed.text = textmod.html_to_text(html)


def _walk(msg: Message, parsed: ParsedEmail) -> Iterator[tuple[Message, bool]]:
    """Leaf parts depth-first, iteratively, with depth and count caps."""
    stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]
    seen = 0
    while stack:
        part, depth, related = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            parsed.defects.append("too_many_parts")
            return
        payload = part.get_payload()
        flat = isinstance(payload, str) and "nesting_too_deep" not in parsed.defects
        if part.get_content_maintype() == "multipart" and flat:
            recovered = recovery.recover_parts(part, payload)
            parsed.defects += ["boundary_recovered"] if recovered else []
            payload = recovered or payload
        if part.get_content_maintype() == "multipart" and isinstance(payload, list):
            if depth >= MAX_DEPTH:
                parsed.defects.append("nesting_too_deep")
                continue
            is_related = related or part.get_content_subtype() == "related"
            stack += [(p, depth + 1, is_related) for p in reversed(payload)]
            continue
        yield part, related


def _read_part(
    part: Message,
    related: bool,
    parsed: ParsedEmail,
    limits: _Limits,
    bodies: tuple[list[str], list[str]],
) -> None:
    ctype = part.get_content_type()
    parsed.part_types.append(ctype)
    disposition = part.get_content_disposition()
    filename = _filename(part, parsed)
    if _is_body(ctype, disposition, filename, part):
        text, defects = textmod.decode_bytes(_payload(part), part.get_content_charset())
        parsed.defects += defects
        bodies[ctype == "text/html"].append(text)
        return
    content = _attachment_bytes(part, ctype, parsed)
    _add_attachment(part, related, parsed, limits, (ctype, filename, content))


def _is_body(ctype: str, disposition: str | None, filename: str | None, part: Message):
    if ctype.startswith("multipart/") and not filename:
        return True  # a multipart whose parts could not be found: show it as text
    if ctype not in ("text/plain", "text/html") or filename:
        return False
    return disposition != "attachment"


def _filename(part: Message, parsed: ParsedEmail) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - broken RFC 2231 parameters
        parsed.defects.append("bad_filename_parameter")
        return None
    return textmod.decode_header_value(str(name)) if name else None


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return (
        payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    )


def _attachment_bytes(part: Message, ctype: str, parsed: ParsedEmail) -> bytes:
    payload = part.get_payload()
    if not (isinstance(payload, list) and payload):
        return _payload(part)
    if ctype == "message/delivery-status":  # one header block per recipient
        return b"\n".join(_as_bytes(block, ctype, parsed) for block in payload)
    inner = payload[0]  # message/rfc822 and friends: keep the enclosed message
    parsed.enclosed_message_ids += message_ids(str(inner.get("Message-ID", "") or ""))
    return _as_bytes(inner, ctype, parsed)


def _as_bytes(msg: Message, ctype: str, parsed: ParsedEmail) -> bytes:
    try:
        return msg.as_bytes(policy=policy.compat32)
    except Exception:  # noqa: BLE001
        parsed.defects.append(f"unserialisable_part:{ctype}")
        return b""


def _add_attachment(
    part: Message,
    related: bool,
    parsed: ParsedEmail,
    limits: _Limits,
    data: tuple[str, str | None, bytes],
) -> None:
    ctype, original, content = data
    if ctype == "text/rfc822-headers":
        headers = textmod.decode_bytes(content, "utf-8")[0]
        found = re.search(r"(?im)^message-id:\s*(.+)$", headers)
        parsed.enclosed_message_ids += message_ids(found.group(1)) if found else []
    cid = next(iter(message_ids(str(part.get("Content-ID", "") or ""))), None)
    disposition = part.get_content_disposition()
    reason = limits.reject_reason(ctype, len(content))
    parsed.attachments.append(
        ParsedAttachment(
            filename=safe_filename(
                original or _default_name(part, ctype), content_type=ctype
            ),
            content_type=ctype,
            size=len(content),
            content=b"" if reason else content,
            content_id=cid,
            inline=disposition == "inline"
            or (bool(cid) and related and disposition is None),
            original_filename=original,
            rejected_reason=reason,
            sha256=hashlib.sha256(content).hexdigest(),
        )
    )


def _default_name(part: Message, ctype: str) -> str:
    if ctype == "message/delivery-status":
        return "delivery-status.txt"
    if ctype.startswith("message/"):
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            subject = textmod.decode_header_value(
                str(payload[0].get("Subject", "") or "")
            )
            return safe_filename(subject or "message", max_chars=80) + ".eml"
    return ""
