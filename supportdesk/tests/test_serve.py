"""``python -m supportdesk.serve``: uvicorn workers on sockets of their own."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _established(port: int) -> set[str]:
    """Socket inodes of established TCP connections to ``port`` (server side)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":
            inodes.add(fields[9])
    return inodes


def _connections_of(pid: int, inodes: set[str]) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        count += target.startswith("socket:[") and target[8:-1] in inodes
    return count


def _wait_healthy(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not come up")


@pytest.fixture
def served(tmp_path):
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        SQLITE_PATH=str(tmp_path / "db.sqlite3"), CELERY_INPROCESS_WORKER="false"
    )
    args = ["supportdesk.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "supportdesk.serve", *args, "--workers", "2"],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait_healthy(port)
        yield proc, port
    finally:
        proc.terminate()
        proc.wait(60)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_connections_spread_over_the_workers_and_a_dead_worker_is_replaced(served):
    proc, port = served
    sockets = []
    for _ in range(40):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert b"200 OK" in sock.recv(4096)
        sockets.append(sock)
    inodes = _established(port)
    served_by = [_connections_of(pid, inodes) for pid in _children(proc.pid)]
    # Two workers (and multiprocessing's resource tracker, which serves none).
    assert sum(served_by) == 40 and sorted(served_by)[-2] > 0
    for sock in sockets:
        sock.close()

    busiest = _children(proc.pid)[served_by.index(max(served_by))]
    os.kill(busiest, signal.SIGKILL)
    time.sleep(1)
    _wait_healthy(port)
    assert busiest not in _children(proc.pid)


def test_sigterm_stops_every_worker(served):
    proc, _ = served
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    deadline = time.monotonic() + 15  # the resource tracker leaves on its own
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_running(pid) for pid in workers)


def _running(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def _serve_once(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "supportdesk.serve", *args, "--workers", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_worker_that_cannot_start_stops_the_server_with_an_error():
    done = _serve_once("no_such_module:app", "--port", str(free_port()))
    assert done.returncode == 3
    assert "failed to start" in done.stderr


def test_an_address_in_use_is_refused_not_shared(served):
    _, port = served
    done = _serve_once("supportdesk.asgi:application", "--port", str(port))
    assert done.returncode == 3
    assert "cannot listen" in done.stderr


def test_an_unknown_option_gets_uvicorns_usage_error():
    done = _serve_once("supportdesk.asgi:application", "--no-such-option")
    assert done.returncode == 2
    assert "No such option" in done.stderr
