"""Several scoring-server workers on one listening socket: fork them, replace the ones that die.

The parent binds the socket, forks ``WORKER_COUNT`` workers (before any thread or user code
exists), and supervises them: a worker exiting with code 3 (import/init() failure) stops all and
the parent exits 3; a worker that dies later is replaced (at most 10 restarts a minute).
``SIGTERM``/``SIGINT`` stop all gracefully (in-flight requests finish).

Before forking, the parent makes the metrics board (:mod:`dockyard.server.metrics`): one row per
worker, which a replacement worker continues, and one for the parent (restarts, the 503s it
answers while no worker is ready).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import socket
import time
from typing import Any

from dockyard.server import contract, wire
from dockyard.server.logs import SINK
from dockyard.server.metrics import Board, Metrics, reset_in_flight
from dockyard.server.metrics import enabled as metrics_enabled
from dockyard.server.settings import Settings
from dockyard.server.unready import answer_waiting, unready_response
from dockyard.server.worker import run_worker

logger = logging.getLogger("dockyard.server")
EXIT_OK, EXIT_BAD_SETTINGS, EXIT_SCRIPT_FAILED = (
    contract.EXIT_OK,
    contract.EXIT_BAD_SETTINGS,
    contract.EXIT_SCRIPT_FAILED,
)


def run_worker_pool(settings: Settings, sock: socket.socket) -> int:
    """Fork ``settings.workers`` workers on ``sock``, replace the ones that die, stop on signals.

    Workers accept connections only after their ``init()``. While none is ready, connections wait
    in the kernel's queue, as with azmlinfsrv's gunicorn; once they have waited longer than
    ``DOCKYARD_STARTUP_REQUEST_WAIT_S`` (at once when it is 0), this process answers them with
    503 and ``Retry-After`` until a worker is ready.
    """
    children: dict[int, int] = {}  # pid -> worker index
    ready: set[int] = set()  # indexes of the workers that accept connections
    stopping = False
    restarts: list[float] = []
    ready_read, ready_write = os.pipe()
    os.set_blocking(ready_read, False)
    unready_since = time.monotonic()
    wait_s = settings.startup_request_wait_s
    busy = unready_response(json.loads(wire.NOT_READY_BODY)["message"])
    # One metrics row per worker and one for this process, shared with the workers forked below.
    board = Board(settings.workers + 1) if metrics_enabled() else None
    own = Metrics(board, settings.workers) if board is not None else None

    def spawn(index: int) -> None:
        SINK.flush()
        pid = os.fork()
        if pid == 0:
            code = EXIT_SCRIPT_FAILED
            os.close(ready_read)
            try:
                code = run_worker(
                    settings,
                    sock,
                    index,
                    on_ready=lambda: os.write(ready_write, bytes([index])),
                    metrics=Metrics(board, index) if board is not None else None,
                )
            finally:
                SINK.flush()
                os._exit(code)
        children[pid] = index

    def stop_all(signum: int = signal.SIGTERM) -> None:
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        stop_all(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for index in range(settings.workers):
        spawn(index)
    exit_code = EXIT_OK
    while children:
        with contextlib.suppress(BlockingIOError):
            ready.update(os.read(ready_read, 256))
        if not ready and not stopping and time.monotonic() - unready_since >= wait_s:
            answered = answer_waiting(sock, busy)
            if answered and own is not None:
                own.rejected("starting", answered)
        try:  # block while a worker serves; poll (for readiness and the 503 bound) while none does
            pid, status = os.waitpid(-1, 0 if ready else os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            with contextlib.suppress(OSError, ValueError):
                select.select([ready_read], [], [], 0.05)
            continue
        index = children.pop(pid, -1)
        ready.discard(index)
        if board is not None and index >= 0:
            reset_in_flight(board, index)  # its requests ended with it
        if not ready:
            unready_since = time.monotonic()
        code = os.waitstatus_to_exitcode(status)
        if stopping:
            continue
        if code in (EXIT_SCRIPT_FAILED, EXIT_BAD_SETTINGS):
            logger.error(f"Worker {index} (pid {pid}) exited with code {code}; stopping the server")
            stopping, exit_code = True, code
            stop_all()
            continue
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < 60] + [now]
        if len(restarts) > 10:
            logger.error("Workers keep dying (more than 10 restarts in 60 s); stopping the server")
            stopping, exit_code = True, 1
            stop_all()
            continue
        logger.error(f"Worker {index} (pid {pid}) died with code {code}; starting a new one")
        if own is not None:
            own.restarted()
        spawn(index)
    os.close(ready_read)
    os.close(ready_write)
    sock.close()
    SINK.flush()
    return exit_code
