"""Email intake through the real pipeline into a fresh PostgreSQL database.

A backlog goes through the batched path (``tickets.email_batch``, as
``manage.py ingest_email`` does). Prints ``email_ingest_rate`` (in order,
then shuffled into a second fresh database), ``email_threaded_share``
(shuffled, against the generator's ground truth),
``email_duplicates_on_redelivery`` (the same set delivered again),
``email_ingest_cpu_ms`` (CPU of this process, its threads and its parse
workers, per email), ``email_ingest_sql_per_email`` (database calls; a
pipelined executemany counts once) and, for comparison, the one-at-a-time
path's ``email_ingest_single_rate`` and ``email_ingest_single_cpu_ms`` over
the first ``--single`` messages.
Run from the repository root: ``python -m bench.email_ingest_bench``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

from bench.harness import ROOT, fresh_database, report

CHILD = "--child"


class _Calls:
    """Counts database calls without the cost of Django's query log."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return sum(u.ru_utime + u.ru_stime for u in (own, children))


def child(order: str, n: int, workers: int, single: int) -> None:
    import django

    django.setup()
    from django.db import connection

    from bench.emailgen import generate, score, shuffled
    from tickets.email_batch import Incoming, email_receive_many
    from tickets.email_services import email_receive
    from tickets.models import InboundEmail

    emails = generate(n)
    batch = emails if order == "order" else shuffled(emails)
    items = [Incoming(raw=email.raw) for email in batch]
    calls = _Calls()

    def ingest() -> None:
        receipts = email_receive_many(
            items=items, source="bench", parse_workers=workers
        )
        for _ in receipts:
            pass

    with connection.execute_wrapper(calls):
        wall, cpu = time.perf_counter(), _cpu()
        ingest()
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    stored = InboundEmail.objects.count()
    ingest()
    duplicates = InboundEmail.objects.count() - stored
    ticket_of = dict(
        InboundEmail.objects.exclude(ticket=None).values_list(
            "rfc_message_id", "ticket_id"
        )
    )
    result = score(emails, ticket_of)
    suffix = "" if order == "order" else "_shuffled"
    report(f"email_ingest_rate{suffix}", n / wall, "emails/s")
    if order == "order":
        return
    report("email_threaded_share", 100 * result.share, "%")
    report("email_duplicates_on_redelivery", duplicates, "messages")
    report("email_ingest_cpu_ms", 1000 * cpu / n, "ms/email")
    report("email_ingest_sql_per_email", calls.count / n, "calls/email")
    if single:
        InboundEmail.objects.all().delete()  # the thread index stays: threads
        wall, cpu = time.perf_counter(), _cpu()
        for email in batch[:single]:
            email_receive(raw=email.raw, source="bench")
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        report("email_ingest_single_rate", single / wall, "emails/s")
        report("email_ingest_single_cpu_ms", 1000 * cpu / single, "ms/email")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2_000)
    parser.add_argument(
        "--parse-workers", type=int, default=1, help="0 parses in this process"
    )
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument(CHILD, choices=["order", "shuffled"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n, args.parse_workers, args.single)
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
        cmd += [
            "--parse-workers",
            str(args.parse_workers),
            "--single",
            str(args.single),
        ]
        subprocess.run([*cmd, CHILD, order], cwd=ROOT, env=env, check=True)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    main()
