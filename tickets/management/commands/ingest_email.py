"""``manage.py ingest_email PATH...``: .eml files, directories, mboxes, Maildirs."""

from collections import Counter

from django.core.management.base import BaseCommand

from tickets import email_services
from tickets.intake import iter_raw_messages


class Command(BaseCommand):
    help = "Ingest emails from files, directories, mboxes or Maildirs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+")

    def handle(self, *args, **options) -> None:
        counts = ingest_paths(options["paths"])
        self.stdout.write(summary(counts))


def ingest_paths(paths: list[str]) -> Counter:
    counts: Counter = Counter()
    for item in iter_raw_messages(paths):
        receipt = email_services.email_receive(
            raw=item.raw,
            source="command",
            source_ref=item.source,
            error=item.error or "",
        )
        counts[receipt.outcome] += 1
    return counts


def summary(counts: Counter) -> str:
    # Unmatched auto-replies and bounces are stored without a ticket; they are
    # new rows, so they count as new.
    new = counts[email_services.NEW] + counts[email_services.NOISE]
    return (
        f"ingested {new} new, {counts[email_services.THREADED]} threaded, "
        f"{counts[email_services.DUPLICATE]} duplicates, "
        f"{counts[email_services.QUARANTINED]} quarantined"
    )
