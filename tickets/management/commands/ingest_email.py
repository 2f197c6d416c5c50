"""``manage.py ingest_email PATH...``: .eml files, directories, mboxes, Maildirs.

A backlog goes through the batched intake path (``tickets.email_batch``):
the same rules as one message at a time, many rows per statement.
"""

from collections import Counter

from django.core.management.base import BaseCommand

from supportdesk.commands import require_migrated
from tickets import email_services
from tickets.email_batch import BATCH_SIZE, Incoming, email_receive_many
from tickets.intake import iter_raw_messages


class Command(BaseCommand):
    help = "Ingest emails from files, directories, mboxes or Maildirs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help="messages per transaction (1 processes them one by one)",
        )
        parser.add_argument(
            "--parse-workers",
            type=int,
            default=0,
            help="processes parsing the next batch while one is written",
        )

    def handle(self, *args, **options) -> None:
        require_migrated()
        counts = ingest_paths(
            options["paths"],
            batch_size=options["batch_size"],
            parse_workers=options["parse_workers"],
        )
        self.stdout.write(summary(counts))


def ingest_paths(
    paths: list[str], *, batch_size: int = BATCH_SIZE, parse_workers: int = 0
) -> Counter:
    items = (
        Incoming(raw=item.raw, source_ref=item.source, error=item.error or "")
        for item in iter_raw_messages(paths)
    )
    receipts = email_receive_many(
        items=items,
        source="command",
        batch_size=batch_size,
        parse_workers=parse_workers,
    )
    return Counter(receipt.outcome for receipt in receipts)


def summary(counts: Counter) -> str:
    # Unmatched auto-replies and bounces are stored without a ticket; they are
    # new rows, so they count as new.
    new = counts[email_services.NEW] + counts[email_services.NOISE]
    return (
        f"ingested {new} new, {counts[email_services.THREADED]} threaded, "
        f"{counts[email_services.DUPLICATE]} duplicates, "
        f"{counts[email_services.QUARANTINED]} quarantined"
    )
