"""iter_raw_messages: .eml, directories, mbox and Maildir, errors as records."""

from __future__ import annotations

import mailbox

from tickets.intake.sources import iter_raw_messages

from .conftest import make_raw


def test_single_eml_file_yields_its_exact_bytes(tmp_path):
    path = tmp_path / "one.eml"
    path.write_bytes(b"From: a@x\r\n\r\nbody\r\n")
    (item,) = iter_raw_messages([path])
    assert (item.source, item.raw, item.error) == (str(path), path.read_bytes(), None)


def test_directory_is_read_recursively_in_sorted_order_skipping_non_mail(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.eml").write_bytes(make_raw(message_id="<2@x>"))
    (tmp_path / "1.eml").write_bytes(make_raw(message_id="<1@x>"))
    (tmp_path / "README.md").write_text("not mail")
    (tmp_path / ".hidden.eml").write_bytes(b"x")
    sources = [item.source for item in iter_raw_messages([tmp_path])]
    assert sources == [str(tmp_path / "1.eml"), str(tmp_path / "b" / "2.eml")]


def test_mbox_yields_every_message(tmp_path):
    path = tmp_path / "archive.mbox"
    box = mailbox.mbox(path)
    for i in range(3):
        box.add(make_raw(message_id=f"<{i}@x>"))
    box.flush()
    items = list(iter_raw_messages([path]))
    assert len(items) == 3
    assert all(b"Message-ID: <" in item.raw for item in items)
    assert items[0].source == f"{path}#0"


def test_extensionless_file_starting_with_from_line_is_an_mbox(tmp_path):
    path = tmp_path / "inbox"
    path.write_bytes(
        b"From a@x Mon Jan  1 00:00:00 2024\n" + make_raw(message_id="<1@x>") + b"\n"
        b"From b@x Mon Jan  1 00:00:00 2024\n" + make_raw(message_id="<2@x>") + b"\n"
    )
    assert len(list(iter_raw_messages([path]))) == 2


def test_maildir_yields_new_and_cur_messages(tmp_path):
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(make_raw(message_id="<1@x>"))
    msg = mailbox.MaildirMessage(make_raw(message_id="<2@x>"))
    msg.set_subdir("cur")
    box.add(msg)
    items = list(iter_raw_messages([tmp_path / "Maildir"]))
    assert sorted(b"<1@x>" in i.raw for i in items) == [False, True]
    assert all(i.error is None for i in items)


def test_directory_containing_a_maildir_reads_it_as_maildir(tmp_path):
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    box.add(make_raw())
    (item,) = iter_raw_messages([tmp_path])
    assert item.source.startswith(str(tmp_path / "mail") + "#")


def test_missing_path_becomes_an_error_record_and_later_paths_still_come(tmp_path):
    good = tmp_path / "good.eml"
    good.write_bytes(make_raw())
    missing, item = list(iter_raw_messages([tmp_path / "nope.eml", good]))
    assert missing.error.startswith("cannot read")
    assert missing.raw == b""
    assert (item.source, item.error) == (str(good), None)


def test_corrupt_mbox_message_does_not_stop_iteration(tmp_path):
    path = tmp_path / "broken.mbox"
    path.write_bytes(b"From x\n\x00\xff garbage\nFrom y\n" + make_raw())
    items = list(iter_raw_messages([path]))
    assert len(items) == 2
    assert all(item.error is None for item in items)
