"""Celery tasks of the triage worker."""

from celery import shared_task

from triage import services


@shared_task(name="triage.triage_message", acks_late=True)
def triage_message(message_id: int) -> None:
    services.message_triage(message_id=message_id)
