"""A minimal Debug Adapter Protocol client: what VS Code does when it attaches to debugpy.

Only what the debugging tests need: send requests, read responses and events (``Content-Length``
framed JSON), wait for a given message. Everything received is kept in ``received`` for the
failure messages.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]


class DapClient:
    """One DAP connection to a debugpy adapter on 127.0.0.1."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.seq = 0
        self.buffer = b""
        self.received: list[Message] = []

    def request(self, command: str, **arguments: Any) -> int:
        self.seq += 1
        message = {"seq": self.seq, "type": "request", "command": command, "arguments": arguments}
        body = json.dumps(message).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def _read(self, deadline: float) -> Message:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv(deadline)
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(rest) < length:
            rest += self._recv(deadline)
        self.buffer = rest[length:]
        message: Message = json.loads(rest[:length])
        self.received.append(message)
        return message

    def _recv(self, deadline: float) -> bytes:
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"the adapter closed the connection; received: {self.received}")
        return chunk

    def wait_for(self, match: Callable[[Message], bool], timeout: float = 30.0) -> Message:
        """Read messages until one matches (raises AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                message = self._read(deadline)
                if match(message):
                    return message
        except TimeoutError:
            raise AssertionError(f"no matching DAP message; received: {self.received}") from None

    def event(self, name: str, timeout: float = 30.0) -> Message:
        return self.wait_for(lambda m: m.get("type") == "event" and m.get("event") == name, timeout)

    def response(self, seq: int, timeout: float = 30.0) -> Message:
        message = self.wait_for(
            lambda m: m.get("type") == "response" and m.get("request_seq") == seq, timeout
        )
        assert message.get("success"), message
        return message

    def close(self) -> None:
        self.sock.close()
