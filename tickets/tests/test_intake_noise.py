"""noise.classify: machines never open tickets; bounces find their original."""

from __future__ import annotations

import pytest

from tickets.intake.mime import parse_email
from tickets.intake.noise import AUTO_REPLY, BOUNCE, HUMAN, MAILING_LIST, classify

from .conftest import make_raw, real_email

REAL_BOUNCES = {
    "cpython/msg_43.eml": "<edab.7804f5cb8070@python.org>",
    "flanker/bounce_office365.eml": (
        "<20171013111011.20866.254C2F3A4D7AA526@ninomail.com>"
    ),
    "mimekit/bounce.eml": (
        "<44565655.JitbitHelpdesk.13439.691a0afc-a0a0-457c-8208-f20b7c4a4cb1"
        "@jitbit.com>"
    ),
    "sisimai-set-of-emails/bsd_lhost-exim-01.eml": "<E1P1ce6-000Egt-GZ@e1.example.org>",
    "sisimai-set-of-emails/bsd_lhost-qmail-01.eml": (
        "<000000000.9999999999999.JavaMail.postmaster@mailhub>"
    ),
    "nodemailer-mailparser/delivery-status.eml": "<xxxxx@email.amazonses.com>",
}


def verdict_of(raw: bytes):
    return classify(parse_email(raw))


@pytest.mark.parametrize(("name", "original"), sorted(REAL_BOUNCES.items()))
def test_real_bounce_is_detected_with_its_original_message_id(name, original):
    verdict = verdict_of(real_email(name))
    assert verdict.kind == BOUNCE
    assert verdict.original_message_id == original


@pytest.mark.parametrize(
    "name",
    [
        "sisimai-set-of-emails/bsd_lhost-postfix-01.eml",
        "sisimai-set-of-emails/mac_lhost-postfix-01.eml",
        "enmime/multi_recipient_dsn.eml",
        "cpython/msg_25.eml",
    ],
)
def test_real_dsn_without_enclosed_id_is_still_a_bounce(name):
    assert verdict_of(real_email(name)).kind == BOUNCE


@pytest.mark.parametrize(
    "name",
    [
        "sisimai-set-of-emails/bsd_rfc3834-01.eml",
        "sisimai-set-of-emails/bsd_rfc3834-03.eml",
        "sisimai-set-of-emails/bsd_rfc3834-06.eml",
        "flanker/disposition-notification.eml",
        "mimekit/feedback-report.eml",
    ],
)
def test_real_auto_replies_and_reports_are_auto_replies(name):
    assert verdict_of(real_email(name)).kind == AUTO_REPLY


def test_real_mailing_list_post_is_a_list():
    assert verdict_of(real_email("spamassassin/nice_002.eml")).kind == MAILING_LIST


def test_ordinary_customer_mail_is_human():
    verdict = verdict_of(real_email("django-helpdesk/quoted_printable.eml"))
    assert verdict.kind == HUMAN
    assert not verdict.is_noise


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"X-Autoreply": "yes"}, "x-autoreply header"),
        ({"X-Autorespond": "On vacation"}, "x-autorespond header"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"Precedence": "junk"}, "Precedence: junk"),
    ],
)
def test_auto_reply_headers_are_recognised(headers, reason):
    verdict = verdict_of(make_raw(headers=headers))
    assert verdict.kind == AUTO_REPLY
    assert verdict.reason == reason


def test_auto_submitted_no_is_a_person():
    assert verdict_of(make_raw(headers={"Auto-Submitted": "no"})).kind == HUMAN


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: your ticket",
        "Automatic reply: Refund",
        "Abwesenheitsnotiz: Ihre Anfrage",
        "Réponse automatique : commande",
        "Respuesta automática: pedido",
        "Autosvar: Återbetalning",
        "=?utf-8?b?6Ieq5YuV6L+U5L+hOiDms6jmlofjgavjgaTjgYTjgaY=?=",
    ],
)
def test_out_of_office_subjects_in_several_languages(subject):
    assert verdict_of(make_raw(subject=subject)).kind == AUTO_REPLY


def test_customer_subject_mentioning_absence_is_not_an_auto_reply():
    raw = make_raw(subject="Payment absent, I was on vacation when charged")
    assert verdict_of(raw).kind == HUMAN


def test_null_sender_from_mailer_daemon_is_a_bounce():
    raw = make_raw(
        subject="Undelivered Mail Returned to Sender",
        sender="MAILER-DAEMON@mx.example.org",
        headers={"Return-Path": "<>"},
    )
    assert verdict_of(raw).kind == BOUNCE


def test_null_sender_with_failure_subject_is_a_bounce():
    raw = make_raw(subject="failure notice", headers={"Return-Path": "<>"})
    assert verdict_of(raw).kind == BOUNCE


def test_list_headers_make_a_mailing_list():
    raw = make_raw(headers={"List-Id": "<news.example.org>", "Precedence": "list"})
    verdict = verdict_of(raw)
    assert verdict.kind == MAILING_LIST
    assert verdict.reason == "List-Id header"


def test_plain_text_bounce_finds_the_quoted_message_id():
    body = (
        "Delivery failed.\r\n\r\n--- Original message ---\r\n"
        "Message-ID: <out-1@desk.example>\r\nSubject: Re: help\r\n"
    )
    raw = make_raw(body=body, sender="postmaster@mx.example.org")
    verdict = verdict_of(raw)
    assert verdict.kind == BOUNCE
    assert verdict.original_message_id == "<out-1@desk.example>"
