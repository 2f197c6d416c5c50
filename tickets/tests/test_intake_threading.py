"""Threading rules: Message-IDs in any order, reply tokens, guarded subject tags."""

from __future__ import annotations

import itertools

import pytest

from tickets.intake.mime import parse_email
from tickets.intake.threading import (
    ThreadIndex,
    choose_thread,
    find_token,
    make_token,
    parse_token,
    reply_address,
)

from .conftest import make_raw

SECRET = b"test-secret"


def message(mid: str, refs: list[str] = (), **kwargs):
    headers = dict(kwargs.pop("headers", {}))
    if refs:
        headers["In-Reply-To"] = refs[-1]
        headers["References"] = " ".join(refs)
    return parse_email(make_raw(message_id=mid, headers=headers, **kwargs))


def lookups(known=None, tokens=None, tags=None, participants=None):
    return {
        "find_by_message_ids": lambda ids: {i: known[i] for i in ids if i in known},
        "find_by_token": lambda ref: (tokens or {}).get(ref),
        "find_by_subject_tag": lambda tag: (tags or {}).get(tag),
        "is_participant": lambda t, e: e in (participants or {}).get(t, ()),
        "secret": SECRET,
    }


def test_in_reply_to_a_message_the_desk_sent_finds_its_ticket():
    parsed = message("<c2@x>", ["<desk1@desk.example>"])
    match = choose_thread(parsed, **lookups(known={"<desk1@desk.example>": 7}))
    assert (match.ticket, match.method) == (7, "message_id")


def test_any_known_id_in_the_references_chain_is_enough():
    parsed = message("<c9@x>", ["<root@x>", "<unknown1@x>", "<unknown2@x>"])
    match = choose_thread(parsed, **lookups(known={"<root@x>": 3}))
    assert match.ticket == 3
    assert match.key == "<root@x>"


def test_nearest_known_id_wins_and_other_tickets_are_reported():
    parsed = message("<c9@x>", ["<a@x>", "<b@x>"])
    match = choose_thread(parsed, **lookups(known={"<a@x>": 1, "<b@x>": 2}))
    assert match.ticket == 2
    assert match.conflicts == (1,)


def test_unknown_message_opens_a_new_ticket():
    match = choose_thread(message("<new@x>"), **lookups(known={}))
    assert match.ticket is None
    assert match.method == "none"


CHAIN = [
    ("<m1@x>", []),
    ("<m2@x>", ["<m1@x>"]),
    ("<m3@x>", ["<m1@x>", "<m2@x>"]),
    ("<m4@x>", ["<m1@x>", "<m2@x>", "<m3@x>"]),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(CHAIN)))))
def test_a_chain_lands_in_one_ticket_in_every_arrival_order(order):
    index = ThreadIndex(secret=SECRET)
    tickets = {index.add(message(*CHAIN[i]))[0] for i in order}
    assert len(tickets) == 1


def test_token_round_trips_and_is_case_insensitive():
    token = make_token("ABC123", secret=SECRET)
    address = reply_address(token, mailbox="support", domain="desk.example")
    assert parse_token(address, secret=SECRET) == "ABC123"
    assert parse_token(address.upper(), secret=SECRET) == "ABC123"


def test_forged_or_foreign_token_is_ignored():
    forged = reply_address("abc123-aaaaaaaaaa", mailbox="support", domain="d.example")
    other = reply_address(
        make_token("ABC123", secret=b"other"), mailbox="support", domain="d.example"
    )
    assert parse_token(forged, secret=SECRET) is None
    assert parse_token(other, secret=SECRET) is None
    assert parse_token("support@d.example", secret=SECRET) is None


def test_token_signed_with_previous_secret_still_works_during_rotation():
    address = f"support+{make_token('ABC123', secret=b'old')}@d.example"
    assert parse_token(address, secret=SECRET, old_secrets=[b"old"]) == "ABC123"


def test_token_is_found_in_cc_or_delivered_to():
    token = make_token("XYZ9", secret=SECRET)
    parsed = message(
        "<c@x>",
        headers={"Cc": "Other <o@x>", "Delivered-To": f"support+{token}@desk.example"},
    )
    assert find_token(parsed, secret=SECRET) == "XYZ9"


def test_reply_token_threads_when_message_ids_are_unknown():
    token = make_token("XYZ9", secret=SECRET)
    parsed = message("<c@x>", ["<lost@x>"], to=f"support+{token}@desk.example")
    match = choose_thread(parsed, **lookups(known={}, tokens={"XYZ9": 5}))
    assert (match.ticket, match.method, match.key) == (5, "token", "XYZ9")


def test_subject_tag_threads_a_participant():
    parsed = message("<c@x>", subject="Re: [#ABC123] refund", sender="c@example.org")
    match = choose_thread(
        parsed,
        **lookups(known={}, tags={"ABC123": 4}, participants={4: {"c@example.org"}}),
    )
    assert (match.ticket, match.method) == (4, "subject_tag")


def test_stranger_quoting_a_ticket_number_does_not_get_in():
    parsed = message("<s@x>", subject="[#ABC123] let me in", sender="evil@example.net")
    match = choose_thread(
        parsed,
        **lookups(known={}, tags={"ABC123": 4}, participants={4: {"c@example.org"}}),
    )
    assert match.ticket is None
    assert match.refused_tag == "ABC123"


def test_message_ids_beat_token_and_subject_tag():
    token = make_token("OTHER1", secret=SECRET)
    parsed = message(
        "<c@x>",
        ["<desk@x>"],
        to=f"support+{token}@desk.example",
        subject="[#OTHER1] x",
    )
    match = choose_thread(
        parsed, **lookups(known={"<desk@x>": 1}, tokens={"OTHER1": 2}, tags={})
    )
    assert match.ticket == 1


def test_bounce_threads_by_the_bounced_message_id():
    parsed = message("<bounce@mx>")
    match = choose_thread(
        parsed,
        extra_ids=["<desk-out@desk.example>"],
        **lookups(known={"<desk-out@desk.example>": 9}),
    )
    assert match.ticket == 9


def test_unmatched_noise_opens_nothing_and_claims_no_ids():
    index = ThreadIndex(secret=SECRET)
    ticket, _ = index.add(message("<auto@x>", ["<m1@x>"]), may_open=False)
    assert ticket is None
    assert index.ticket_of == {}
