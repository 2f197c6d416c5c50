"""Outgoing replies: threading headers, loop protection, language templates."""

from __future__ import annotations

from datetime import UTC, datetime

from tickets.intake.mime import parse_email
from tickets.intake.noise import AUTO_REPLY, classify
from tickets.intake.outgoing import (
    MAX_REFERENCES,
    OutgoingReply,
    acknowledgement,
    build_reply,
    csat_request,
    make_message_id,
    reply_subject,
)
from tickets.intake.templates import TEMPLATES
from tickets.intake.threading import make_token, parse_token

SECRET = b"s"


def reply(**overrides) -> OutgoingReply:
    values = {
        "idempotency_key": "0b5b7c1e-1f1a-4f6e-9d3e-5a7c2b1d9e00",
        "ticket_ref": "ABC123",
        "subject": "Refund",
        "from_address": "Support <support@desk.example>",
        "to": ["Customer <c@example.org>"],
        "reply_to": f"support+{make_token('ABC123', secret=SECRET)}@desk.example",
        "text": "Hello,\n\nYour refund is on its way.",
        "in_reply_to": "<c2@example.org>",
        "references": ["<c1@example.org>", "<d1@desk.example>"],
        "date": datetime(2024, 6, 1, tzinfo=UTC),
    }
    return OutgoingReply(**(values | overrides))


def test_reply_has_threading_headers_and_reply_token():
    msg = build_reply(reply(), domain="desk.example")
    assert msg["In-Reply-To"] == "<c2@example.org>"
    assert msg["References"].split() == [
        "<c1@example.org>",
        "<d1@desk.example>",
        "<c2@example.org>",
    ]
    assert parse_token(str(msg["Reply-To"]), secret=SECRET) == "ABC123"
    assert msg["Auto-Submitted"] is None


def test_reply_is_multipart_alternative_with_text_and_html():
    msg = build_reply(reply(), domain="desk.example")
    assert msg.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in msg.iter_parts()]
    assert types == ["text/plain", "text/html"]
    assert "<p>Your refund is on its way.</p>" in msg.get_body(("html",)).get_content()


def test_message_id_is_deterministic_from_the_idempotency_key():
    first = build_reply(reply(), domain="desk.example")
    again = build_reply(reply(), domain="desk.example")
    assert first["Message-ID"] == again["Message-ID"]
    assert first.as_bytes() == again.as_bytes()
    assert first["Message-ID"] == make_message_id(
        "0b5b7c1e-1f1a-4f6e-9d3e-5a7c2b1d9e00", domain="desk.example"
    )
    assert make_message_id("other", domain="desk.example") != first["Message-ID"]


def test_automatic_reply_is_marked_and_our_own_intake_sees_it_as_automatic():
    msg = build_reply(reply(automatic=True), domain="desk.example")
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert classify(parse_email(msg.as_bytes())).kind == AUTO_REPLY


def test_long_reference_chain_is_capped_keeping_the_root():
    refs = [f"<r{i}@x>" for i in range(50)]
    msg = build_reply(reply(references=refs, in_reply_to="<last@x>"), domain="d")
    chain = msg["References"].split()
    assert len(chain) == MAX_REFERENCES
    assert chain[0] == "<r0@x>"
    assert chain[-1] == "<last@x>"


def test_subject_gets_one_re_and_one_tag():
    assert reply_subject("Refund", "ABC123") == "Re: [#ABC123] Refund"
    assert reply_subject("AW: Re: [#ABC123] Refund", "ABC123") == "Re: [#ABC123] Refund"
    assert reply_subject("SV: Återbetalning", "X1") == "Re: [#X1] Återbetalning"


def test_reply_parses_back_with_the_same_subject_and_language():
    msg = build_reply(reply(subject="Rückerstattung", language="de"), domain="d")
    parsed = parse_email(msg.as_bytes())
    assert parsed.subject == "Re: [#ABC123] Rückerstattung"
    assert parsed.header("Content-Language") == "de"


def test_templates_exist_in_required_languages():
    for variants in TEMPLATES.values():
        assert {"en", "sv", "de", "fr", "es"} <= set(variants)


def test_acknowledgement_uses_the_customer_language_and_falls_back_to_english():
    assert acknowledgement("de-AT", ticket_ref="A1", name="Jörg").startswith(
        "Hallo Jörg,"
    )
    assert "ärende [#A1]" in acknowledgement("sv", ticket_ref="A1")
    assert acknowledgement("ja", ticket_ref="A1").startswith("Hello,")


def test_csat_request_contains_both_links():
    text = csat_request(
        "fr", ticket_ref="A1", good_url="https://g", bad_url="https://b"
    )
    assert "https://g" in text
    assert "https://b" in text
    assert "[#A1]" in text
