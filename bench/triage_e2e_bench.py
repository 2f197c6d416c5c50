"""Triage end to end on the production shape: tickets committed into PostgreSQL,
one Celery worker process (solo pool, local backend) on Redis reading them, and
the time from the customer's message being committed to the ticket being routed
(to the human queue or answered by the AI), read from the audit trail.

Prints the worker's throughput and the end-to-end p50/p99.

    .venv/bin/python -m bench.triage_e2e_bench --rate 5    # latency, unsaturated
    .venv/bin/python -m bench.triage_e2e_bench --rate 50   # throughput, saturated
"""

import argparse
import os
import time

from bench.harness import celery_worker, fresh_database, median, percentile, report

TEXTS = [
    "My card still hasn't arrived after two weeks, where is it?",
    "Someone stole my card this morning, please block it",
    "Why was I charged a fee for my card payment?",
    "How do I top up my account with a bank transfer?",
    "The exchange rate you used looks wrong",
    "Jag vill prata med en människa, tack",
    "Meine Überweisung ist noch nicht angekommen",
    "¿Cómo puedo cambiar mi PIN?",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="messages/s offered")
    args = parser.parse_args()
    env = fresh_database("supportdesk_bench_triage")
    os.environ.update(env)
    import django

    django.setup()
    from tickets import services
    from tickets.models import TicketEvent
    from triage.models import TriageResult

    proc = celery_worker(env)
    try:
        # Warm the worker (model load) before measuring.
        customer = services.customer_get_or_create(email="warm@example.com")
        services.ticket_create(customer=customer, subject="warm", text=TEXTS[0])
        _wait_for(TriageResult, 1, timeout=120)
        started = time.perf_counter()
        for i in range(args.messages):
            customer = services.customer_get_or_create(email=f"c{i % 50}@example.com")
            services.ticket_create(
                customer=customer, subject=f"Message {i}", text=TEXTS[i % len(TEXTS)]
            )
            time.sleep(max(0.0, started + (i + 1) / args.rate - time.perf_counter()))
        _wait_for(TriageResult, args.messages + 1, timeout=300)
        elapsed = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    created = dict(
        TicketEvent.objects.filter(kind="ticket.created").values_list(
            "ticket_id", "created_at"
        )
    )
    routed = {}
    for ticket_id, at in TicketEvent.objects.filter(
        kind__in=["status.route_human", "status.auto_answer"]
    ).values_list("ticket_id", "created_at"):
        routed.setdefault(ticket_id, at)
    waits = [
        (routed[t] - created[t]).total_seconds() * 1000 for t in routed if t in created
    ][1:]
    latencies = list(
        TriageResult.objects.order_by("id").values_list("latency_ms", flat=True)
    )[1:]
    report("triage_messages", len(waits), "messages")
    report("triage_unrouted", args.messages + 1 - len(routed), "tickets")
    span = (max(routed.values()) - min(routed.values())).total_seconds()
    report("triage_analysis_latency_p50", median(latencies), "ms")
    # Routed tickets per second of the one worker process, whole task included
    # (analysis, writes, dispatch); meaningful when the offered rate saturates it.
    report("triage_worker_throughput", (len(routed) - 1) / span, "messages/s")
    report("triage_offered_rate", args.messages / elapsed, "messages/s")
    report("triage_end_to_end_p50", percentile(waits, 50), "ms")
    report("triage_end_to_end_p99", percentile(waits, 99), "ms")


def _wait_for(model, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while model.objects.count() < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {model.objects.count()} of {count} triaged")
        time.sleep(0.2)


if __name__ == "__main__":
    main()
