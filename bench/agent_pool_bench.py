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
import itertools
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "sd_agents_bench"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
sys.path.insert(0, str(ROOT))
from bench.harness import free_port, wait_for_workers  # noqa: E402

REDIS_PORT = free_port()
REDIS = f"redis://127.0.0.1:{REDIS_PORT}/0"
ENV = {
    "DATABASE_URL": f"{PG}/{DB_NAME}",
    "REDIS_URL": REDIS,
    "CHANNEL_LAYER_PREFIX": "sdagentsbench",
    "CELERY_INPROCESS_WORKER": "false",
    "CELERY_TASK_ALWAYS_EAGER": "true",
    # Bench clients heartbeat only at checkpoints; keep them "present".
    "AGENT_PRESENCE_TIMEOUT": "3600",
    "AGENT_WS_RATE": "1000",
    "AGENT_WS_BURST": "2000",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
    # The production shape: no per-statement query log.
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key",
}
os.environ.update(ENV)


def out(name: str, value: float, unit: str) -> None:
    print(
        f"{name} {value:.1f} {unit}"
        if isinstance(value, float)
        else f"{name} {value} {unit}",
        flush=True,
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else -1.0


# --- setup ---------------------------------------------------------------------


class PrivateRedis:
    """A throwaway redis-server (no persistence) this benchmark may restart."""

    def __init__(self, port: int):
        self.port, self.proc, self.restarts = port, None, 0

    def start(self) -> None:
        binary = os.environ.get("BENCH_REDIS_SERVER", "redis-server")
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port)]
            + ["--save", "", "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.1).close()
                return
            except OSError:
                time.sleep(0.02)
        raise SystemExit("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # a crash, not a clean shutdown
            self.proc.wait(10)
            self.proc = None

    def restart(self, down_for: float) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()
        self.restarts += 1


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        check=True,
        env={**os.environ, **ENV},
    )


def seed_agents(count: int) -> list[tuple[int, str]]:
    """Approved agents with a logged-in session each: (user id, cookie)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from agents.models import AgentProfile

    agents = []
    for i in range(count):
        user = User.objects.create_user(f"bench{i}", password=None)
        AgentProfile.objects.create(
            user=user, languages=["en"], capacity=32000, approved=True
        )
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        agents.append((user.pk, f"sessionid={session.session_key}"))
    return agents


def make_tickets(count: int, status: str, category: str = "") -> list[int]:
    from tickets.models import Customer, Ticket

    customer = Customer.objects.create(name="bench")
    rows = [
        Ticket(
            subject=f"bench {i}",
            channel="api",
            customer=customer,
            status=status,
            category=category,
            reply_token=secrets.token_hex(8),
        )
        for i in range(count)
    ]
    ids = [t.pk for t in Ticket.objects.bulk_create(rows, batch_size=2000)]
    analyze_tickets()
    return ids


def analyze_tickets() -> None:
    """What autovacuum does on a production server after a bulk load.

    The bench's PostgreSQL may run with autovacuum off; without statistics
    the planner takes a fresh pool of thousands for a handful of rows.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tickets_ticket")


def route_human(ticket_id: int, marks: dict) -> None:
    """Triage's hand-over; ``marks`` gets the moment it committed."""
    from django.db import transaction

    from tickets.services import ticket_transition
    from tickets.states import Action

    with transaction.atomic():
        # Registered first, so it runs right at commit, before the dispatch.
        transaction.on_commit(lambda: marks.__setitem__(ticket_id, time.perf_counter()))
        ticket_transition(ticket_id=ticket_id, action=Action.ROUTE_HUMAN)


def close_tickets(ids: list[int]) -> None:
    from tickets.models import Ticket

    Ticket.objects.filter(pk__in=ids).update(
        status="closed", offered_to=None, offer_expires_at=None
    )


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "supportdesk.serve",
            "supportdesk.asgi:application",
            "--workers",
            "2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--ws-max-queue",
            "100000",
        ],
        cwd=ROOT,
        env={**os.environ, **ENV},
    )
    try:
        wait_for_workers(f"http://127.0.0.1:{port}/healthz", server)
    except RuntimeError:
        server.terminate()
        raise SystemExit("the web server did not start") from None
    return server


# --- a console ------------------------------------------------------------------


class Console:
    ids = itertools.count(1)

    def __init__(self, user_id: int, cookie: str, url: str):
        self.user_id, self.cookie, self.url = user_id, cookie, url
        self.seqs: set[int] = set()
        self.duplicates = 0
        self.last_seq = 0
        self.offers: dict[int, tuple[float, dict]] = {}
        self.pending: dict[int, asyncio.Future] = {}
        self.ws = None
        self.handshake_failures = 0

    async def open(self, resume: bool = False) -> None:
        from websockets.asyncio.client import connect

        query = f"?last_seq={self.last_seq}" if resume else ""
        try:
            self.ws = await connect(
                self.url + query,
                origin=self.url.replace("ws://", "http://").split("/ws/")[0],
                additional_headers={"Cookie": self.cookie},
                open_timeout=20,
                ping_interval=None,
                max_queue=None,
                compression=None,
            )
        except Exception:
            self.handshake_failures += 1
            raise
        self.hello = json.loads(await self.ws.recv())
        if not resume:
            self.last_seq = self.hello.get("head", 0)
        self.reader = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws) -> None:
        try:
            async for raw in ws:
                self._frame(json.loads(raw), time.perf_counter())
        except Exception:
            pass

    def _frame(self, frame: dict, now: float) -> None:
        seq = frame.get("seq")
        if seq:
            if seq in self.seqs:
                self.duplicates += 1
            self.seqs.add(seq)
            self.last_seq = max(self.last_seq, seq)
        if frame["type"] == "offer.created":
            self.offers.setdefault(frame["ticket"]["id"], (now, frame))
        elif frame["type"] in {"reply", "error"}:
            future = self.pending.pop(frame.get("re"), None)
            if future and not future.done():
                future.set_result((frame, now))

    async def ask(self, payload: dict, timeout: float = 30) -> tuple[dict, float]:
        ref = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[ref] = future
        await self.ws.send(json.dumps({**payload, "id": ref}))
        return await asyncio.wait_for(future, timeout)

    def kill(self) -> None:
        if self.ws is not None:
            self.ws.transport.abort()  # no close handshake: a dropped network

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


# --- figures -----------------------------------------------------------------


async def offer_latency(consoles: list[Console]) -> None:
    ids = await asyncio.to_thread(make_tickets, len(consoles), "triaging")
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


class Resolver:
    """Agents work what they claim: the tickets claimed are closed in the
    background every ``every`` seconds, so an agent holds the handful it
    claimed since, as at work, not every ticket of the run. The capacity
    check counts what an agent holds; thousands held per agent is no
    desk's state (a --full run's 100,000 claims would leave 3,000 each)."""

    def __init__(self, every: float = 0.5):
        self.claimed: list[int] = []
        self.closed, self.stopping = 0, asyncio.Event()
        self.task = asyncio.create_task(self._run(every))

    async def _run(self, every: float) -> None:
        while True:
            try:
                await asyncio.wait_for(self.stopping.wait(), every)
            except TimeoutError:
                pass
            batch = self.claimed[self.closed :]
            self.closed += len(batch)
            if batch:
                await asyncio.to_thread(close_tickets, batch)
            if self.stopping.is_set():
                return

    async def stop(self) -> None:
        self.stopping.set()
        await self.task


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
