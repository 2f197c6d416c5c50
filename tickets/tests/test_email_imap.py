"""IMAP polling against a private Dovecot on loopback, started per test module.

Skipped when Dovecot is not installed, unless ``SUPPORTDESK_REQUIRE_IMAP=true``
(CI), which turns the skip into a failure.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import free_port
from tickets import email_services, imap
from tickets.models import ImapMailboxState, InboundEmail
from tickets.tests.conftest import make_raw

pytestmark = pytest.mark.django_db
USER, PASSWORD = "desk", "imap-test-pw"


def _dovecot() -> str | None:
    return shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )


def _config(root: Path, port: int) -> Path:
    if os.geteuid() == 0:
        # Dovecot refuses to run its login and mail processes as root.
        login, internal, group = "dovenull", "dovecot", "dovecot"
        mail_uid = pwd.getpwnam("nobody").pw_uid
        mail_gid = pwd.getpwnam("nobody").pw_gid
    else:
        login = internal = pwd.getpwuid(os.getuid()).pw_name
        group = login
        mail_uid, mail_gid = os.getuid(), os.getgid()
    mail = root / "mail"
    mail.mkdir()
    os.chown(mail, mail_uid, mail_gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    conf = root / "dovecot.conf"
    conf.write_text(
        f"""
base_dir = {root}/run
state_dir = {root}/state
instance_name = sdtest-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
log_path = {root}/dovecot.log
mail_location = maildir:{mail}/%u
default_login_user = {login}
default_internal_user = {internal}
default_internal_group = {group}
first_valid_uid = {min(mail_uid, 1) if mail_uid else 1}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  mailbox Done {{
    auto = create
  }}
}}
"""
    )
    return conf


@pytest.fixture(scope="module")
def dovecot():
    binary = _dovecot()
    if binary is None:
        if os.environ.get("SUPPORTDESK_REQUIRE_IMAP") == "true":
            pytest.fail("dovecot is required (SUPPORTDESK_REQUIRE_IMAP=true)")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    # Not under pytest's tmp dir: that one is 0700, and Dovecot's own users
    # must be able to reach their files.
    root = Path(tempfile.mkdtemp(prefix="sd-dovecot-"))
    root.chmod(0o755)
    port = free_port()
    conf = _config(root, port)
    proc = subprocess.Popen(
        [binary, "-F", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_login(port, proc, root)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_login(port: int, proc: subprocess.Popen, root: Path) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            client = imaplib.IMAP4("127.0.0.1", port, timeout=5)
            client.login(USER, PASSWORD)
            client.logout()
            return
        except (OSError, imaplib.IMAP4.error):
            if proc.poll() is not None or time.monotonic() > deadline:
                log = root / "dovecot.log"
                detail = log.read_text()[-2000:] if log.exists() else ""
                pytest.fail(f"dovecot did not start: {detail}")
            time.sleep(0.2)


@pytest.fixture
def mailbox(dovecot, settings, tmp_path):
    settings.IMAP_HOST = "127.0.0.1"
    settings.IMAP_PORT = dovecot
    settings.IMAP_USER = USER
    settings.IMAP_PASSWORD = PASSWORD
    settings.IMAP_SSL = False
    settings.IMAP_FOLDER = "INBOX"
    settings.IMAP_DONE_FOLDER = ""
    settings.MEDIA_ROOT = tmp_path
    settings.EMAIL_ACKNOWLEDGE = False
    client = imaplib.IMAP4("127.0.0.1", dovecot, timeout=5)
    client.login(USER, PASSWORD)
    for folder in ("INBOX", "Done"):
        _, count = client.select(folder)
        if count[0] != b"0":
            client.store("1:*", "+FLAGS", "(\\Deleted)")
            client.expunge()
    yield client
    client.logout()


def append(client: imaplib.IMAP4, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        raw = make_raw(message_id=f"<imap{i}-{time.time_ns()}@x.example>")
        client.append("INBOX", None, None, raw)


def flags(client: imaplib.IMAP4, folder: str = "INBOX") -> list[bytes]:
    client.select(folder)
    _, data = client.fetch("1:*", "(FLAGS)")
    return [item for item in data if item]


def test_poll_reads_each_message_once_and_marks_it_seen(mailbox):
    append(mailbox, 3)
    assert imap.imap_poll() == 3
    assert InboundEmail.objects.filter(source="imap").count() == 3
    assert all(b"\\Seen" in line for line in flags(mailbox))
    assert imap.imap_poll() == 0
    append(mailbox, 2, start=3)
    assert imap.imap_poll() == 2
    assert InboundEmail.objects.count() == 5
    state = ImapMailboxState.objects.get()
    assert state.uidvalidity > 0 and state.last_uid >= 5


def test_done_folder_receives_handled_mail(mailbox, settings):
    settings.IMAP_DONE_FOLDER = "Done"
    append(mailbox, 2)
    assert imap.imap_poll() == 2
    mailbox.select("INBOX")
    _, data = mailbox.search(None, "ALL")
    assert data[0] == b""
    assert len(flags(mailbox, "Done")) == 2


def test_failed_store_leaves_the_message_unmarked_and_unread(mailbox, monkeypatch):
    append(mailbox, 1)

    def crash(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(email_services, "email_receive", crash)
    with pytest.raises(RuntimeError):
        imap.imap_poll()
    assert not any(b"\\Seen" in line for line in flags(mailbox))
    monkeypatch.undo()
    assert imap.imap_poll() == 1
    assert InboundEmail.objects.count() == 1


def test_uidvalidity_change_rereads_without_duplicates(mailbox):
    append(mailbox, 2)
    assert imap.imap_poll() == 2
    ImapMailboxState.objects.update(uidvalidity=1)
    assert imap.imap_poll() == 2  # read again, stored once
    assert InboundEmail.objects.count() == 2
