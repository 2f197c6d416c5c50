"""Email intake through the real pipeline into a fresh PostgreSQL database.

Prints ``email_ingest_rate`` (in order, then shuffled into a second fresh
database), ``email_threaded_share`` (shuffled, against the generator's ground
truth), ``email_duplicates_on_redelivery`` and ``email_ingest_cpu_ms``.
Run from the repository root: ``python -m bench.email_ingest_bench``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from bench.harness import ROOT, fresh_database, report

CHILD = "--child"


def child(order: str, n: int) -> None:
    import time

    import django

    django.setup()
    from bench.emailgen import generate, score, shuffled
    from tickets.email_services import email_receive
    from tickets.models import InboundEmail

    emails = generate(n)
    batch = emails if order == "order" else shuffled(emails)
    wall, cpu = time.perf_counter(), time.process_time()
    for email in batch:
        email_receive(raw=email.raw, source="bench")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stored = InboundEmail.objects.count()
    for email in batch:
        email_receive(raw=email.raw, source="bench")
    duplicates = InboundEmail.objects.count() - stored
    ticket_of = dict(
        InboundEmail.objects.exclude(ticket=None).values_list(
            "rfc_message_id", "ticket_id"
        )
    )
    result = score(emails, ticket_of)
    suffix = "" if order == "order" else "_shuffled"
    report(f"email_ingest_rate{suffix}", n / wall, "emails/s")
    if order == "shuffled":
        report("email_threaded_share", 100 * result.share, "%")
        report("email_duplicates_on_redelivery", duplicates, "messages")
        report("email_ingest_cpu_ms", 1000 * cpu / n, "ms/email")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2_000)
    parser.add_argument(CHILD, choices=["order", "shuffled"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n)
        return
    for order in ("order", "shuffled"):
        env = fresh_database(f"bench_email_{order}")
        env.update(
            MEDIA_ROOT=str(ROOT / "var" / "bench-media"),
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            CELERY_TASK_ALWAYS_EAGER="false",
            CELERY_INPROCESS_WORKER="false",
        )
        cmd = [sys.executable, "-m", "bench.email_ingest_bench", "-n", str(args.n)]
        subprocess.run([*cmd, CHILD, order], cwd=ROOT, env=env, check=True)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    main()
