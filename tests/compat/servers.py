"""Start, probe and stop the two scoring servers the compatibility suite compares.

Both run as real processes on 127.0.0.1, in their own session (process group) so that stopping one
stops its gunicorn or uvicorn workers too, by the group's PID. Their stdout and stderr go to a log
file that tests read. Also used by ``benchmarks/server/run.py``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .oracle import GUNICORN_LOCALHOST_CONFIG, ensure_oracle_venv

HOST = "127.0.0.1"
DOCKYARD_PYTHON = Path(os.environ.get("DOCKYARD_SERVER_PYTHON", sys.executable))

# Variables either server reads: never inherited from the developer's shell, only set per test.
SERVER_ENV_VARS = (
    "AZUREML_ENTRY_SCRIPT",
    "AZUREML_MODEL_DIR",
    "AML_APP_ROOT",
    "AZUREML_SOURCE_DIRECTORY",
    "SCORING_TIMEOUT_MS",
    "WORKER_COUNT",
    "WORKER_TIMEOUT",
    "WORKER_PRELOAD",
    "AML_CORS_ORIGINS",
    "AZUREML_LOG_LEVEL",
    "AZUREML_DEBUG_PORT",
    "AZUREML_CONFIG_FILE",
    "SERVICE_NAME",
    "SERVICE_VERSION",
    "SERVICE_PATH_PREFIX",
    "SERVER_PORT",
    "HEALTH_PORT",
    "SEPERATE_HEALTH_ENDPOINT",
    "AML_APP_INSIGHTS_ENABLED",
    "AML_APP_INSIGHTS_KEY",
    "GUNICORN_CMD_ARGS",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def dockyard_server_available() -> bool:
    """True when ``python -m dockyard.server`` exists in the dockyard venv."""
    probe = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('dockyard.server.__main__') else 1)"
    try:
        return subprocess.run([str(DOCKYARD_PYTHON), "-c", probe], timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@dataclass
class Server:
    kind: str  # "oracle" or "dockyard"
    cmd: list[str]
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes]
    started_at: float
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_exit(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        # Workers that outlived their master (they share its process group).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def wait_ready(self, timeout: float = 90.0, path: str = "/") -> float:
        """Poll ``path`` until it answers 200; return seconds since the process started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerExited(self)
            try:
                response = httpx.get(self.base_url + path, timeout=2.0)
                if response.status_code == 200:
                    return time.monotonic() - self.started_at
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{self.kind} not ready after {timeout}s; log:\n{self.log()[-3000:]}")


class ServerExited(RuntimeError):
    def __init__(self, server: Server) -> None:
        self.server = server
        super().__init__(
            f"{server.kind} exited with code {server.proc.returncode} before it was ready; "
            f"log:\n{server.log()[-3000:]}"
        )


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONPATH", None)
    env.update(extra or {})
    return env


def oracle_command(
    entry_script: Path, port: int, model_dir: Path | None = None, workers: int | None = None
) -> list[str]:
    cmd = [str(ensure_oracle_venv()), "--entry_script", str(entry_script), "--port", str(port)]
    if model_dir is not None:
        cmd += ["--model_dir", str(model_dir)]
    if workers is not None:
        cmd += ["--worker_count", str(workers)]
    return cmd


def dockyard_command(
    entry_script: Path, port: int, model_dir: Path | None = None, workers: int | None = None
) -> list[str]:
    cmd = [str(DOCKYARD_PYTHON), "-m", "dockyard.server", "--entry-script", str(entry_script)]
    cmd += ["--host", HOST, "--port", str(port)]
    if model_dir is not None:
        cmd += ["--model-dir", str(model_dir)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    return cmd


def start_server(
    kind: str,
    entry_script: Path,
    *,
    app_root: Path,
    log_dir: Path,
    model_dir: Path | None = None,
    env: dict[str, str] | None = None,
    workers: int | None = None,
    port: int | None = None,
) -> Server:
    """Start ``kind`` ("oracle" or "dockyard") with ``app_root`` as its working directory."""
    port = port or free_port()
    full_env = server_env(env)
    if kind == "oracle":
        cmd = oracle_command(entry_script, port, model_dir, workers)
        full_env["GUNICORN_CMD_ARGS"] = f"--config {GUNICORN_LOCALHOST_CONFIG}"
    elif kind == "dockyard":
        cmd = dockyard_command(entry_script, port, model_dir, workers)
    else:
        raise ValueError(kind)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{kind}-{entry_script.stem}-{port}.log"
    with open(log_path, "wb") as log_file:
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=app_root,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(kind, cmd, port, log_path, proc, started, env or {})
