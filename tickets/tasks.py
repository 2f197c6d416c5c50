"""Celery tasks of the email intake and outbox: thin wrappers over services."""

from celery import Task, shared_task
from celery.utils.imports import symbol_by_name

from tickets import outbox


@shared_task(name="tickets.deliver_email", acks_late=True)
def deliver_email(outbox_id: int) -> str:
    """Send one outbox row; a second run finds it claimed or sent and skips."""
    return outbox.outbox_send(outbox_id=outbox_id)


@shared_task(name="tickets.deliver_email_sweep", acks_late=True)
def deliver_email_sweep() -> int:
    """Beat: retry due rows (backoff) and rows whose sender's lease lapsed."""
    due = outbox.outbox_due()
    for outbox_id in due:
        deliver_email.delay(outbox_id)
    return len(due)


@shared_task(name="tickets.poll_imap", acks_late=True)
def poll_imap() -> int:
    """Beat: read new mail from the configured IMAP folder."""
    from tickets import imap

    return imap.imap_poll()


@shared_task(name="tickets.fan_out", acks_late=True)
def fan_out(task_path: str, ids: list[int]) -> int:
    """Queue the task at ``task_path`` ("module:name") once per id, so a batch
    writer publishes one message instead of one per row.

    Every task it queues is idempotent by its id, so a redelivered fan-out
    (``acks_late``) only queues runs that find their work done.
    """
    task = symbol_by_name(task_path)
    if not isinstance(task, Task):
        raise TypeError(f"{task_path} is not a task")
    for item in ids:
        task.delay(item)
    return len(ids)
