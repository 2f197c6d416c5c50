"""The generated workload parses cleanly and threads fully in any order."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.emailgen import generate, score, shuffled
from tickets.intake.mime import parse_email
from tickets.intake.noise import classify
from tickets.intake.threading import ThreadIndex

N = 400


@pytest.fixture(scope="module")
def workload():
    return generate(N)


def ingest(emails):
    index = ThreadIndex()
    ticket_of = {}
    for email in emails:
        parsed = parse_email(email.raw)
        verdict = classify(parsed)
        extra = [verdict.original_message_id] if verdict.original_message_id else []
        ticket, _ = index.add(parsed, extra_ids=extra, may_open=not verdict.is_noise)
        ticket_of[parsed.message_id] = ticket
    return ticket_of


def test_generator_is_deterministic(workload):
    assert [e.raw for e in generate(N)] == [e.raw for e in workload]


def test_workload_has_replies_noise_and_many_charsets(workload):
    kinds = Counter(e.kind for e in workload)
    assert kinds["reply"] > N * 0.4
    assert kinds["auto_reply"] and kinds["bounce"]
    assert len({e.charset for e in workload}) >= 10


def test_every_generated_message_parses_and_noise_is_classified(workload):
    for email in workload:
        parsed = parse_email(email.raw)
        assert parsed.quarantine_reason is None
        assert parsed.text
        assert parsed.message_id == email.message_id
        assert classify(parsed).is_noise == (email.kind in ("auto_reply", "bounce"))


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_all_replies_thread_correctly_in_any_delivery_order(workload, seed):
    emails = workload if seed is None else shuffled(workload, seed=seed)
    result = score(workload, ingest(emails))
    assert result.share == 1.0
    assert result.merged_threads == 0
