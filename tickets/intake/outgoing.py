"""Build outgoing replies as ``EmailMessage`` objects; sending is elsewhere.

The Message-ID (and the MIME boundary) derive from the outbox row's
idempotency key, so a retry after a crash rebuilds the same message and a
receiving server, or our own intake seeing it echoed back, recognises the
duplicate. Pass ``date`` from the outbox row to make retries byte-identical.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from .templates import render

MAX_REFERENCES = 20
_REPLY_PREFIX = re.compile(
    r"^\s*((re|aw|sv|vs|antw|réf|rif|r|wg|fw|fwd|tr)\s*(\[\d+\])?\s*:\s*)+",
    re.IGNORECASE,
)


@dataclass
class OutgoingReply:
    idempotency_key: str  # unguessable (uuid4): it determines the Message-ID
    ticket_ref: str
    subject: str  # the ticket's subject, as the customer wrote it
    from_address: str  # "Support <support@example.com>"
    to: Sequence[str]
    reply_to: str  # support+<token>@domain
    text: str
    html: str | None = None  # built from ``text`` when missing
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    cc: Sequence[str] = ()
    automatic: bool = False
    language: str = "en"
    date: datetime | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


def make_message_id(idempotency_key: str, *, domain: str) -> str:
    """A stable ``<...@domain>`` for one outbox entry."""
    digest = hashlib.sha256(idempotency_key.encode()).digest()[:20]
    local = base64.b32encode(digest).decode().rstrip("=").lower()
    return f"<{local}@{domain}>"


def reply_subject(subject: str, ticket_ref: str) -> str:
    """``Re: [#REF] subject`` without stacking prefixes or repeating the tag."""
    tag = f"[#{ticket_ref}]"
    bare = _REPLY_PREFIX.sub("", subject or "").replace(tag, "").strip()
    return f"Re: {tag} {bare}".rstrip()


def references_chain(
    references: Sequence[str], in_reply_to: str | None, *, cap: int = MAX_REFERENCES
) -> list[str]:
    """The References for a reply: the parent's chain plus the parent.

    When too long, keep the first id (the thread root, which every reply then
    shares) and the most recent ones, as RFC 5322 section 3.6.4 suggests.
    """
    chain = list(dict.fromkeys([*references, *([in_reply_to] if in_reply_to else [])]))
    if len(chain) <= cap:
        return chain
    return [chain[0], *chain[-(cap - 1) :]]


def build_reply(reply: OutgoingReply, *, domain: str) -> EmailMessage:
    """A multipart/alternative (text + HTML) reply with threading headers."""
    msg = EmailMessage()
    msg["Message-ID"] = make_message_id(reply.idempotency_key, domain=domain)
    msg["Date"] = format_datetime(reply.date or datetime.now(UTC))
    msg["From"] = reply.from_address
    msg["To"] = ", ".join(reply.to)
    if reply.cc:
        msg["Cc"] = ", ".join(reply.cc)
    msg["Reply-To"] = reply.reply_to
    msg["Subject"] = reply_subject(reply.subject, reply.ticket_ref)
    _threading_headers(msg, reply)
    if reply.automatic:
        # RFC 3834, plus Exchange's switch so its out-of-office stays quiet.
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    for name, value in reply.extra_headers.items():
        msg[name] = value
    msg.set_content(reply.text)
    msg.add_alternative(reply.html or text_to_html(reply.text), subtype="html")
    # After set_content, which drops Content-* headers set before it.
    msg["Content-Language"] = reply.language
    msg.set_boundary("=_" + msg["Message-ID"].strip("<>").split("@")[0])
    return msg


def _threading_headers(msg: EmailMessage, reply: OutgoingReply) -> None:
    if reply.in_reply_to:
        msg["In-Reply-To"] = reply.in_reply_to
    chain = references_chain(reply.references, reply.in_reply_to)
    if chain:
        msg["References"] = " ".join(chain)


def text_to_html(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
    body = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs
    )
    return f"<!DOCTYPE html><html><body>{body}</body></html>"


def acknowledgement(
    language: str, *, ticket_ref: str, name: str = "", hours: int = 24
) -> str:
    return render("acknowledgement", language, ref=ticket_ref, name=name, hours=hours)


def csat_request(language: str, *, ticket_ref: str, good_url: str, bad_url: str) -> str:
    return render("csat", language, ref=ticket_ref, good=good_url, bad=bad_url)
