"""parse_email: never raises, keeps what it can, flags the rest."""

from __future__ import annotations

import base64
import hashlib
from functools import cache

import pytest

from tickets.intake.mime import MAX_DEPTH, parse_email

from .conftest import make_raw, real_email, real_email_files

LIMIT = 5 * 1024 * 1024


@cache
def parsed_real(path):
    return parse_email(path.read_bytes(), max_attachment_bytes=LIMIT)


@pytest.mark.parametrize("path", real_email_files(), ids=lambda p: p.name)
def test_every_real_email_parses_to_content_or_a_quarantine_reason(path):
    raw = path.read_bytes()
    parsed = parsed_real(path)
    assert parsed.has_content or parsed.quarantine_reason
    assert parsed.content_hash == hashlib.sha256(raw).hexdigest()
    for value in (parsed.text, parsed.html, parsed.subject, parsed.reply_text):
        assert "\x00" not in value
        value.encode("utf-8")  # no lone surrogates: storable in PostgreSQL


def test_real_emails_lose_no_attachment_bytes():
    # Every recorded attachment keeps its bytes unless it was rejected.
    for path in real_email_files():
        for att in parsed_real(path).attachments:
            assert att.rejected_reason or len(att.content) == att.size


def test_only_unrecoverable_real_emails_are_quarantined():
    files = real_email_files()
    quarantined = [p.name for p in files if parsed_real(p).quarantine_reason]
    assert quarantined == ["malformed_005.eml"]


def test_message_id_is_normalised_with_angle_brackets():
    parsed = parse_email(make_raw(message_id="  <Abc.123@Example.org>  "))
    assert parsed.message_id == "<Abc.123@Example.org>"


def test_message_id_without_brackets_is_still_recognised():
    parsed = parse_email(make_raw(message_id="abc@example.org"))
    assert parsed.message_id == "<abc@example.org>"


def test_references_keep_the_whole_chain_in_order():
    refs = " ".join(f"<r{i}@x>" for i in range(30))
    parsed = parse_email(
        make_raw(headers={"References": refs, "In-Reply-To": "<r29@x>"})
    )
    assert parsed.references == [f"<r{i}@x>" for i in range(30)]
    assert parsed.in_reply_to == "<r29@x>"
    assert parsed.thread_ids[0] == "<r29@x>"


def test_encoded_subject_and_display_name_are_decoded():
    raw = make_raw(
        subject="=?iso-8859-1?q?R=FCckerstattung?=",
        sender="=?utf-8?b?SsO8cmdlbg==?= <j@example.de>",
    )
    parsed = parse_email(raw)
    assert parsed.subject == "Rückerstattung"
    assert parsed.from_address.name == "Jürgen"
    assert parsed.from_address.email == "j@example.de"


def test_raw_utf8_headers_are_decoded():
    raw = "From: Åsa <a@example.se>\r\nSubject: Återbetalning\r\n\r\nHej\r\n"
    parsed = parse_email(raw.encode("utf-8"))
    assert parsed.subject == "Återbetalning"
    assert parsed.from_address.name == "Åsa"


def _part(ctype: str, body: bytes, extra: str = "") -> bytes:
    encoded = base64.encodebytes(body)
    return (
        f"Content-Type: {ctype}\r\nContent-Transfer-Encoding: base64\r\n{extra}\r\n"
    ).encode() + encoded


def _multipart(*parts: bytes, subject: str = "files") -> bytes:
    head = (
        "From: c@example.org\r\nSubject: " + subject + "\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
    ).encode()
    body = b"".join(b"--XX\r\n" + p + b"\r\n" for p in parts)
    return head + body + b"--XX--\r\n"


def test_path_traversal_file_names_become_plain_names():
    parsed = parse_email(real_email("php-mime-mail-parser/m0027.eml"))
    (att,) = parsed.attachments
    assert att.original_filename == "1234/../../1234.txt"
    assert att.filename == "1234.txt"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("report\x00.pdf", "report.pdf"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("CON.txt", "_CON.txt"),
        ("..", "attachment.bin"),
    ],
)
def test_unsafe_file_names_are_made_safe(name, expected):
    disposition = f'Content-Disposition: attachment; filename="{name}"\r\n'
    raw = _multipart(_part("application/octet-stream", b"data", disposition))
    (att,) = parse_email(raw).attachments
    assert att.filename == expected


def test_windows_path_in_rfc2231_file_name_is_reduced_to_its_base_name():
    disposition = (
        "Content-Disposition: attachment; "
        "filename*=utf-8''..%5C..%5Cwindows%5Ccmd.exe\r\n"
    )
    raw = _multipart(_part("application/octet-stream", b"MZ", disposition))
    (att,) = parse_email(raw).attachments
    assert att.filename == "cmd.exe"


def test_very_long_file_name_is_shortened_keeping_the_extension():
    disposition = f'Content-Disposition: attachment; filename="{"a" * 500}.pdf"\r\n'
    raw = _multipart(_part("application/pdf", b"%PDF", disposition))
    (att,) = parse_email(raw).attachments
    assert len(att.filename) <= 120
    assert att.filename.endswith(".pdf")


def test_oversized_attachment_is_recorded_as_rejected_not_dropped():
    disposition = 'Content-Disposition: attachment; filename="big.bin"\r\n'
    raw = _multipart(_part("application/octet-stream", b"x" * 5000, disposition))
    parsed = parse_email(raw, max_attachment_bytes=1000)
    (att,) = parsed.attachments
    assert att.filename == "big.bin"
    assert att.size == 5000
    assert att.content == b""
    assert "too large" in att.rejected_reason


def test_disallowed_type_is_rejected_and_allowed_family_kept():
    disposition = 'Content-Disposition: attachment; filename="a"\r\n'
    raw = _multipart(
        _part("application/x-msdownload", b"MZ", disposition),
        _part("image/png", b"\x89PNG", disposition),
    )
    parsed = parse_email(raw, allowed_types={"image/*", "application/pdf"})
    exe, png = parsed.attachments
    assert exe.rejected_reason == "type not allowed: application/x-msdownload"
    assert png.rejected_reason is None
    assert png.content == b"\x89PNG"


def test_inline_image_keeps_its_content_id_and_sanitised_html_keeps_cid():
    parsed = parse_email(real_email("enmime/html-mime-inline.eml"))
    inline = [a for a in parsed.attachments if a.content_id]
    assert inline
    assert inline[0].inline
    assert f'src="cid:{inline[0].content_id.strip("<>")}"' in parsed.html


def test_html_is_sanitised_and_remote_images_dropped():
    html = (
        '<p onclick="x()">Hi<script>alert(1)</script></p>'
        '<img src="https://tracker.example/p.gif"><img src="cid:logo@x">'
        '<a href="javascript:alert(1)">x</a>'
    )
    raw = make_raw(body=html).replace(b"text/plain", b"text/html")
    parsed = parse_email(raw)
    assert "script" not in parsed.html
    assert "onclick" not in parsed.html
    assert "tracker.example" not in parsed.html
    assert "cid:logo@x" in parsed.html
    assert "javascript" not in parsed.html
    assert parsed.text == "Hi\nx"


def test_unknown_charset_falls_back_and_is_flagged():
    parsed = parse_email(real_email("enmime/low-quality_unk-charset-part.eml"))
    assert "unknown_charset:fakescii" in parsed.defects
    assert parsed.text


@pytest.mark.parametrize("charset", ["koi8-r", "shift_jis", "iso-2022-jp", "euc-kr"])
def test_body_in_legacy_charset_is_decoded(charset):
    text = {"koi8-r": "Привет", "euc-kr": "안녕하세요"}.get(charset, "こんにちは")
    raw = make_raw(body="").replace(b"charset=utf-8", f"charset={charset}".encode())
    raw += text.encode(charset) + b"\r\n"
    assert parse_email(raw).text == text


def test_utf8_mislabelled_as_latin1_is_decoded_as_utf8():
    raw = make_raw(body="").replace(b"charset=utf-8", b"charset=iso-8859-1")
    raw += "Grüße".encode()
    assert parse_email(raw).text == "Grüße"


def test_invalid_utf8_is_replaced_not_fatal():
    raw = make_raw(body="") + b"caf\xc3 \xff\xfe ok\r\n"
    parsed = parse_email(raw)
    assert parsed.text.endswith("ok")
    assert parsed.quarantine_reason is None


def test_nul_bytes_are_flagged_and_removed():
    raw = make_raw(body="he\x00llo")
    parsed = parse_email(raw)
    assert "nul_bytes" in parsed.defects
    assert parsed.text == "hello"


def test_absurd_nesting_is_capped_not_fatal():
    depth = 1000  # past the interpreter's recursion limit for the parser
    head = b"From: c@example.org\r\nSubject: deep\r\n"
    opening = b"".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
        for i in range(depth)
    )
    raw = head + opening + b"Content-Type: text/plain\r\n\r\ndeep text\r\n"
    parsed = parse_email(raw)
    assert parsed.subject == "deep"
    assert "nesting_too_deep" in parsed.defects


def test_moderate_nesting_beyond_cap_is_flagged():
    depth = MAX_DEPTH + 5
    head = b"From: c@example.org\r\nSubject: deep\r\n"
    opening = b"".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
        for i in range(depth)
    )
    closing = b"".join(f"\r\n--b{i}--\r\n".encode() for i in reversed(range(depth)))
    raw = head + opening + b"Content-Type: text/plain\r\n\r\ninner" + closing
    parsed = parse_email(raw)
    assert "nesting_too_deep" in parsed.defects
    assert parsed.quarantine_reason


def test_huge_to_header_is_truncated_and_flagged():
    parsed = parse_email(real_email("mimekit/stack-overflow.eml"))
    assert "huge_header:To" in parsed.defects
    assert parsed.subject == "Message Subject"
    assert parsed.text == "Message Body"


def test_utf8_bom_before_headers_is_ignored():
    parsed = parse_email(real_email("mimekit/feedback-report.eml"))
    assert "bom_before_headers" in parsed.defects
    assert parsed.headers[0][0].lower() != "\ufeff"
    assert parsed.from_address is not None


def test_cr_only_line_endings_parse():
    parsed = parse_email(real_email("sisimai-set-of-emails/mac_lhost-postfix-01.eml"))
    assert parsed.subject == "Undelivered Mail Returned to Sender"


def test_reply_text_strips_quoted_history_in_several_languages():
    bodies = {
        "On Mon, Jun 3, 2024 at 10:00 AM Support <s@x.com> wrote:": "Thanks!",
        "Am Mo., 3. Juni 2024 um 10:00 Uhr schrieb Support <s@x.com>:": "Danke!",
        "Le lun. 3 juin 2024 à 10:00, Support <s@x.com> a écrit :": "Merci !",
        "El lun, 3 jun 2024 a las 10:00, Support (<s@x.com>) escribió:": "¡Gracias!",
        "Den mån 3 juni 2024 kl 10:00 skrev Support <s@x.com>:": "Tack!",
    }
    for header, reply in bodies.items():
        parsed = parse_email(make_raw(body=f"{reply}\r\n\r\n{header}\r\n> old text"))
        assert parsed.reply_text == reply, header
        assert "old text" in parsed.text


def test_empty_input_is_quarantined():
    assert parse_email(b"").quarantine_reason == "empty message"


def test_binary_garbage_never_raises():
    parsed = parse_email(bytes(range(256)) * 50)
    assert parsed.content_hash
    assert parsed.has_content or parsed.quarantine_reason


def test_raw_8bit_headers_use_the_body_charset_when_not_utf8():
    parsed = parse_email(real_email("spamassassin/cjk_gb2312.1.eml"))
    assert parsed.subject.startswith("全新原装进口")
    assert parsed.from_address.name == "台湾鑫龙商贸集团公司"


def test_forwarded_message_keeps_its_content_in_reply_text():
    parsed = parse_email(real_email("django-helpdesk/utf-nondecodable.eml"))
    assert "Forwarded Message" in parsed.reply_text
    assert len(parsed.reply_text) > 100


def test_200_kb_header_block_is_read_quickly_and_flagged():
    parsed = parse_email(real_email("flanker/long-header.eml"))
    assert any(d.startswith("huge_header:") for d in parsed.defects)
    assert parsed.quarantine_reason is None
    assert len(parsed.subject) <= 64_000
