"""``python -m supportdesk.serve``: uvicorn, each worker on its own socket.

``uvicorn --workers N`` shares one listening socket between its workers, and
the worker that wakes first accepts every connection waiting: at 8 API
clients one of 2 workers served 59 to 99.7 % of the requests in
``bench.api_bench`` runs, and a keep-alive connection stays where it landed.
Here each worker listens on a socket of its own, bound to the address with
``SO_REUSEPORT``, so the kernel spreads new connections over the workers.
The sockets are opened before any worker starts, so connections queue for a
worker that is still starting instead of all going to the first one up, and
a worker started again takes over its socket and whatever waits in it.

Takes uvicorn's own options. The workers are started as fresh processes
(spawn), a worker that dies is started again, and SIGTERM or SIGINT stops
them all. One worker, ``--uds``/``--fd``, or a system without
``SO_REUSEPORT`` runs plain uvicorn.
"""

import logging
import multiprocessing
import signal
import socket
import sys
import time

import click
import uvicorn
from uvicorn.config import Config

logger = logging.getLogger("uvicorn.error")
STARTUP_GRACE = 10.0  # seconds: a worker exiting with an error sooner failed to start


def main(argv: list[str]) -> int:
    try:
        params = uvicorn.main.make_context("uvicorn", list(argv)).params
    except (click.ClickException, click.exceptions.Exit):
        uvicorn.main(argv)  # --help, or uvicorn's own message for bad options
        return 2
    workers = params.pop("workers") or 1
    shared = params.get("uds") or params.get("fd")
    if workers == 1 or shared or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.main(argv)
        return 0
    return _supervise(params, workers)


def _supervise(params: dict, workers: int) -> int:
    stopping: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, frame: stopping.append(number))
    spawn = multiprocessing.get_context("spawn")
    try:
        _claim_address(params)  # SO_REUSEPORT alone would share it silently
        sockets = [_listen(params) for _ in range(workers)]
    except OSError as error:
        logger.error(
            "cannot listen on %s:%s: %s", params["host"], params["port"], error
        )
        return 3
    processes = [_start(spawn, params, sock) for sock in sockets]
    failed = False
    while not stopping and not failed:
        time.sleep(0.2)
        for i, (process, started) in enumerate(processes):
            if process.is_alive():
                continue
            young = time.monotonic() - started < STARTUP_GRACE
            if young and process.exitcode > 0:  # not killed: it could not start
                logger.error("worker %s failed to start", process.pid)
                failed = True
                break
            logger.warning(
                "worker %s died (exit %s); starting another",
                process.pid,
                process.exitcode,
            )
            processes[i] = _start(spawn, params, sockets[i])
    for process, _ in processes:
        process.terminate()
    for process, _ in processes:
        process.join(30)
        if process.is_alive():
            process.kill()
    return 3 if failed else 0


def _start(spawn, params: dict, sock: socket.socket):
    process = spawn.Process(target=_worker, args=(params, sock))
    process.start()
    return process, time.monotonic()


def _worker(params: dict, sock: socket.socket) -> None:
    params = dict(params)
    app_dir = params.pop("app_dir", None)
    if app_dir is not None:
        sys.path.insert(0, app_dir)
    config = Config(**params, workers=1)
    uvicorn.Server(config).run(sockets=[sock])


def _claim_address(params: dict) -> None:
    """Fail as uvicorn does if anyone (another desk, say) listens there."""
    with _socket(params["host"]) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((params["host"], params["port"]))


def _socket(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.socket(family, socket.SOCK_STREAM)


def _listen(params: dict) -> socket.socket:
    sock = _socket(params["host"])
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((params["host"], params["port"]))
    sock.listen(params["backlog"])
    sock.set_inheritable(True)
    return sock


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
