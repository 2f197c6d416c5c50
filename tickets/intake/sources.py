"""Raw messages from files: one .eml, a directory tree, an mbox or a Maildir.

Each message comes out as a ``RawMessage``; a file that cannot be read comes
out too, with ``error`` set and no bytes, so a caller can record it and go on
to the next one instead of stopping the whole import.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MBOX_SUFFIXES = (".mbox", ".mbx")


@dataclass(frozen=True)
class RawMessage:
    source: str
    raw: bytes
    error: str | None = None


def iter_raw_messages(paths: Iterable[str | Path]) -> Iterator[RawMessage]:
    """Yield every message under ``paths`` in a stable (sorted) order.

    A path named explicitly is always read. Inside directories only ``.eml``
    files, mboxes and Maildirs are taken.
    """
    for path in map(Path, paths):
        yield from _iter_path(path)


def _iter_path(path: Path) -> Iterator[RawMessage]:
    if is_maildir(path):
        yield from _iter_maildir(path)
    elif path.is_dir():
        yield from _iter_directory(path)
    elif is_mbox(path):
        yield from _iter_mbox(path)
    else:
        yield _read_file(path)


def _iter_directory(path: Path) -> Iterator[RawMessage]:
    try:
        children = sorted(path.iterdir())
    except OSError as exc:
        yield RawMessage(str(path), b"", f"cannot list directory: {exc}")
        return
    for child in children:
        if _wanted(child):
            yield from _iter_path(child)


def _wanted(child: Path) -> bool:
    # Inside a directory only mail is taken: READMEs and licences are not mail.
    if child.name.startswith("."):
        return False
    return child.is_dir() or child.suffix.lower() == ".eml" or is_mbox(child)


def is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / d).is_dir() for d in ("cur", "new", "tmp"))


def is_mbox(path: Path) -> bool:
    """An mbox by name, or an extension-less file that starts with ``From ``.

    A single ``.eml`` may also start with an mbox ``From `` line; it is still
    one message, so the extension wins.
    """
    if path.suffix.lower() in MBOX_SUFFIXES or path.name == "mbox":
        return True
    if path.suffix:
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"From "
    except OSError:
        return False


def _read_file(path: Path) -> RawMessage:
    try:
        return RawMessage(str(path), path.read_bytes())
    except OSError as exc:
        return RawMessage(str(path), b"", f"cannot read: {exc}")


def _iter_mbox(path: Path) -> Iterator[RawMessage]:
    try:
        box = mailbox.mbox(path, factory=None, create=False)
        keys = list(box.keys())
    except (OSError, mailbox.Error) as exc:
        yield RawMessage(str(path), b"", f"cannot open mbox: {exc}")
        return
    yield from _iter_mailbox(box, keys, str(path))


def _iter_maildir(path: Path) -> Iterator[RawMessage]:
    try:
        box = mailbox.Maildir(path, factory=None, create=False)
        keys = sorted(box.keys())
    except (OSError, mailbox.Error) as exc:
        yield RawMessage(str(path), b"", f"cannot open Maildir: {exc}")
        return
    yield from _iter_mailbox(box, keys, str(path))


def _iter_mailbox(box: mailbox.Mailbox, keys: list, name: str) -> Iterator[RawMessage]:
    for key in keys:
        source = f"{name}#{key}"
        try:
            yield RawMessage(source, box.get_bytes(key))
        except (OSError, KeyError, mailbox.Error) as exc:
            yield RawMessage(source, b"", f"cannot read message: {exc}")
