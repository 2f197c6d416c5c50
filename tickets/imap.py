"""IMAP polling: read new mail by UID, store it, then mark it on the server.

Progress is a (UIDVALIDITY, last UID) pair per folder, advanced in the same
transaction that stores the message, so a crash re-reads at most the message
in flight (and dedup absorbs it) and never skips one. The server-side mark
(``\\Seen`` or a move to ``IMAP_DONE_FOLDER``) happens only after that
commit: a mailbox never shows as handled what the desk has not stored.
"""

from __future__ import annotations

import imaplib
import logging
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tickets import email_services
from tickets.models import ImapMailboxState

logger = logging.getLogger(__name__)
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


def imap_poll() -> int:
    """Poll the configured folder once; returns how many messages were read."""
    if not settings.IMAP_HOST:
        return 0
    client = _connect()
    try:
        return _poll(client)
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def _connect() -> imaplib.IMAP4:
    cls = imaplib.IMAP4_SSL if settings.IMAP_SSL else imaplib.IMAP4
    client = cls(settings.IMAP_HOST, settings.IMAP_PORT, timeout=30)
    client.login(settings.IMAP_USER, settings.IMAP_PASSWORD)
    return client


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _poll(client: imaplib.IMAP4) -> int:
    folder = settings.IMAP_FOLDER
    typ, _ = client.select(_quote(folder))
    if typ != "OK":
        raise imaplib.IMAP4.error(f"cannot select {folder}")
    uidvalidity = _uidvalidity(client)
    state = _state(folder, uidvalidity)
    typ, data = client.uid("SEARCH", f"UID {state.last_uid + 1}:*")
    # "n:*" always matches the highest UID, even when it is below n.
    uids = sorted(int(u) for u in (data[0] or b"").split() if int(u) > state.last_uid)
    done = 0
    for uid in uids[: settings.IMAP_BATCH]:
        raw = _fetch(client, uid)
        if raw is None:
            continue
        _store(state, uid, raw)
        _mark_done(client, uid)
        done += 1
    ImapMailboxState.objects.filter(pk=state.pk).update(polled_at=timezone.now())
    if settings.IMAP_DONE_FOLDER and done:
        client.expunge()
    return done


def _uidvalidity(client: imaplib.IMAP4) -> int:
    _, data = client.status(_quote(settings.IMAP_FOLDER), "(UIDVALIDITY)")
    found = _UIDVALIDITY.search(data[0] or b"")
    return int(found.group(1)) if found else 0


def _state(folder: str, uidvalidity: int) -> ImapMailboxState:
    state, _ = ImapMailboxState.objects.get_or_create(
        host=settings.IMAP_HOST, user=settings.IMAP_USER, folder=folder
    )
    if state.uidvalidity != uidvalidity:
        # The server renumbered the folder: start over; dedup drops repeats.
        logger.warning("UIDVALIDITY of %s changed; rereading", folder)
        ImapMailboxState.objects.filter(pk=state.pk).update(
            uidvalidity=uidvalidity, last_uid=0
        )
        state.uidvalidity, state.last_uid = uidvalidity, 0
    return state


def _fetch(client: imaplib.IMAP4, uid: int) -> bytes | None:
    typ, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    logger.warning("IMAP UID %s vanished before it was fetched", uid)
    return None


def _store(state: ImapMailboxState, uid: int, raw: bytes) -> None:
    with transaction.atomic():
        email_services.email_receive(
            raw=raw, source="imap", source_ref=f"{state.folder}#{uid}"
        )
        ImapMailboxState.objects.filter(
            pk=state.pk, uidvalidity=state.uidvalidity, last_uid__lt=uid
        ).update(last_uid=uid)


def _mark_done(client: imaplib.IMAP4, uid: int) -> None:
    done_folder = settings.IMAP_DONE_FOLDER
    if not done_folder:
        client.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
        return
    typ, _ = client.uid("MOVE", str(uid), _quote(done_folder))
    if typ != "OK":  # servers without MOVE (RFC 6851)
        client.uid("COPY", str(uid), _quote(done_folder))
        client.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
