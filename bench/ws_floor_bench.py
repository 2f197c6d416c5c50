"""The floor of a console action on this machine: what the web stack alone
costs at 32 agents sending back to back, before any desk logic.

``bench.agent_pool_bench`` measures the pool claim: a websocket frame, a hop
to the worker thread pool, one transaction (BEGIN, five statements, COMMIT),
a notice through Redis after commit, and the reply. On PostgreSQL the five
statements are the agent's row locked, the ticket picked, the conditional
UPDATE, the audit row and the event log. This benchmark serves
``bench.ws_floor_app`` instead, a console socket that does the same steps
with trivial statements (``SELECT 1``), so what it prints is what any action
of that shape costs here whatever its SQL does:

- ``floor_echo``: frame in, reply out, no hop and no database;
- ``floor_tx<N>``: the hop, a transaction of N trivial statements, the notice
  after commit, the reply (N = 1, 2 and 5; a pool claim runs 5, and 2 are
  as few as a correct claim can have).

Each shape runs on its own server (``supportdesk.serve``, 2 workers, as
docker-compose.yml runs the web service) with 32 websocket clients, each
sending its next frame when the reply to the last arrives. A warm-up round
is not counted; then three rounds, and the medians of their rates and
percentiles are printed as ``name value unit``. Then, as the agent pool
bench's reconnect storm, 200 sockets open at once, each sends one frame and
waits for its reply (``<name>_storm_ms``, the median of five storms)::

    .venv/bin/python -m bench.ws_floor_bench [--frames 4000]

It needs PostgreSQL and Redis (``BENCH_PG``, ``BENCH_REDIS``, as the other
benchmarks) and touches no table: the statements run in the ``postgres``
database.
"""

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import bench_env, median, percentile, report, server  # noqa: E402

CLIENTS = 32
STORM_AGENTS = 200
SHAPES = {
    "floor_echo": 0,
    "floor_tx1": 1,
    "floor_tx2": 2,
    "floor_tx5": 5,
}


async def _round(sockets: list, frames: int) -> tuple[float, list[float]]:
    """Every client sends ``frames / CLIENTS`` frames back to back: the rate
    (replies/s) and each reply's latency (ms)."""
    latencies: list[float] = []

    async def client(ws) -> None:
        for ref in range(frames // len(sockets)):
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "claim", "id": ref}))
            while json.loads(await ws.recv()).get("type") != "reply":
                pass  # the notice, forwarded
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client(ws) for ws in sockets))
    return len(latencies) / (time.perf_counter() - started), latencies


async def _measure(url: str, frames: int, rounds: int) -> dict[str, float]:
    from websockets.asyncio.client import connect

    sockets = [
        await connect(url, ping_interval=None, compression=None) for _ in range(CLIENTS)
    ]
    try:
        await _round(sockets, frames // 4)  # warm-up: not counted
        results = [await _round(sockets, frames) for _ in range(rounds)]
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
    return {
        "per_s": median([rate for rate, _ in results]),
        "p50": median([percentile(lat, 50) for _, lat in results]),
        "p99": median([percentile(lat, 99) for _, lat in results]),
    }


async def _storm(url: str, agents: int, storms: int) -> float:
    """``agents`` sockets open at once, each sends a frame and waits for the
    reply, then all drop; the median time from the first open to the last
    reply (ms), as ``bench.agent_pool_bench``'s reconnect storm is timed."""
    from websockets.asyncio.client import connect

    async def back():
        ws = await connect(url, ping_interval=None, compression=None, open_timeout=20)
        await ws.send(json.dumps({"type": "heartbeat", "id": 1}))
        while json.loads(await ws.recv()).get("type") != "reply":
            pass
        return ws

    times = []
    for _ in range(storms + 1):  # the first warms the server up: not counted
        started = time.perf_counter()
        sockets = await asyncio.gather(*(back() for _ in range(agents)))
        times.append((time.perf_counter() - started) * 1000)
        for ws in sockets:
            ws.transport.abort()  # a dropped network, as the bench's storm
        await asyncio.sleep(1)
    return median(times[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4000, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--storms", type=int, default=5)
    args = parser.parse_args()
    for name, statements in SHAPES.items():
        env = {**bench_env("postgres"), "FLOOR_STATEMENTS": str(statements)}
        with server(env, app="bench.ws_floor_app:application") as port:
            url = f"ws://127.0.0.1:{port}/ws/floor/"
            figures = asyncio.run(_measure(url, args.frames, args.rounds))
            storm = asyncio.run(_storm(url, STORM_AGENTS, args.storms))
        report(f"{name}_per_s", figures["per_s"], "replies/s")
        report(f"{name}_p50", figures["p50"], "ms")
        report(f"{name}_p99", figures["p99"], "ms")
        report(f"{name}_storm_ms", storm, "ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
