"""chat_message_rtt: customer sends -> stored -> seen by their other tab and agent.

Starts the production shape on 127.0.0.1 only: uvicorn serving
``supportdesk.asgi:application`` against PostgreSQL and Redis (a database of its
own, created fresh and dropped afterwards), plus one Celery worker for triage.
Then it opens ``--sessions`` chat sessions, each with two customer tabs
(real websockets on ``/ws/chat/<token>/``) and the claiming agent's socket on
``/ws/tickets/<id>/``, and every session sends ``--messages`` messages, one
after the other with a think time in between. A message's round trip is from
the moment the first tab sends it to the moment both the second tab and the
agent have received it; the server acknowledging it to the sender is reported
separately.

    .venv/bin/python bench/chat_rtt_bench.py            # 200 sessions
    .venv/bin/python bench/chat_rtt_bench.py --sessions 50 --messages 5

Prints ``name value unit`` lines, among them ``chat_message_rtt_p50`` and
``chat_message_rtt_p99``. Everything it starts is stopped, also on failure or
after ``--timeout`` seconds.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.harness import (  # noqa: E402
    celery_worker,
    free_port,
    percentile,
    wait_for_workers,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10, help="per session")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--web-workers", type=int, default=1)
    parser.add_argument("--no-celery", action="store_true")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sd_chat_bench"
        ),
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
    )
    return parser.parse_args()


def server_env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    env.update(
        DJANGO_SETTINGS_MODULE="supportdesk.settings",
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        CHANNEL_LAYER_PREFIX=f"sdbench{secrets.token_hex(3)}",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        CELERY_INPROCESS_WORKER="false",
        # Every simulated customer comes from 127.0.0.1: the per-IP limits
        # would measure themselves, so they are off; per session stays on.
        CHAT_RATE_PER_IP="0",
        CHAT_SESSIONS_PER_IP="0",
        CHAT_RATE_PER_SESSION=str(max(20, args.messages * 2)),
    )
    return env


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("sd_") or not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing to recreate database {name!r}: use an sd_* name")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


# --- desk-side setup, through the services ----------------------------------


def make_agents(count: int) -> list[tuple[int, str]]:
    """Approved agents with a logged-in session cookie each."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from agents.models import AgentProfile

    agents = []
    for n in range(count):
        user = User.objects.create_user(f"bench-agent-{n}", password=None)
        AgentProfile.objects.create(user=user, approved=True, languages=["en"])
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        agents.append((user.pk, store.session_key))
    return agents


def claim(ticket_id: int, agent_id: int) -> None:
    """Put the ticket in the agent's hands, whatever triage is doing to it."""
    from tickets import services
    from tickets.models import Ticket
    from tickets.states import Action, IllegalTransition, TicketConflict, sources_of

    for _ in range(50):
        ticket = Ticket.objects.get(pk=ticket_id)
        try:
            if ticket.status in sources_of(Action.ESCALATE):
                services.ticket_transition(ticket_id=ticket_id, action=Action.ESCALATE)
            services.ticket_transition(
                ticket_id=ticket_id,
                action=Action.CLAIM,
                actor_id=agent_id,
                actor_kind="agent",
                changes={"assignee_id": agent_id},
            )
            return
        except (IllegalTransition, TicketConflict):
            time.sleep(0.05)
    raise RuntimeError(f"could not claim ticket {ticket_id}")


# --- the clients -------------------------------------------------------------


class Socket:
    """A websocket whose frames are matched to waiters by message text."""

    def __init__(self, conn, text_of):
        self.conn = conn
        self.text_of = text_of
        self.waiters: dict[str, asyncio.Future] = {}
        self.frames: list[dict] = []
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.conn:
                frame = json.loads(raw)
                text = self.text_of(frame)
                if text is not None and text in self.waiters:
                    self.waiters.pop(text).set_result(time.perf_counter())
                else:
                    self.frames.append(frame)

    def expect(self, text: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiters[text] = future
        return future

    async def wait_type(self, kind: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.frames:
                if frame.get("type") == kind:
                    self.frames.remove(frame)
                    return frame
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no {kind} frame")

    async def close(self) -> None:
        await self.conn.close()
        self.reader.cancel()


def chat_text(frame: dict) -> str | None:
    if frame.get("type") == "chat.message":
        return frame["message"]["text"]
    if frame.get("type") == "message.ack":
        return "ack:" + frame["client_msg_id"]
    return None


def agent_text(frame: dict) -> str | None:
    if frame.get("type") == "message.created":
        return frame["message"]["text"]
    return None


async def open_socket(url: str, origin: str, text_of, cookie: str = "") -> Socket:
    from websockets.asyncio.client import connect

    headers = {"Cookie": cookie} if cookie else None
    conn = await connect(
        url, origin=origin, additional_headers=headers, open_timeout=60
    )
    return Socket(conn, text_of)


async def start_session(http, base: str, ws: str, n: int) -> dict:
    response = await http.post(f"{base}/chat/api/sessions", json={"name": f"c{n}"})
    response.raise_for_status()
    token = response.json()["token"]
    tab1 = await open_socket(f"{ws}/ws/chat/{token}/", base, chat_text)
    tab2 = await open_socket(f"{ws}/ws/chat/{token}/", base, chat_text)
    ack = tab1.expect("ack:first")
    await tab1.conn.send(
        json.dumps({"type": "message.send", "client_msg_id": "first", "text": "hi"})
    )
    await asyncio.wait_for(ack, 60)
    opened = await tab2.wait_type("chat.ticket")
    return {"n": n, "tab1": tab1, "tab2": tab2, "ticket_id": opened["ticket_id"]}


async def converse(session: dict, args, rtts: list, acks: list, errors: list):
    tab1, tab2, agent = session["tab1"], session["tab2"], session["agent"]
    await asyncio.sleep(random.uniform(0, args.think))  # spread the starts
    for m in range(args.messages):
        text = f"session {session['n']} message {m}"
        client_id = f"m{m}"
        waits = [tab2.expect(text), agent.expect(text), tab1.expect(f"ack:{client_id}")]
        started = time.perf_counter()
        await tab1.conn.send(
            json.dumps(
                {"type": "message.send", "client_msg_id": client_id, "text": text}
            )
        )
        try:
            seen_tab, seen_agent, acked = await asyncio.wait_for(
                asyncio.gather(*waits), 30
            )
        except TimeoutError:
            errors.append(text)
            continue
        rtts.append((max(seen_tab, seen_agent) - started) * 1000)
        acks.append((acked - started) * 1000)
        await asyncio.sleep(random.uniform(0.5, 1.5) * args.think)


async def run_clients(args, base: str, agents: list) -> tuple:
    import httpx

    ws = base.replace("http://", "ws://")
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        gate = asyncio.Semaphore(50)

        async def one(n: int) -> dict:
            async with gate:
                return await start_session(http, base, ws, n)

        sessions = await asyncio.gather(*(one(n) for n in range(args.sessions)))
    for session in sessions:
        agent_id, _ = agents[session["n"] % len(agents)]
        session["agent_id"] = agent_id
    await asyncio.gather(
        *(asyncio.to_thread(claim, s["ticket_id"], s["agent_id"]) for s in sessions)
    )
    cookies = dict(agents)
    for session in sessions:
        session["agent"] = await open_socket(
            f"{ws}/ws/tickets/{session['ticket_id']}/",
            base,
            agent_text,
            cookie=f"sessionid={cookies[session['agent_id']]}",
        )
    print(
        f"# {len(sessions)} sessions open, {3 * len(sessions)} websockets; measuring",
        flush=True,
    )
    rtts: list[float] = []
    acks: list[float] = []
    errors: list[str] = []
    started = time.monotonic()
    cpu_before = cpu_seconds(args.server_pid)
    worker_before = cpu_seconds(args.worker_pid) if args.worker_pid else 0.0
    lag = asyncio.create_task(loop_lag(args.lags))
    await asyncio.gather(*(converse(s, args, rtts, acks, errors) for s in sessions))
    lag.cancel()
    elapsed = time.monotonic() - started
    args.server_cpu = cpu_seconds(args.server_pid) - cpu_before
    if args.worker_pid:
        args.worker_cpu = cpu_seconds(args.worker_pid) - worker_before
    for session in sessions:
        for name in ("tab1", "tab2", "agent"):
            await session[name].close()
    return rtts, acks, errors, elapsed


async def loop_lag(lags: list[float], period: float = 0.01) -> None:
    """How late the client's own loop wakes up: its share of every figure."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(period)
        lags.append((time.perf_counter() - started - period) * 1000)


def cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process and its descendants, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid and c not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0.0) for pid in tree)


def main() -> int:
    args = parse_args()
    env = server_env(args)
    os.environ.update(env)
    recreate_database(args.database_url)
    processes: list[subprocess.Popen] = []
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        import django

        django.setup()
        from django.db import connections

        agents = make_agents(args.agents)
        connections.close_all()
        port = free_port()
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "supportdesk.serve",
                    "supportdesk.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(args.web_workers),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                cwd=ROOT,
                env=env,
            )
        )
        if not args.no_celery:
            processes.append(celery_worker(env))
        args.server_pid = processes[0].pid
        args.worker_pid = processes[1].pid if len(processes) > 1 else 0
        args.worker_cpu = 0.0
        args.lags = []
        base = f"http://127.0.0.1:{port}"
        wait_for_workers(f"{base}/healthz", processes[0])
        with contextlib.suppress(ImportError):
            import uvloop  # the client must not be the bottleneck it measures

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        rtts, acks, errors, elapsed = asyncio.run(
            asyncio.wait_for(run_clients(args, base, agents), args.timeout)
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        drop_database(args.database_url)
    if not rtts:
        print("no message completed its round trip", file=sys.stderr)
        return 1
    print(f"chat_sessions {args.sessions} sessions")
    print(f"chat_messages_measured {len(rtts)} messages")
    print(f"chat_messages_lost {len(errors)} messages")
    print(f"chat_message_rate {len(rtts) / elapsed:.1f} messages/s")
    cpu_ms = args.server_cpu / len(rtts) * 1000
    print(f"chat_web_cpu_per_message {cpu_ms:.1f} ms")
    worker_ms = args.worker_cpu / len(rtts) * 1000
    print(f"chat_worker_cpu_per_message {worker_ms:.1f} ms")
    print(f"chat_client_loop_lag_p50 {statistics.median(args.lags):.1f} ms")
    print(f"chat_client_loop_lag_p99 {percentile(args.lags, 99):.1f} ms")
    print(f"chat_message_ack_p50 {statistics.median(acks):.1f} ms")
    print(f"chat_message_ack_p99 {percentile(acks, 99):.1f} ms")
    print(f"chat_message_rtt_p50 {statistics.median(rtts):.1f} ms")
    print(f"chat_message_rtt_p99 {percentile(rtts, 99):.1f} ms")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
