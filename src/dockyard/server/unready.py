"""Answering 503 on a listening socket that no ready server accepts from.

A port held by a process that is not the scoring server (the parent of several workers, the local
target's supervisor) queues connections in the kernel until a server accepts them. That is right
while a start is under way (azmlinfsrv accepts nothing before ``init()`` is done, so an early
request waits and then gets its normal answer), but not for ever: past the bound
(``DOCKYARD_STARTUP_REQUEST_WAIT_S``), and at once when the start has failed, the holder answers
each waiting connection itself with ``503`` and ``Retry-After``, so no client hangs.

Standard library only: it runs in the server's parent process and in the supervisor.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time

#: How long one connection may take to send its request head before it is answered anyway.
_READ_HEAD_S = 0.2


def unready_response(message: str, retry_after: int = 1, **fields: str) -> bytes:
    """The bytes of a complete ``503`` answer with a JSON ``{"message": ...}`` body."""
    body = json.dumps({"message": message, **fields}).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"retry-after: {retry_after}\r\n"
        "x-ms-run-function-failed: False\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def answer_waiting(sock: socket.socket, response: bytes, budget_s: float = 0.05) -> int:
    """Answer connections queued on ``sock`` with ``response`` for up to ``budget_s`` seconds.

    Returns how many were answered. Never blocks on the listening socket: another process (a server
    that became ready) may take a connection first, which is fine.
    """
    answered = 0
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return answered
        if not readable:
            return answered
        try:
            conn, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            return answered
        except OSError:
            return answered
        with contextlib.closing(conn):
            _reply(conn, response)
        answered += 1
    return answered


def _reply(conn: socket.socket, response: bytes) -> None:
    conn.settimeout(_READ_HEAD_S)
    with contextlib.suppress(OSError):
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    with contextlib.suppress(OSError):
        conn.sendall(response)
        conn.shutdown(socket.SHUT_WR)
        # read what the client still sends (a body), so that closing does not reset the answer
        while conn.recv(65536):
            pass
