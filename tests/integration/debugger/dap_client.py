"""A small Debug Adapter Protocol client, as VS Code talks to debugpy when it attaches.

Messages are JSON bodies framed by a ``Content-Length`` header. Only what the debugger tests
need: send a request, wait for its response or for an event; everything received is kept for
the failure messages.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

Message = dict[str, Any]


class Dap:
    """One DAP connection to a debugpy listening on 127.0.0.1:``port`` (retried until it
    accepts, for ``timeout`` seconds)."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.seq = 0
        self.pending = b""
        self.received: list[Message] = []
        self.unread: list[Message] = []

    def close(self) -> None:
        self.sock.close()

    def send(self, command: str, **arguments: Any) -> int:
        self.seq += 1
        body = json.dumps(
            {"seq": self.seq, "type": "request", "command": command, "arguments": arguments}
        ).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        return self.seq

    def call(self, command: str, timeout: float = 60.0, **arguments: Any) -> Message:
        """Send a request and wait for its response (which must succeed)."""
        seq = self.send(command, **arguments)
        response = self.wait(lambda m: m["type"] == "response" and m["request_seq"] == seq, timeout)
        assert response["success"], response
        return response

    def response(self, seq: int, timeout: float = 60.0) -> Message:
        """The response to request ``seq`` (whether it succeeded or not)."""
        return self.wait(lambda m: m["type"] == "response" and m["request_seq"] == seq, timeout)

    def event(self, name: str, timeout: float = 60.0) -> Message:
        return self.wait(lambda m: m["type"] == "event" and m["event"] == name, timeout)

    def wait(self, match: Any, timeout: float) -> Message:
        """The first message (kept or new) that ``match`` accepts; others are kept for later."""
        for message in self.unread:
            if match(message):
                self.unread.remove(message)
                return message
        deadline = time.monotonic() + timeout
        while True:
            message = self._read(deadline)
            if match(message):
                return message
            self.unread.append(message)

    def _read(self, deadline: float) -> Message:
        while b"\r\n\r\n" not in self.pending:
            self.pending += self._recv(deadline)
        head, _, rest = self.pending.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":", 1)[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        while len(rest) < length:
            rest += self._recv(deadline)
        self.pending = rest[length:]
        message: Message = json.loads(rest[:length])
        self.received.append(message)
        return message

    def _recv(self, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no matching DAP message in time; received: {self.received}")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise AssertionError(
                f"no matching DAP message in time; received: {self.received}"
            ) from None
        if not chunk:
            raise ConnectionError(f"debugpy closed the connection; received: {self.received}")
        return chunk


def attach(port: int, launch: dict[str, Any], breakpoints: dict[str, list[int]]) -> Dap:
    """Attach as VS Code does with the ``launch.json`` entry ``launch``: initialize, attach,
    set ``breakpoints`` (local file -> lines), configurationDone."""
    ide = Dap(port)
    ide.call("initialize", adapterID="debugpy", clientID="vscode", pathFormat="path")
    ide.send(
        "attach",
        connect=launch["connect"],
        pathMappings=launch["pathMappings"],
        justMyCode=launch.get("justMyCode", True),
    )
    ide.event("initialized")
    for path, lines in breakpoints.items():
        response = ide.call(
            "setBreakpoints",
            source={"path": path},
            breakpoints=[{"line": line} for line in lines],
        )
        assert all(b.get("verified", True) for b in response["body"]["breakpoints"]), response
    ide.call("configurationDone")
    return ide


def stopped_frame(ide: Dap, timeout: float = 60.0) -> tuple[Message, Message]:
    """Wait for a ``stopped`` event; it and the top stack frame of its thread."""
    stopped = ide.event("stopped", timeout)
    trace = ide.call("stackTrace", threadId=stopped["body"]["threadId"])
    return stopped, trace["body"]["stackFrames"][0]
