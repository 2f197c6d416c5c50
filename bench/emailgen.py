"""Deterministic generator of a realistic inbound email workload.

``generate(n)`` returns raw RFC 5322 messages with their ground truth: which
thread each one belongs to. About half are replies whose In-Reply-To and
References point at earlier messages of the set (some chains run long, and
References are capped the way mail clients cap them, keeping the root), in
a dozen languages and charsets, some with attachments, a few auto-replies and
bounces. ``score`` measures how many replies an ingester put in the right
thread; deliver the set ``shuffled`` to check that order does not matter.
"""

from __future__ import annotations

import base64
import quopri
import random
import zlib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime

DESK = "support@desk.example"
MAX_REFERENCES = 20

Strings = tuple[str, ...]
# language: (charsets, subjects, body lines, names)
LANGUAGES: dict[str, tuple[Strings, Strings, Strings, Strings]] = {
    "en": (
        ("us-ascii", "utf-8"),
        ("Refund for order", "Card declined twice", "Cannot log in"),
        ("I was charged twice for the same order.", "Please help me, it is urgent.",
         "The app says my card is invalid."),
        ("Alice Smith", "Bob Jones"),
    ),
    "de": (
        ("iso-8859-1", "utf-8"),
        ("Rückerstattung für Bestellung", "Zahlung fehlgeschlagen", "Konto gesperrt"),
        ("Ich wurde doppelt belastet, bitte prüfen Sie das.", "Grüße aus München.",
         "Die Überweisung ist nicht angekommen."),
        ("Jürgen Müller", "Anna Schröder"),
    ),
    "fr": (
        ("iso-8859-15", "utf-8"),
        ("Remboursement de ma commande", "Paiement refusé", "Problème de connexion"),
        ("J'ai été débité deux fois, merci de vérifier.", "Le reçu coûte 50 €.",
         "Ça ne fonctionne toujours pas."),
        ("Hélène Dubois", "François Lefèvre"),
    ),
    "es": (
        ("iso-8859-1", "windows-1252"),
        ("Reembolso del pedido", "Pago rechazado", "No puedo iniciar sesión"),
        ("Me cobraron dos veces, ¿pueden ayudarme?", "Gracias por la atención.",
         "La tarjeta aparece como inválida."),
        ("José Núñez", "María Peña"),
    ),
    "sv": (
        ("iso-8859-1", "utf-8"),
        ("Återbetalning av order", "Kortet nekades", "Kan inte logga in"),
        ("Jag har debiterats två gånger för samma köp.", "Tack på förhand.",
         "Appen säger att mitt kort är ogiltigt."),
        ("Åsa Öberg", "Per Ågren"),
    ),
    "ru": (
        ("koi8-r", "windows-1251", "utf-8"),
        ("Возврат средств за заказ", "Платёж отклонён", "Не могу войти"),
        ("С меня списали деньги дважды.", "Пожалуйста, помогите срочно.",
         "Приложение пишет, что карта недействительна."),
        ("Иван Петров", "Ольга Смирнова"),
    ),
    "ja": (
        ("shift_jis", "iso-2022-jp", "utf-8"),
        ("注文の返金について", "カードが拒否されました", "ログインできません"),
        ("同じ注文で二重に請求されました。", "至急ご対応をお願いします。",
         "アプリでカードが無効と表示されます。"),
        ("山田太郎", "佐藤花子"),
    ),
    "zh": (
        ("gb2312", "utf-8"),
        ("订单退款", "付款被拒绝", "无法登录"),
        ("同一订单被扣款两次。", "请尽快帮我处理。", "应用显示我的卡无效。"),
        ("王伟", "李娜"),
    ),
    "ko": (
        ("euc-kr", "utf-8"),
        ("주문 환불 요청", "카드 결제 거부", "로그인할 수 없습니다"),
        ("같은 주문에 두 번 청구되었습니다.", "빠른 도움 부탁드립니다.",
         "앱에서 카드가 유효하지 않다고 합니다."),
        ("김민수", "이지은"),
    ),
    "pl": (
        ("iso-8859-2", "utf-8"),
        ("Zwrot za zamówienie", "Płatność odrzucona", "Nie mogę się zalogować"),
        ("Pobrano opłatę dwukrotnie za to samo zamówienie.", "Proszę o pilną pomoc.",
         "Aplikacja twierdzi, że karta jest nieważna."),
        ("Paweł Wójcik", "Zofia Łukasik"),
    ),
    "el": (
        ("iso-8859-7", "utf-8"),
        ("Επιστροφή χρημάτων", "Η πληρωμή απορρίφθηκε", "Δεν μπορώ να συνδεθώ"),
        ("Χρεώθηκα δύο φορές για την ίδια παραγγελία.", "Ευχαριστώ πολύ.",
         "Η εφαρμογή λέει ότι η κάρτα δεν είναι έγκυρη."),
        ("Γιώργος Παπαδόπουλος", "Μαρία Νικολάου"),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class GeneratedEmail:
    raw: bytes
    message_id: str
    thread_root: str  # Message-ID of the first message of its thread
    kind: str  # "new", "reply", "auto_reply" or "bounce"
    language: str
    charset: str
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Score:
    replies: int
    threaded: int
    merged_threads: int  # distinct threads wrongly put into one ticket

    @property
    def share(self) -> float:
        return self.threaded / self.replies if self.replies else 1.0


@dataclass
class _Thread:
    root: str
    subject: str
    language: str
    charset: str
    customer: tuple[str, str]
    ids: list[str]
    refs: list[list[str]]


def generate(n: int = 2_000, *, seed: int = 20240601) -> list[GeneratedEmail]:
    rng = random.Random(seed)
    start = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    threads: list[_Thread] = []
    out: list[GeneratedEmail] = []
    for i in range(n):
        date = start + timedelta(minutes=7 * i)
        roll = rng.random()
        if threads and roll < 0.02:
            out.append(_auto_reply(rng, i, date, rng.choice(threads)))
        elif threads and roll < 0.035:
            out.append(_bounce(rng, i, date, rng.choice(threads)))
        elif threads and roll < 0.52:
            out.append(_reply(rng, i, date, _pick_thread(rng, threads)))
        else:
            email, thread = _new(rng, i, date)
            threads.append(thread)
            out.append(email)
    return out


def shuffled(
    emails: Sequence[GeneratedEmail], *, seed: int = 7
) -> list[GeneratedEmail]:
    items = list(emails)
    random.Random(seed).shuffle(items)
    return items


def score(emails: Sequence[GeneratedEmail], ticket_of: Mapping[str, Hashable]) -> Score:
    """Replies in their root's ticket, and roots that share a ticket."""
    replies = [e for e in emails if e.kind == "reply"]
    threaded = sum(
        1
        for e in replies
        if ticket_of.get(e.message_id) == ticket_of.get(e.thread_root)
    )
    roots = [ticket_of.get(e.message_id) for e in emails if e.kind == "new"]
    return Score(len(replies), threaded, len(roots) - len(set(roots)))


def _pick_thread(rng: random.Random, threads: list[_Thread]) -> _Thread:
    # A few hot threads grow long chains; most replies go to recent threads.
    if rng.random() < 0.15:
        return threads[rng.randrange(min(5, len(threads)))]
    return threads[max(0, len(threads) - 1 - int(rng.expovariate(0.1)))]


def _new(rng: random.Random, i: int, date: datetime) -> tuple[GeneratedEmail, _Thread]:
    lang = rng.choice(sorted(LANGUAGES))
    charsets, subjects, _, names = LANGUAGES[lang]
    charset = rng.choice(charsets)
    customer = (rng.choice(names), f"customer{i}@mail{i % 37}.example")
    subject = f"{rng.choice(subjects)} {1000 + i}"
    mid = f"<gen{i:05d}.{rng.randrange(10**9)}@mail{i % 37}.example>"
    thread = _Thread(mid, subject, lang, charset, customer, [mid], [[]])
    msg = _message(rng, thread, subject, mid, date, refs=[])
    return _email(msg, mid, thread, "new"), thread


def _reply(
    rng: random.Random, i: int, date: datetime, thread: _Thread
) -> GeneratedEmail:
    parent = rng.randrange(len(thread.ids))
    if rng.random() < 0.7:
        parent = len(thread.ids) - 1  # usually the latest message
    refs = _cap([*thread.refs[parent], thread.ids[parent]])
    mid = f"<gen{i:05d}.{rng.randrange(10**9)}@{thread.customer[1].split('@')[1]}>"
    msg = _message(rng, thread, f"Re: {thread.subject}", mid, date, refs=refs)
    thread.ids.append(mid)
    thread.refs.append(refs)
    return _email(msg, mid, thread, "reply", refs)


def _cap(refs: list[str]) -> list[str]:
    return (
        refs
        if len(refs) <= MAX_REFERENCES
        else [refs[0], *refs[-(MAX_REFERENCES - 1) :]]
    )


def _message(
    rng, thread: _Thread, subject: str, mid: str, date, *, refs
) -> MIMEMultipart:
    _, _, lines, _ = LANGUAGES[thread.language]
    body = "\n\n".join(rng.sample(lines, 2))
    if refs:
        body += f"\n\nOn {format_datetime(date)} {DESK} wrote:\n> " + rng.choice(lines)
    alt = MIMEMultipart("alternative")
    alt.attach(_text_part(body, "plain", thread.charset))
    html = (
        "<html><body>"
        + "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
        + "</body></html>"
    )
    alt.attach(_text_part(html, "html", thread.charset))
    msg = alt
    if rng.random() < 0.15:
        msg = MIMEMultipart("mixed")
        msg.attach(alt)
        msg.attach(_attachment(rng))
    _headers(msg, thread, subject, mid, date)
    if refs:
        msg["In-Reply-To"] = refs[-1]
        msg["References"] = " ".join(refs)
    return msg


def _headers(msg, thread: _Thread, subject: str, mid: str, date: datetime) -> None:
    name, address = thread.customer
    msg["From"] = f"{_words(name, thread.charset)} <{address}>"
    msg["To"] = f"Support <{DESK}>"
    msg["Subject"] = _words(subject, thread.charset)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = mid


def _words(text: str, charset: str) -> str:
    """RFC 2047 encoded-words in the message's own charset, short chunks."""
    if text.isascii():
        return text
    chunks = [text[i : i + 12] for i in range(0, len(text), 12)]
    codec = "cp932" if charset == "shift_jis" else charset
    encoded = [base64.b64encode(c.encode(codec)).decode() for c in chunks]
    return " ".join(f"=?{charset}?B?{e}?=" for e in encoded)


def _text_part(text: str, subtype: str, charset: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype, charset=charset)
    data = text.encode("cp932" if charset == "shift_jis" else charset)
    if data.isascii():
        part.set_payload(data.decode("ascii"))
        part["Content-Transfer-Encoding"] = "7bit"
    elif charset.startswith(("iso-8859", "windows", "koi8")):
        part.set_payload(quopri.encodestring(data).decode("ascii"))
        part["Content-Transfer-Encoding"] = "quoted-printable"
    else:
        part.set_payload(base64.encodebytes(data).decode("ascii"))
        part["Content-Transfer-Encoding"] = "base64"
    return part


def _attachment(rng: random.Random) -> MIMENonMultipart:
    kind = rng.choice(["application/pdf", "image/png", "text/csv"])
    maintype, subtype = kind.split("/")
    part = MIMENonMultipart(maintype, subtype)
    part.set_payload(
        base64.encodebytes(rng.randbytes(rng.randrange(2_000, 60_000))).decode()
    )
    part["Content-Transfer-Encoding"] = "base64"
    name = rng.choice(["kvitto", "Rechnung_März", "reçu", "スクリーンショット"])
    part.add_header(
        "Content-Disposition", "attachment", filename=("utf-8", "", f"{name}.{subtype}")
    )
    return part


def _auto_reply(rng, i: int, date, thread: _Thread) -> GeneratedEmail:
    mid = f"<auto{i:05d}@{thread.customer[1].split('@')[1]}>"
    refs = [thread.ids[-1]]
    msg = MIMENonMultipart("text", "plain", charset="utf-8")
    msg.set_payload("I am out of the office until Monday.")
    _headers(msg, thread, f"Automatic reply: {thread.subject}", mid, date)
    msg["Auto-Submitted"] = "auto-replied"
    msg["In-Reply-To"] = refs[0]
    msg["References"] = refs[0]
    return _email(msg, mid, thread, "auto_reply", tuple(refs))


def _bounce(rng, i: int, date, thread: _Thread) -> GeneratedEmail:
    mid = f"<bounce{i:05d}@mx.desk.example>"
    original = thread.ids[-1]
    msg = MIMEMultipart("report", report_type="delivery-status")
    msg.attach(
        _text_part("Delivery to the following recipient failed.", "plain", "us-ascii")
    )
    status = MIMENonMultipart("message", "delivery-status")
    # The generator wants message/delivery-status as a list of header blocks.
    status.set_payload(
        [
            message_from_string("Reporting-MTA: dns; mx.desk.example\n"),
            message_from_string(
                f"Final-Recipient: rfc822; {thread.customer[1]}\n"
                "Action: failed\nStatus: 5.1.1\n"
            ),
        ]
    )
    msg.attach(status)
    headers = MIMENonMultipart("text", "rfc822-headers")
    subject = thread.subject.encode("ascii", "replace").decode()
    headers.set_payload(
        f"From: {DESK}\nTo: {thread.customer[1]}\n"
        f"Message-ID: {original}\nSubject: Re: {subject}\n"
    )
    msg.attach(headers)
    msg["From"] = "Mail Delivery System <MAILER-DAEMON@mx.desk.example>"
    msg["To"] = DESK
    msg["Subject"] = "Undelivered Mail Returned to Sender"
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = mid
    msg["Return-Path"] = "<>"
    return _email(msg, mid, thread, "bounce", (original,))


def _email(
    msg, mid: str, thread: _Thread, kind: str, refs: Sequence[str] = ()
) -> GeneratedEmail:
    salt = zlib.crc32(mid.encode())
    for number, part in enumerate(msg.walk()):
        if part.is_multipart():  # stdlib boundaries are random; keep output stable
            part.set_boundary(f"=_{salt:08x}_{number}")
    linesep = "\r\n" if salt % 2 else "\n"
    raw = msg.as_bytes(policy=policy.compat32.clone(linesep=linesep))
    return GeneratedEmail(
        raw, mid, thread.root, kind, thread.language, thread.charset, tuple(refs)
    )
