"""POST /api/tickets/ against the production shape: PostgreSQL, Redis, uvicorn
with 2 workers. Prints requests/s, p50 and p99 at 1, 8 and 32 clients, plus the
SQL queries and the web processes' CPU per create.

    .venv/bin/python -m bench.api_bench [--seconds 10]

No Celery worker runs: the triage tasks the creates queue are left in a Redis
database of the bench's own (``BENCH_API_REDIS``), emptied before and after,
so no other benchmark's worker picks them up.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.harness import ROOT, fresh_database, http_request, load, report, server

SETUP = """
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
user = User.objects.create_user("bench", password="x", is_staff=True)
print(Token.objects.create(user=user).key)
"""

# The request as the bench sends it, token included; BEGIN and COMMIT are
# round trips too, but not queries.
COUNT = """
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework.authtoken.models import Token
api = APIClient()
api.credentials(HTTP_AUTHORIZATION="Token " + Token.objects.get().key)
body = {"subject": "count", "text": "count", "customer_email": "count@example.com"}
api.post("/api/tickets/", body, format="json")
with CaptureQueriesContext(connection) as ctx:
    api.post("/api/tickets/", body, format="json")
sql = [q["sql"] for q in ctx.captured_queries]
control = [s for s in sql if s.split()[0] in {"BEGIN", "COMMIT", "SAVEPOINT"}]
print(len(sql) - len(control), len(sql))
"""
REDIS = os.environ.get("BENCH_API_REDIS", "redis://127.0.0.1:6379/10")


def shell(env: dict, code: str) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def process_cpu_seconds(pids: list[int]) -> dict[int, float]:
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, IndexError):
            pass
    return out


def uvicorn_pids(port: int) -> list[int]:
    out = subprocess.run(
        ["pgrep", "-f", "--", f"--port {port}"], capture_output=True, text=True
    )
    parents = [int(p) for p in out.stdout.split()]
    children = []
    for pid in parents:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        children += [int(k) for k in kids.stdout.split()]
    return parents + children


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    env = fresh_database("supportdesk_bench_api")
    env["REDIS_URL"] = REDIS
    subprocess.run(
        ["redis-cli", "-u", REDIS, "flushdb"], check=True, capture_output=True
    )
    token = shell(env, SETUP)
    queries, round_trips = map(int, shell(env, COUNT).split())
    report("api_queries_per_create", queries, "queries")
    report("api_round_trips_per_create", round_trips, "statements")
    try:
        run_load(env, token, args.seconds)
    finally:
        subprocess.run(["redis-cli", "-u", REDIS, "flushdb"], capture_output=True)


def run_load(env: dict, token: str, seconds: float) -> None:
    body = json.dumps(
        {
            "subject": "Card not arrived",
            "text": "Ordered two weeks ago, nothing yet.",
            "customer_email": "bench@example.com",
        }
    ).encode()
    request = http_request(
        "POST",
        "/api/tickets/",
        body,
        {"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    total_cpu = total_done = 0.0
    with server(env, workers=2) as port:
        # Warm up connections and caches in both workers (a keep-alive
        # connection stays with the worker that accepted it).
        load(port, request, 32, 2.0)
        pids = uvicorn_pids(port)
        for clients in (1, 8, 32):
            before = process_cpu_seconds(pids)
            result = load(port, request, clients, seconds)
            after = process_cpu_seconds(pids)
            per_process = [after[p] - before.get(p, after[p]) for p in after]
            cpu = sum(per_process)
            done = result["requests"]
            total_cpu, total_done = total_cpu + cpu, total_done + done
            bad = {k: v for k, v in result["statuses"].items() if k != 201}
            if bad:
                print(f"# unexpected statuses at {clients} clients: {bad}")
            report(f"api_ticket_create_rps_c{clients}", result["rps"], "req/s")
            report(f"api_ticket_create_p50_c{clients}", result["p50"], "ms")
            report(f"api_ticket_create_p99_c{clients}", result["p99"], "ms")
            report(
                f"api_ticket_create_server_cpu_c{clients}", cpu / done * 1000, "ms/req"
            )
            # Keep-alive connections stay with the worker that accepted them:
            # the busiest worker's share of the work shows an uneven spread.
            report(
                f"api_busiest_worker_share_c{clients}",
                100 * max(per_process) / cpu if cpu else 0.0,
                "%",
            )
    report("api_server_cpu_per_create", total_cpu / total_done * 1000, "ms")


if __name__ == "__main__":
    main()
