"""Email intake core: pure Python, no Django, no database.

The Django layer (``message_receive``, the IMAP poller, the webhook and
``manage.py ingest_email``) drives it like this, per raw message::

    raw = ...                                   # store these bytes first
    parsed = parse_email(raw, max_attachment_bytes=..., allowed_types=...)
    # dedup: same parsed.message_id, or same parsed.content_hash when None;
    # same Message-ID with a different content_hash is stored and flagged.
    verdict = classify(parsed)                  # human / auto_reply / bounce / list
    match = choose_thread(
        parsed,
        find_by_message_ids=...,                # one query: ids -> ticket
        find_by_token=..., find_by_subject_tag=..., is_participant=...,
        secret=settings.SECRET_KEY.encode(),
        extra_ids=[verdict.original_message_id] if verdict.original_message_id else [],
    )
    # match.ticket None: open a ticket unless verdict.is_noise.
    # Then index the stored message under index_ids(parsed), so a parent that
    # arrives after its reply finds the reply's ticket.

Outgoing replies: ``build_reply(OutgoingReply(...), domain=...)`` returns an
``EmailMessage`` ready for Django's SMTP backend; ``make_token`` and
``reply_address`` give the Reply-To. Files and mailboxes:
``iter_raw_messages(paths)``.
"""

from .mime import Address, ParsedAttachment, ParsedEmail, parse_email
from .noise import NoiseVerdict, classify
from .outgoing import OutgoingReply, acknowledgement, build_reply, csat_request
from .sources import RawMessage, iter_raw_messages
from .threading import (
    ThreadMatch,
    choose_thread,
    find_token,
    index_ids,
    make_token,
    parse_token,
    reply_address,
)

__all__ = [
    "Address",
    "NoiseVerdict",
    "OutgoingReply",
    "ParsedAttachment",
    "ParsedEmail",
    "RawMessage",
    "ThreadMatch",
    "acknowledgement",
    "build_reply",
    "choose_thread",
    "classify",
    "csat_request",
    "find_token",
    "index_ids",
    "iter_raw_messages",
    "make_token",
    "parse_email",
    "parse_token",
    "reply_address",
]
