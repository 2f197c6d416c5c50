"""Ticket lists with 100,000 tickets in PostgreSQL: the agent's API list, the
supervisor's API list (plain and filtered), the admin changelist and an admin
search. Prints the SQL queries per page and the p50 time of each.

    .venv/bin/python -m bench.list_bench [--tickets 100000] [--repeat 30]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import fresh_database, report

# One statement per execute: with server-side binding (the default on
# PostgreSQL) a statement is prepared, and a prepared statement holds one command.
SEED_CUSTOMERS_SQL = """
INSERT INTO tickets_customer (email, name, preferred_language, created_at)
SELECT 'c' || g || '@example.com', 'Customer ' || g, 'en', now()
FROM generate_series(1, %(customers)s) g
"""

SEED_TICKETS_SQL = """
INSERT INTO tickets_ticket (subject, channel, status, category, priority, language,
    sentiment, wants_human, customer_id, assignee_id, reply_token, version,
    created_at, updated_at)
SELECT 'Ticket ' || g || ' about '
        || (ARRAY['card','refund','transfer','pin'])[1 + g %% 4],
    (ARRAY['email','chat','api'])[1 + g %% 3],
    (ARRAY['awaiting_agent','claimed','waiting_on_customer','resolved','closed',
           'auto_answered'])[1 + g %% 6],
    (ARRAY['card_arrival','lost_or_stolen_card','refund_not_showing_up',
           'transfer_not_received_by_recipient'])[1 + g %% 4],
    g %% 4, 'en', 'neutral', false,
    (SELECT min(id) FROM tickets_customer) + g %% %(customers)s,
    CASE WHEN g %% 2000 = 0 THEN %(agent_id)s END,
    md5(g::text), 0, now() - (g || ' seconds')::interval, now()
FROM generate_series(1, %(tickets)s) g
"""


def timed(client, url: str, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    env = fresh_database("supportdesk_bench_list")
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from agents.models import AgentProfile

    supervisor = User.objects.create_superuser("sup", password="x")
    agent = User.objects.create_user("agent", password="x")
    AgentProfile.objects.create(user=agent, approved=True, languages=["en"])
    seed = {"customers": 5000, "tickets": args.tickets, "agent_id": agent.pk}
    with connection.cursor() as cursor:
        cursor.execute(SEED_CUSTOMERS_SQL, seed)
        cursor.execute(SEED_TICKETS_SQL, seed)
        cursor.execute("ANALYZE")
    report("tickets_in_database", args.tickets, "tickets")
    pages = {
        "agent_list": (agent, "/api/tickets/"),
        "supervisor_list": (supervisor, "/api/tickets/"),
        "supervisor_filtered": (
            supervisor,
            "/api/tickets/?status=awaiting_agent&priority=urgent",
        ),
        "admin_changelist": (supervisor, "/admin/tickets/ticket/"),
        "admin_filtered": (supervisor, "/admin/tickets/ticket/?status__exact=claimed"),
        "admin_search": (supervisor, "/admin/tickets/ticket/?q=refund"),
    }
    for name, (user, url) in pages.items():
        client = Client()
        client.force_login(user)
        client.get(url)  # warm
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        report(f"ticket_list_queries_{name}", len(queries.captured_queries), "queries")
        report(f"ticket_list_p50_{name}", timed(client, url, args.repeat), "ms")


if __name__ == "__main__":
    main()
