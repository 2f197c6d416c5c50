"""Which ticket does an inbound message belong to? Pure rules, injected lookups.

Order of evidence, strongest first:

1. Message-IDs: In-Reply-To and the whole References chain, plus the
   message's own Message-ID, against every id the desk has seen or sent.
2. A reply token in a recipient address (``support+<token>@domain``).
3. A subject tag (``[#ABC123]``), only when the sender already takes part in
   that ticket, so a stranger quoting a ticket number cannot get in.

Arrival order: the caller should index a stored message under its own
Message-ID *and* every id it references (``index_ids``). A reply that arrives
before its parent then claims the parent's id, and when the parent arrives
its own Message-ID is found, so both land in the same ticket whatever the
order, as long as the chains share one id (References carry the root).

Reply tokens are ``<ref>-<hmac>``: the ticket reference (what the subject tag
shows) plus a truncated HMAC-SHA256 of it under a server secret. Signed rather
than random because the token must resist guessing (the reference is public)
yet needs no stored per-ticket secret and no lookup to reject forgeries;
rotation works by passing the previous secret in ``old_secrets``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .mime import ParsedEmail

TicketId = Hashable
SIGNATURE_CHARS = 10
_TAG = re.compile(r"\[#([A-Z0-9]{3,16})\]", re.IGNORECASE)
_REF = re.compile(r"^[A-Za-z0-9]{1,32}$")


def make_token(ticket_ref: str, *, secret: bytes) -> str:
    """A reply token for a ticket; lower case because some MTAs fold case."""
    if not _REF.match(ticket_ref):
        raise ValueError(f"ticket reference must be alphanumeric: {ticket_ref!r}")
    return f"{ticket_ref.lower()}-{_signature(ticket_ref, secret)}"


def reply_address(token: str, *, mailbox: str, domain: str) -> str:
    return f"{mailbox}+{token}@{domain}"


def _signature(ticket_ref: str, secret: bytes) -> str:
    digest = hmac.new(secret, ticket_ref.lower().encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:SIGNATURE_CHARS]


def parse_token(
    address: str, *, secret: bytes, old_secrets: Sequence[bytes] = ()
) -> str | None:
    """The ticket reference (upper case) in ``mailbox+token@domain``, if genuine."""
    local = address.strip().strip("<>").rpartition("@")[0]
    if "+" not in local:
        return None
    ref, _, signature = local.split("+", 1)[1].lower().rpartition("-")
    if not (ref and _REF.match(ref)):
        return None
    for key in (secret, *old_secrets):
        if hmac.compare_digest(signature, _signature(ref, key)):
            return ref.upper()
    return None


def find_token(
    parsed: ParsedEmail, *, secret: bytes, old_secrets: Sequence[bytes] = ()
) -> str | None:
    """First genuine token among To, Cc and Delivered-To style addresses."""
    addresses = [a.email for a in (*parsed.to, *parsed.cc)] + parsed.delivered_to
    for address in addresses:
        ref = parse_token(address, secret=secret, old_secrets=old_secrets)
        if ref:
            return ref
    return None


def subject_tags(subject: str) -> list[str]:
    return [tag.upper() for tag in _TAG.findall(subject)]


def index_ids(parsed: ParsedEmail) -> list[str]:
    """Every id a stored message should be findable under (see module doc)."""
    own = [parsed.message_id] if parsed.message_id else []
    return list(dict.fromkeys(own + parsed.thread_ids))


@dataclass(frozen=True)
class ThreadMatch:
    ticket: TicketId | None
    method: str  # "message_id", "token", "subject_tag" or "none"
    key: str | None = None
    conflicts: tuple[TicketId, ...] = ()  # other tickets the ids point at
    refused_tag: str | None = None  # a tag quoted by a non-participant


NO_MATCH = ThreadMatch(ticket=None, method="none")


def choose_thread(
    parsed: ParsedEmail,
    *,
    find_by_message_ids: Callable[[list[str]], Mapping[str, TicketId]],
    find_by_token: Callable[[str], TicketId | None],
    find_by_subject_tag: Callable[[str], TicketId | None],
    is_participant: Callable[[TicketId, str], bool],
    secret: bytes,
    old_secrets: Sequence[bytes] = (),
    extra_ids: Sequence[str] = (),
) -> ThreadMatch:
    """Pick the ticket for ``parsed``; ``ticket`` is None for a new one.

    ``find_by_message_ids`` gets every candidate id at once (one query) and
    returns the known ones mapped to their ticket. ``extra_ids`` are weaker
    ids to try last, such as the bounced Message-ID of a bounce
    (``noise.classify(parsed).original_message_id``).
    """
    by_id = _by_message_ids(parsed, find_by_message_ids, extra_ids)
    if by_id:
        return by_id
    ref = find_token(parsed, secret=secret, old_secrets=old_secrets)
    ticket = find_by_token(ref) if ref else None
    if ticket is not None:
        return ThreadMatch(ticket=ticket, method="token", key=ref)
    return _by_subject_tag(parsed, find_by_subject_tag, is_participant)


def _by_message_ids(
    parsed: ParsedEmail,
    lookup: Callable[[list[str]], Mapping[str, TicketId]],
    extra_ids: Sequence[str],
) -> ThreadMatch | None:
    candidates = list(dict.fromkeys([*index_ids(parsed), *extra_ids]))
    if not candidates:
        return None
    known = lookup(candidates)
    # Nearest evidence first: own id, In-Reply-To, then References newest first.
    hits = [(i, known[i]) for i in candidates if i in known]
    if not hits:
        return None
    key, ticket = hits[0]
    others = tuple(dict.fromkeys(t for _, t in hits if t != ticket))
    return ThreadMatch(ticket=ticket, method="message_id", key=key, conflicts=others)


def _by_subject_tag(
    parsed: ParsedEmail,
    lookup: Callable[[str], TicketId | None],
    is_participant: Callable[[TicketId, str], bool],
) -> ThreadMatch:
    sender = parsed.from_address.email if parsed.from_address else ""
    refused = None
    for tag in subject_tags(parsed.subject):
        ticket = lookup(tag)
        if ticket is None:
            continue
        if sender and is_participant(ticket, sender):
            return ThreadMatch(ticket=ticket, method="subject_tag", key=tag)
        refused = refused or tag
    return ThreadMatch(ticket=None, method="none", refused_tag=refused)


class ThreadIndex:
    """In-memory reference implementation of the rules, for tests and benches.

    The database layer does the same with a table of (message_id, ticket).
    """

    def __init__(self, *, secret: bytes = b"") -> None:
        self.secret = secret
        self.ticket_of: dict[str, int] = {}
        self.participants: dict[int, set[str]] = {}
        self.tags: dict[str, int] = {}
        self._next = 0

    def add(
        self,
        parsed: ParsedEmail,
        *,
        extra_ids: Sequence[str] = (),
        may_open: bool = True,
    ) -> tuple[int | None, ThreadMatch]:
        """Thread one message. Noise (``may_open=False``) that matches nothing
        opens no ticket and claims no ids, so it cannot capture a thread."""
        match = choose_thread(
            parsed,
            find_by_message_ids=self._known,
            find_by_token=self.tags.get,
            find_by_subject_tag=self.tags.get,
            is_participant=lambda t, e: e.lower() in self.participants.get(t, ()),
            secret=self.secret,
            extra_ids=extra_ids,
        )
        if match.ticket is None and not may_open:
            return None, match
        ticket = match.ticket if match.ticket is not None else self._new_ticket()
        for message_id in index_ids(parsed):
            self.ticket_of.setdefault(message_id, ticket)
        if parsed.from_address:
            self.participants[ticket].add(parsed.from_address.email.lower())
        return ticket, match

    def _known(self, ids: Iterable[str]) -> dict[str, int]:
        return {i: self.ticket_of[i] for i in ids if i in self.ticket_of}

    def _new_ticket(self) -> int:
        self._next += 1
        self.participants[self._next] = set()
        self.tags[f"T{self._next:05d}"] = self._next
        return self._next
