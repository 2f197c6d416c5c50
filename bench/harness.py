"""Shared pieces of the benchmarks: a fresh PostgreSQL database, the
production-shaped server, a cheap keep-alive HTTP load generator, percentiles.

Everything talks to 127.0.0.1 only and stops by itself.
"""

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/11")


def report(name: str, value: float, unit: str) -> None:
    """The one output format of every benchmark: ``name value unit``."""
    print(f"{name} {value:.6g} {unit}", flush=True)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)


def bench_env(dbname: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG}/{dbname}",
        REDIS_URL=REDIS,
        CHANNEL_LAYER_PREFIX=f"bench-{dbname}",
        DEBUG="false",
        SECRET_KEY="bench-only-secret-key",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="supportdesk.settings",
    )
    return env


def fresh_database(dbname: str) -> dict[str, str]:
    """Drop and recreate ``dbname``, migrate it, and return the environment."""
    admin = ["psql", f"{PG}/postgres", "-q", "-c"]
    subprocess.run(
        [*admin, f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)"], check=True
    )
    subprocess.run([*admin, f"CREATE DATABASE {dbname}"], check=True)
    env = bench_env(dbname)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_workers(url: str, proc: subprocess.Popen, answers: int = 10) -> None:
    """``url`` answered ``answers`` times, each on a new connection.

    The web workers listen on sockets of their own (supportdesk.serve) and a
    connection lands on one by a hash of its port: ten answers in a row mean
    every worker of two is up (but for a chance of 1 in 512)."""
    for _ in range(answers):
        wait_for(url, proc=proc)


def wait_for(
    url: str, timeout: float = 60, proc: subprocess.Popen | None = None
) -> None:
    """Poll ``url`` until it answers; fail early if ``proc`` has exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline or (proc and proc.poll() is not None):
                raise RuntimeError(f"{url} did not answer within {timeout} s") from None
            time.sleep(0.2)


def celery_worker(env: dict[str, str]) -> subprocess.Popen:
    """One Celery worker process (solo pool) on every queue the desk uses."""
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "supportdesk",
        "worker",
        "-P",
        "solo",
        "-Q",
        "default,triage,delivery",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "WARNING",
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=env)


@contextmanager
def server(
    env: dict[str, str], workers: int = 2, app: str = "supportdesk.asgi:application"
):
    """The web service as docker-compose.yml runs it (``supportdesk.serve``:
    uvicorn, a socket per worker) with ``workers`` processes on a free port;
    yields the port. ``app`` is the ASGI application, the desk's by default."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "supportdesk.serve",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        # As docker-compose.yml runs the web service.
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        wait_for_workers(f"http://127.0.0.1:{port}/healthz", proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _client(
    port: int,
    request: bytes,
    stop_at: float,
    latencies: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def load(port: int, request: bytes, clients: int, seconds: float) -> dict:
    """Run ``clients`` keep-alive connections for ``seconds``; requests/s and ms."""

    async def run() -> tuple[list[float], dict[int, int], float]:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(
            *(
                _client(port, request, stop_at, latencies, statuses)
                for _ in range(clients)
            )
        )
        return latencies, statuses, time.perf_counter() - started

    latencies, statuses, elapsed = asyncio.run(run())
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "statuses": statuses,
    }


def http_request(
    method: str, path: str, body: bytes = b"", headers: dict | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
