"""Benchmark of the agent pool against the production shape.

Starts ``python -m supportdesk.serve supportdesk.asgi:application --workers 2``
(uvicorn, a socket per worker, as docker-compose.yml runs it) on 127.0.0.1 with
its own PostgreSQL database and a Redis channel layer, connects real websocket
clients, and prints ``name value unit`` lines. Stops by itself.

Quick run (scaled down, a few minutes)::

    .venv/bin/python bench/agent_pool_bench.py

Full run (10,000 contended trials: 5,000 with 32 agents and 5,000 with 64
agents racing for one ticket; 100,000 pool claims by 32 agents; 10,000 events
per agent for 20 agents while their sockets are killed and Redis is restarted
at random)::

    .venv/bin/python bench/agent_pool_bench.py --full

Each part prints ``phase_<name>_s`` and the run ends with ``bench_total_s``.

Agents work what they claim: the tickets a phase's agents claim are closed
as they go (within half a second in the claim loops, after each race), so an
agent holds a handful of tickets as at work, not every ticket of the run.

``BENCH_PG`` (default postgres://postgres@127.0.0.1:5432) chooses the
PostgreSQL server; the database ``sd_agents_bench`` is dropped and recreated.
Redis is a private ``redis-server`` the benchmark starts on a free 127.0.0.1
port (``BENCH_REDIS_SERVER``, default ``redis-server``), because the events
figure restarts it at random; a shared Redis is never touched.
"""

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.agent_pool_setup import (  # noqa: E402
    ENV,
    REDIS_PORT,
    ROOT,
    Console,
    PrivateRedis,
    Resolver,
    close_tickets,
    free_port,
    make_tickets,
    out,
    pct,
    recreate_database,
    route_human,
    seed_agents,
    start_server,
)

# --- figures -----------------------------------------------------------------


async def offer_latency(consoles: list[Console], warmup: int = 50) -> None:
    """Ticket ready -> offer frame, one offer per console, after ``warmup``
    offers that are not counted: a fresh process compiles each statement
    once and prepares it on each connection after a few runs, which the
    first offers of a run pay for and a desk that has been up does not."""
    total = warmup + len(consoles)
    ids = await asyncio.to_thread(make_tickets, total, "triaging")
    marks: dict[int, float] = {}
    latencies = []
    for ticket_id in ids:
        await asyncio.to_thread(route_human, ticket_id, marks)
        deadline = time.perf_counter() + 5
        while time.perf_counter() < deadline:
            got = [c.offers[ticket_id][0] for c in consoles if ticket_id in c.offers]
            if got:
                latencies.append((got[0] - marks[ticket_id]) * 1000)
                break
            await asyncio.sleep(0.0005)
    latencies = latencies[warmup:]
    out("offer_warmup", warmup, "offers")
    out("offer_latency_samples", len(latencies), "offers")
    out("offer_latency_p50", pct(latencies, 0.5), "ms")
    out("offer_latency_p99", pct(latencies, 0.99), "ms")
    await asyncio.to_thread(close_tickets, ids)


async def offer_burst(consoles: list[Console], count: int) -> None:
    from tickets.models import Ticket

    ids = await asyncio.to_thread(make_tickets, count, "triaging")
    marks: dict[int, float] = {}

    def route_slice(part: list[int]) -> None:
        from django.db import connection

        for ticket_id in part:
            route_human(ticket_id, marks)
        connection.close()

    await asyncio.gather(*(asyncio.to_thread(route_slice, ids[i::4]) for i in range(4)))
    offered = set(
        await asyncio.to_thread(
            lambda: list(
                Ticket.objects.filter(pk__in=ids, offered_to__isnull=False).values_list(
                    "pk", flat=True
                )
            )
        )
    )
    await asyncio.sleep(2)
    live = {t for c in consoles for t in c.offers if t in offered}
    # A console heartbeats at least every 5 s; the heartbeat repairs gaps.
    await asyncio.gather(*(c.ask({"type": "heartbeat"}) for c in consoles))
    await asyncio.sleep(0.5)
    seen = {t for c in consoles for t in c.offers if t in offered}
    out("offers_made", len(offered), "offers")
    out("offers_lost_before_heartbeat", len(offered - live), "offers")
    out("offers_lost", len(offered - seen), "offers")
    await asyncio.to_thread(close_tickets, ids)


async def set_accepting(consoles: list[Console], accepting: bool) -> None:
    await asyncio.gather(
        *(c.ask({"type": "status", "accepting": accepting}) for c in consoles)
    )


async def contended(consoles: list[Console], trials: int) -> int:
    ids = await asyncio.to_thread(make_tickets, trials, "awaiting_agent")
    doubles = 0
    for ticket_id in ids:
        replies = await asyncio.gather(
            *(c.ask({"type": "claim", "ticket_id": ticket_id}) for c in consoles)
        )
        winners = sum(1 for frame, _ in replies if frame["type"] == "reply")
        doubles += max(0, winners - 1)
    await asyncio.to_thread(close_tickets, ids)  # the winners did the work
    return doubles


async def pool_claims(consoles: list[Console], total: int) -> None:
    await asyncio.to_thread(make_tickets, total, "awaiting_agent")
    latencies: list[float] = []
    resolver = Resolver()
    claimed = resolver.claimed

    async def worker(console: Console) -> None:
        for _ in range(total):
            started = time.perf_counter()
            frame, at = await console.ask({"type": "claim"})
            if frame["type"] == "error":
                continue
            latencies.append((at - started) * 1000)
            if frame["ticket"] is None:
                return
            claimed.append(frame["ticket"]["id"])

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in consoles))
    elapsed = time.perf_counter() - started
    await resolver.stop()
    out("claim_latency_p50", pct(latencies, 0.5), "ms")
    out("claim_latency_p99", pct(latencies, 0.99), "ms")
    out("claims_per_s", len(claimed) / elapsed, "claims/s")
    out("pool_claims", len(claimed), "claims")
    out("pool_claims_duplicated", len(claimed) - len(set(claimed)), "claims")


async def paced_claims(consoles: list[Console], rate: float, seconds: float) -> None:
    """Claim latency at a steady ``rate`` spread over the agents (Poisson).

    The closed loop above measures throughput: every agent claims again the
    moment it gets an answer, so its latency is mostly queueing (Little's
    law: 32 agents / claims per second). Agents who work their tickets claim
    far less often; this is the latency one of them sees at a given load.
    """
    total = int(rate * seconds)
    await asyncio.to_thread(make_tickets, total, "awaiting_agent")
    latencies: list[float] = []
    mean_gap = len(consoles) / rate
    resolver = Resolver()

    async def worker(console: Console) -> None:
        stop_at = time.perf_counter() + seconds
        while time.perf_counter() < stop_at:
            await asyncio.sleep(random.expovariate(1 / mean_gap))
            started = time.perf_counter()
            frame, at = await console.ask({"type": "claim"})
            if frame["type"] == "reply" and frame["ticket"] is not None:
                latencies.append((at - started) * 1000)
                resolver.claimed.append(frame["ticket"]["id"])

    await asyncio.gather(*(worker(c) for c in consoles))
    await resolver.stop()
    out("claim_paced_rate", rate, "claims/s")
    out("claim_paced_latency_p50", pct(latencies, 0.5), "ms")
    out("claim_paced_latency_p99", pct(latencies, 0.99), "ms")


def audit_double_claims() -> int:
    from django.db.models import Count

    from tickets.models import TicketEvent

    owners = (
        TicketEvent.objects.filter(kind__in=["status.claim", "status.accept"])
        .values("ticket_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    return owners.count()


async def reopen(console: Console) -> int:
    """Reconnect as a console does, retrying while Redis is down; retries."""
    for attempt in range(200):
        try:
            await console.open(resume=True)
            return attempt
        except Exception:
            await asyncio.sleep(0.05)
    raise RuntimeError("console could not reconnect")


async def events_under_kills(
    consoles: list[Console], per_agent: int, redis: PrivateRedis
) -> None:
    """Sockets killed and Redis restarted at random while events are written."""
    from agents.services import agent_events_record

    start = {c.user_id: c.last_seq for c in consoles}
    stop = asyncio.Event()
    retries = []

    def writer(part: list[Console]) -> None:
        from django.db import connection

        # Each transaction logs event i for a few agents, as a ticket change
        # does for its owner and the agent who lost an offer.
        users = [c.user_id for c in part]
        for i in range(per_agent):
            agent_events_record(user_ids=users, event={"type": "bench.event", "n": i})
        connection.close()

    async def killer(console: Console) -> None:
        while not stop.is_set():
            await asyncio.sleep(random.uniform(0.05, 0.5))
            console.kill()
            await asyncio.sleep(random.uniform(0.0, 0.1))
            retries.append(await reopen(console))

    async def restarter() -> None:
        while not stop.is_set():
            await asyncio.sleep(random.uniform(0.5, 2.0))
            if not stop.is_set():
                await asyncio.to_thread(redis.restart, random.uniform(0.05, 0.5))

    started = time.perf_counter()
    tasks = [asyncio.create_task(killer(c)) for c in consoles]
    tasks.append(asyncio.create_task(restarter()))
    slices = [consoles[i : i + 4] for i in range(0, len(consoles), 4)]
    await asyncio.gather(*(asyncio.to_thread(writer, part) for part in slices))
    stop.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    # A console heartbeats at least every 5 s; the heartbeat repairs gaps.
    await asyncio.gather(*(c.ask({"type": "heartbeat"}) for c in consoles))
    await asyncio.sleep(1)
    lost = 0
    for console in consoles:
        expected = set(range(start[console.user_id] + 1, console.last_seq + 1))
        lost += len(expected - console.seqs)
        lost += max(0, start[console.user_id] + per_agent - console.last_seq)
    out("events_per_agent", per_agent, "events")
    out("events_agents", len(consoles), "agents")
    out("events_sockets_killed", len(retries), "kills")
    out("events_reconnect_retries", sum(retries), "retries")
    out("events_redis_restarts", redis.restarts, "restarts")
    out("events_lost", lost, "events")
    out("events_duplicated", sum(c.duplicates for c in consoles), "events")
    out("events_phase_s", elapsed, "s")
    await live_after_restart(consoles)


async def live_after_restart(consoles: list[Console]) -> None:
    """The server is back on the channel layer: new events arrive live."""
    from agents.services import agent_events_record

    before = {c.user_id: c.last_seq for c in consoles}

    def write() -> None:
        for console in consoles:
            agent_events_record(user_ids=[console.user_id], event={"type": "live"})

    await asyncio.to_thread(write)
    await asyncio.sleep(2)  # no heartbeat: only a live notification counts
    live = sum(c.last_seq > before[c.user_id] for c in consoles)
    out("events_live_after_restarts", live, f"of_{len(consoles)}_consoles")


async def reconnect_storm(consoles: list[Console]) -> None:
    """Every agent, accepting offers as at work, loses the socket at once and
    comes back: each reconnect also looks for waiting work to offer them.
    The pool is emptied first, so no offer outlives the storm."""
    await asyncio.to_thread(close_tickets)
    await set_accepting(consoles, True)
    for console in consoles:
        console.kill()
    await asyncio.sleep(0.2)
    failures_before = sum(c.handshake_failures for c in consoles)
    started = time.perf_counter()

    async def back(console: Console) -> None:
        await console.open(resume=True)
        await console.ask({"type": "heartbeat"})

    results = await asyncio.gather(*(back(c) for c in consoles), return_exceptions=True)
    elapsed = (time.perf_counter() - started) * 1000
    failed = sum(isinstance(r, Exception) for r in results)
    failures = sum(c.handshake_failures for c in consoles) - failures_before
    out("reconnect_storm_ms", elapsed, "ms")
    out("reconnect_failures", max(failed, failures), "agents")
    await set_accepting(consoles, False)


async def offer_expiry(consoles: list[Console], samples: int) -> None:
    from agents.models import OfferPolicy

    await asyncio.to_thread(
        lambda: OfferPolicy.objects.create(category="bench-expiry", offer_seconds=1)
    )
    sweeper = subprocess.Popen(
        [sys.executable, "-u", "manage.py", "run_sweeper"],
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=subprocess.PIPE,
    )
    errors = []
    try:
        # Its first line comes once Django is set up: no countdown may start
        # before the sweeper runs, or its start-up is counted as lateness.
        await asyncio.to_thread(sweeper.stdout.readline)
        for i in range(samples):
            pair = consoles[2 * i : 2 * i + 2]
            await set_accepting(pair, True)
            (ticket_id,) = await asyncio.to_thread(
                make_tickets, 1, "triaging", "bench-expiry"
            )
            await asyncio.to_thread(route_human, ticket_id, {})
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline:
                got = [c for c in pair if ticket_id in c.offers]
                if len(got) == 2:
                    first, second = sorted(got, key=lambda c: c.offers[ticket_id][0])
                    expires = datetime.fromisoformat(
                        first.offers[ticket_id][1]["expires_at"]
                    ).timestamp()
                    lag = time.perf_counter() - second.offers[ticket_id][0]
                    errors.append((time.time() - lag - expires) * 1000)
                    break
                await asyncio.sleep(0.005)
            await set_accepting(pair, False)
    finally:
        sweeper.terminate()
        sweeper.wait(10)
    out("offer_expiry_error_p50", pct(errors, 0.5), "ms")
    out("offer_expiry_error_ms", max(errors) if errors else -1.0, "ms")


class Phases:
    """Prints how long each part took, so a full run's length is known."""

    def __init__(self):
        self.started = self.mark = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        out(f"phase_{name}_s", now - self.mark, "s")
        self.mark = now


async def main(args: argparse.Namespace, redis: PrivateRedis) -> None:
    phases = Phases()
    agents = await asyncio.to_thread(seed_agents, 200)
    port = free_port()
    server = start_server(port)
    url = f"ws://127.0.0.1:{port}/ws/agent/"
    consoles = [Console(uid, cookie, url) for uid, cookie in agents]
    try:
        for batch in range(0, len(consoles), 50):
            await asyncio.gather(*(c.open() for c in consoles[batch : batch + 50]))
        phases.done("setup")
        await offer_latency(consoles)
        await offer_burst(consoles, args.burst)
        await set_accepting(consoles, False)
        phases.done("offers")
        doubles = await contended(consoles[:32], args.trials)
        phases.done("contended_32")
        doubles += await contended(consoles[:64], args.trials)
        phases.done("contended_64")
        out("contended_trials", 2 * args.trials, "trials")
        await pool_claims(consoles[:32], args.pool)
        await paced_claims(consoles[:32], args.claim_rate, args.claim_seconds)
        audited = await asyncio.to_thread(audit_double_claims)
        out("double_claims", doubles + audited, "claims")
        phases.done("pool_claims")
        await events_under_kills(consoles[100:120], args.events, redis)
        phases.done("events")
        await reconnect_storm(consoles)
        await offer_expiry(consoles[150:], args.expiry_samples)
        phases.done("storm_expiry")
        out("bench_total_s", time.perf_counter() - phases.started, "s")
    finally:
        await asyncio.gather(*(c.close() for c in consoles), return_exceptions=True)
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--pool", type=int, default=None)
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--expiry-samples", type=int, default=10)
    parser.add_argument("--claim-rate", type=float, default=50.0)
    parser.add_argument("--claim-seconds", type=float, default=10.0)
    options = parser.parse_args()
    full = options.full
    # Per race size: --full races 32 agents 5,000 times and 64 agents 5,000
    # times, 10,000 contended trials in all.
    options.trials = options.trials or (5000 if full else 100)
    options.pool = options.pool or (100_000 if full else 3000)
    options.events = options.events or (10_000 if full else 200)
    redis = PrivateRedis(REDIS_PORT)
    redis.start()
    try:
        recreate_database()
        import django

        django.setup()
        asyncio.run(main(options, redis))
    finally:
        redis.stop()
