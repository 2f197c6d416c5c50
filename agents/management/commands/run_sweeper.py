"""``manage.py run_sweeper``: the pool's timers, for production."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from agents import sweeper


class Command(BaseCommand):
    help = "Expire offers, mark vanished agents offline and reclaim leases."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--interval", type=float, default=settings.AGENT_SWEEP_INTERVAL
        )
        parser.add_argument("--ticks", type=int, default=None)

    def handle(self, *args, interval: float, ticks: int | None, **options) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"sweeping every {interval}s")
        sweeper.run(interval=interval, stop=stop, ticks=ticks)
