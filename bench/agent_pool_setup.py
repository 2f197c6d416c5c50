"""The agent pool benchmark's setup: its database, Redis, web server, consoles.

Importing it sets the environment the benchmark and its server run with
(``ENV``): a database of its own, a private Redis, the production settings.
"""

import asyncio
import itertools
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import free_port, wait_for_workers

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "sd_agents_bench"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")

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


def close_tickets(ids: list[int] | None = None) -> None:
    """Close these tickets, or (None) every ticket still waiting for an agent."""
    from tickets.models import Ticket

    if ids is None:
        rows = Ticket.objects.filter(status="awaiting_agent")
    else:
        rows = Ticket.objects.filter(pk__in=ids)
    rows.update(status="closed", offered_to=None, offer_expires_at=None)


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
