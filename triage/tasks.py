"""Celery tasks of the triage worker: ids in, one service call each."""

from celery import shared_task

from triage import services


@shared_task(name="triage.triage_message", acks_late=True)
def triage_message(message_id: int) -> None:
    services.message_triage(message_id=message_id)


@shared_task(name="triage.sweep_stuck", acks_late=True)
def sweep_stuck() -> int:
    return services.triage_sweep_stuck()
