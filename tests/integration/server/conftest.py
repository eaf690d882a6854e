"""Real scoring-server processes on 127.0.0.1 for the integration tests.

``start_server(script_text, ...)`` writes a score.py into a fresh app root, starts
``python -m dockyard.server`` on a free port, waits until ``/health/ready`` says 200 (or the
process exits), and stops it by PID at the end of the test. ``server.log()`` returns everything it
printed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running (or exited) scoring-server process."""

    process: subprocess.Popen[bytes]
    port: int
    root: Path
    log_path: Path
    exit_code: int | None = None
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, **kwargs: object) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30, **kwargs)  # type: ignore[arg-type]
        self.clients.append(client)
        return client

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.post(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return httpx.request(method, self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]

    def wait_log(self, text: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if text in log:
                return log
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in the server log:\n{self.log()}")

    def stop(self) -> int:
        for client in self.clients:
            client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.exit_code = self.process.returncode
        return self.exit_code


StartServer = Callable[..., Server]


def launch(
    root: Path,
    script: str | None = None,
    *,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
    wait: bool = True,
    timeout: float = 60.0,
    script_name: str = "score.py",
) -> Server:
    """Write the app root under ``root`` and start the server there (see the module docstring)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    port = free_port()
    cmd = [sys.executable, "-m", "dockyard.server", "--port", str(port)]
    if script is not None:
        (root / script_name).write_text(textwrap.dedent(script))
        cmd += ["--entry-script", script_name]
    cmd += args or []
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_", "DOCKYARD_"))
    }
    for name in (
        "SCORING_TIMEOUT_MS",
        "WORKER_COUNT",
        "SERVICE_NAME",
        "SERVICE_VERSION",
        "SERVICE_PATH_PREFIX",
    ):
        full_env.pop(name, None)
    full_env.update(env or {})
    log_path = root / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd, cwd=root, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(process, port, root, log_path)
    if wait:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                server.exit_code = process.returncode
                break
            try:
                if httpx.get(server.url + "/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        else:
            server.stop()
            raise AssertionError(f"the server did not become ready:\n{server.log()}")
    return server


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start servers for a test; every one is stopped (by PID) when the test ends."""
    started: list[Server] = []

    def start(script: str | None = None, **kwargs: object) -> Server:
        server = launch(tmp_path / f"app{len(started) + 1}", script, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
