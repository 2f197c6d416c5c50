"""Print ``email_parse_rate <value> emails/s``: pure parsing, no database.

Parses the generated 2,000-message workload (``bench.emailgen``) with
``parse_email`` and classifies it with ``noise.classify``, single process.
Run from the repository root: ``python -m bench.email_parse_rate``.
"""

from __future__ import annotations

import argparse
import time

from bench.emailgen import generate
from tickets.intake.mime import parse_email
from tickets.intake.noise import classify


def measure(raws: list[bytes], *, rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for raw in raws:
            classify(parse_email(raw, max_attachment_bytes=10 * 1024 * 1024))
        best = max(best, len(raws) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2_000, help="messages to generate")
    parser.add_argument("--rounds", type=int, default=3, help="best of N rounds")
    args = parser.parse_args()
    raws = [email.raw for email in generate(args.n)]
    print(f"email_parse_rate {measure(raws, rounds=args.rounds):.0f} emails/s")


if __name__ == "__main__":
    main()
