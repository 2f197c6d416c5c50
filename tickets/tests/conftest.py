"""Fixtures for the pure intake tests: real emails and a message builder."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

REAL_EMAILS = Path(__file__).parent / "data" / "real_emails"


def real_email_files() -> list[Path]:
    with (REAL_EMAILS / "MANIFEST.csv").open(newline="", encoding="utf-8") as handle:
        return [REAL_EMAILS / row["file"] for row in csv.DictReader(handle)]


def real_email(name: str) -> bytes:
    return (REAL_EMAILS / name).read_bytes()


def make_raw(
    *,
    subject: str = "Help",
    body: str = "Hello, my card was charged twice.",
    headers: dict[str, str] | None = None,
    sender: str = "Customer <customer@example.org>",
    to: str = "support@desk.example",
    message_id: str | None = "<m1@example.org>",
) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines += ["Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode("utf-8")


@pytest.fixture
def raw_factory():
    return make_raw


@pytest.fixture
def email_desk(settings, tmp_path):
    """Attachments under a temporary MEDIA_ROOT; the desk's own address."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DEFAULT_FROM_EMAIL = "Support <support@desk.example>"
