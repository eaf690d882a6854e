"""Requests sent the moment a server's port opens, while its init() still runs.

azmlinfsrv accepts no connection before init() is done, so each request waits and then gets its
normal answer; dockyard must give exactly the same answers (only liveness may answer earlier).
"""

from __future__ import annotations

import concurrent.futures
import socket
import time

import httpx

from .compare import Answer
from .servers import HOST, Server

#: (method, path, request options): what a client or load balancer sends first.
EARLY_REQUESTS: list[tuple[str, str, dict[str, object]]] = [
    ("POST", "/score", {"json": {"data": [1, 2]}}),
    ("GET", "/score?data=[3]", {}),
    ("OPTIONS", "/score", {}),
    ("GET", "/swagger.json", {}),
    ("GET", "/", {}),
    ("GET", "/no-such-route", {}),
]


def wait_for_port(server: Server, timeout: float = 60.0) -> None:
    """Return as soon as a TCP connection to the server's port succeeds (its socket listens)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"{server.kind} exited: {server.log()[-2000:]}")
        try:
            with socket.create_connection((HOST, server.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.005)
    raise AssertionError(f"{server.kind}'s port never opened")


def answers_sent_at_port_open(server: Server) -> list[Answer]:
    """Send every early request at once, the moment the port opens; their answers in order."""
    wait_for_port(server)

    def send(method: str, path: str, options: dict[str, object]) -> Answer:
        response = httpx.request(method, server.base_url + path, timeout=60.0, **options)  # type: ignore[arg-type]
        return Answer.of(response)

    with concurrent.futures.ThreadPoolExecutor(len(EARLY_REQUESTS)) as pool:
        futures = [pool.submit(send, m, p, o) for m, p, o in EARLY_REQUESTS]
        return [f.result() for f in futures]
