"""The Celery app: queues and the beat schedule are declared here and only here."""

import os

from celery import Celery

from supportdesk.env import env_float

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

app = Celery("supportdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # With acks_late on Redis, a worker that may hold only one unacknowledged
    # task waits for its next poll between tasks (seconds of queueing measured
    # by bench.triage_e2e_bench); a few in hand keep it busy. Tasks are short.
    worker_prefetch_multiplier=4,
    task_default_queue="default",
    task_routes={
        "triage.*": {"queue": "triage"},
        "tickets.deliver*": {"queue": "delivery"},
    },
    # The memory transport polls; keep the embedded desk snappy.
    broker_transport_options={"polling_interval": 0.01},
    beat_schedule={
        "poll-imap": {
            "task": "tickets.poll_imap",
            "schedule": env_float("IMAP_POLL_SECONDS", 60.0),
        },
        "deliver-email-sweep": {
            "task": "tickets.deliver_email_sweep",
            "schedule": 30.0,
        },
        # Backstop: tickets stuck in "triaging" (a worker died) go to humans.
        "triage-sweep-stuck": {
            "task": "triage.sweep_stuck",
            "schedule": env_float("TRIAGE_SWEEP_INTERVAL_SECONDS", 60.0),
        },
    },
)
app.autodiscover_tasks()
# A worker loads the triage models before it takes work (signal handlers).
import triage.warmup  # noqa: E402, F401

# Queues a worker must consume for every task to run somewhere.
QUEUES = ("default", "triage", "delivery")


@app.task(name="desk.echo")
def echo(value: str) -> str:
    """Round trip through the broker and a worker; used by health checks."""
    return value
