"""The service's port: bound once by the supervisor, answered by it while no version serves.

The supervisor binds the port (127.0.0.1) and hands the listening socket to every server it
starts, so the port is kept across restarts, reloads and updates. While no version is ready,
connections queue on that socket; :class:`Unserved` answers them so that no client hangs: at once
with 503, the state and the command that shows why once a start has failed (``CrashLoopBackOff``,
``Failed``), and during a start only after they have waited ``DOCKYARD_STARTUP_REQUEST_WAIT_S``
(the server's own bound, as azmlinfsrv would make them wait).
"""

from __future__ import annotations

import errno
import socket
import time

from dockyard.server import contract
from dockyard.server.settings import DEFAULT_STARTUP_REQUEST_WAIT_S
from dockyard.server.unready import answer_waiting, unready_response
from dockyard.targets.base import CRASH_LOOP, FAILED

#: How long to wait for servers of a previous supervisor (stopped or killed) to close the port.
PORT_RELEASE_SECONDS = 5.0
LISTEN_BACKLOG = 2048
#: Retry-After of a 503 when no restart is planned.
RETRY_AFTER_WHEN_FAILED = 10


class PortUnavailable(Exception):
    """The port could not be bound; the message says which and what to do."""


def bind_port(host: str, port: int) -> socket.socket:
    """A listening, inheritable, non-blocking socket on ``host:port`` (0: a free port).

    A taken port is retried for ``PORT_RELEASE_SECONDS``; then :class:`PortUnavailable`.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.monotonic() + PORT_RELEASE_SECONDS
    while True:
        try:
            sock.bind((host, port))
            break
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE and port and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            sock.close()
            raise PortUnavailable(
                f"Port {port} on {host} is taken ({exc.strerror}). Deploy with another "
                "port, or free it (`dockyard service list` shows which service holds it)."
            ) from None
    sock.listen(LISTEN_BACKLOG)
    sock.set_inheritable(True)
    sock.setblocking(False)  # the servers share it (asyncio sets this too); see Unserved
    return sock


def startup_wait(env: dict[str, str]) -> float:
    """How long a connection may wait for a starting server (the server's own setting)."""
    raw = env.get(contract.STARTUP_REQUEST_WAIT_ENV)
    try:
        return float(raw) if raw else DEFAULT_STARTUP_REQUEST_WAIT_S
    except ValueError:
        return DEFAULT_STARTUP_REQUEST_WAIT_S


def failed_response(name: str, state: str, retry_after: int) -> bytes:
    """The 503 while a failed start is retried (``CrashLoopBackOff``) or given up (``Failed``)."""
    what = (
        "its scoring script failed to start and is being retried"
        if state == CRASH_LOOP
        else "it failed to start and is not retried"
    )
    return unready_response(
        f"Service {name!r} is {state}: {what}. Run `dockyard service logs {name}` "
        "(or service.get_logs()) to see why.",
        retry_after=retry_after,
        state=state,
    )


def starting_response(state: str, wait_s: float) -> bytes:
    """The 503 to a connection that waited longer than ``wait_s`` for a starting server."""
    return unready_response(
        "The service is starting: the scoring script's init() has not finished within "
        f"{wait_s:g} s ({contract.STARTUP_REQUEST_WAIT_ENV}). Retry after the Retry-After "
        "seconds.",
        state=state,
    )


class Unserved:
    """Since when no version serves the port, and answering its waiting connections meanwhile."""

    def __init__(self) -> None:
        self.since: float | None = time.monotonic()

    def served(self) -> None:
        """A ready version serves the port."""
        self.since = None

    def answer(
        self,
        sock: socket.socket,
        state: str,
        name: str,
        env: dict[str, str],
        restart_at: float | None,
    ) -> None:
        """Answer connections waiting on ``sock`` when they should not wait any longer.

        ``env``: the starting version's variables ({} if none); ``restart_at``: the monotonic
        time of the next start after a failure, if one is planned.
        """
        now = time.monotonic()
        if self.since is None:
            self.since = now
        if state in (CRASH_LOOP, FAILED):
            retry = max(1, round(restart_at - now)) if restart_at else RETRY_AFTER_WHEN_FAILED
            response = failed_response(name, state, retry)
        else:
            wait_s = startup_wait(env)
            if now - self.since < wait_s:
                return
            response = starting_response(state, wait_s)
        answer_waiting(sock, response)
