"""An image run by hand on the Docker engine, the seed's ``docker run -p 8000:5001 -p 5678:5678``:
:func:`run_image` starts it with the scoring port (and a debugger port) published on 127.0.0.1
only; :func:`wait_ready` and :func:`wait_debugger` wait for the server (failing with its log's
tail when it stops); :func:`follow_logs` streams its output; :func:`container_state` reads it.

Every engine call runs inside :func:`dockyard.targets.docker_engine.engine_errors`.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockyard.errors import DeploymentError
from dockyard.server import contract
from dockyard.targets.docker_engine import (
    CONTAINER_PORT,
    container_logs,
    engine_errors,
    get_container,
    run_container,
)
from dockyard.targets.docker_engine import published_port as engine_port
from dockyard.targets.docker_tools import SERVICE_LABELS

#: Where the debugger listens inside a container started by :func:`run_image`.
DEBUGGER_PORT = contract.DEBUGGER_CONTAINER_PORT


@dataclass(frozen=True)
class StartedImage:
    """A container started by :func:`run_image`."""

    name: str
    port: int
    debugger_port: int | None


def run_image(
    client: Any,
    reference: str,
    name: str,
    *,
    port: int | None = None,
    debugger_port: int | None = None,
    debugger_wait_seconds: float = contract.DEBUGGER_DEFAULT_WAIT_S,
    labels: dict[str, str] | None = None,
) -> StartedImage:
    """Start ``reference`` as container ``name``, the scoring port published on
    127.0.0.1:``port`` (None: a free port) and, with ``debugger_port``, the server's debugpy
    listener (``DOCKYARD_DEBUGPY_LISTEN``, it waits ``debugger_wait_seconds`` for an IDE) on
    127.0.0.1:``debugger_port``."""
    env: dict[str, str] = {}
    extra: dict[int, int | None] = {}
    if debugger_port is not None:
        env[contract.DEBUGPY_LISTEN_ENV] = f"0.0.0.0:{DEBUGGER_PORT}"
        env[contract.DEBUGPY_WAIT_ENV] = f"{debugger_wait_seconds:g}"
        extra[DEBUGGER_PORT] = debugger_port or None
    container = run_container(
        client, reference, name=name, host_port=port or None, environment=env,
        labels={**{key: "" for key in SERVICE_LABELS}, **(labels or {})}, extra_ports=extra,
    )  # fmt: skip
    with engine_errors(f"reading the ports of container {name}"):
        published = engine_port(container, CONTAINER_PORT)
        debug = engine_port(container, DEBUGGER_PORT) if debugger_port is not None else None
    if published is None:
        raise DeploymentError(
            f"Container {name} started, but the engine published no port for it",
            step="start container",
            hint=f"`docker logs {name}` says whether it stopped at once",
        )
    return StartedImage(name=name, port=published, debugger_port=debug)


def wait_ready(client: Any, name: str, port: int, timeout: float) -> None:
    """Wait until container ``name`` answers ``/health/ready`` on 127.0.0.1:``port`` (after
    ``init()``); raise, with its log's tail, when it stops or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        status, code = container_state(client, name)
        if status in ("exited", "dead"):
            raise DeploymentError(
                f"Container {name} stopped with exit code {code} while starting",
                step="readiness",
                log_tail=container_logs(client, name, tail=40),
                hint=f"fix what its log says; `docker logs {name}` prints all of it, "
                f"`docker rm {name}` removes it",
            )
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/health/ready")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise DeploymentError(
                f"Container {name} was not ready on 127.0.0.1:{port} after {timeout:g} s",
                step="readiness",
                log_tail=container_logs(client, name, tail=40),
                hint=f"init() may be slow or stuck: `docker logs -f {name}` follows it",
            )
        time.sleep(0.2)


def wait_debugger(client: Any, name: str, timeout: float) -> None:
    """Wait until the server in container ``name`` says its debugger listens; raise, with its
    log's tail, when the container stops first (debugpy missing from the image, say)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, code = container_state(client, name)
        if "debugpy is listening" in container_logs(client, name, tail=200):
            return
        if status in ("exited", "dead"):
            raise DeploymentError(
                f"Container {name} stopped with exit code {code} before its debugger listened",
                step="debugger",
                log_tail=container_logs(client, name, tail=40),
                hint="the image needs debugpy (add it to the environment's pip packages and "
                f"build the image again), or run it without --debugger-port; `docker rm {name}` "
                "removes the stopped container",
            )
        time.sleep(0.2)
    raise DeploymentError(
        f"The server in container {name} did not start its debugger within {timeout:g} s",
        step="debugger",
        log_tail=container_logs(client, name, tail=40),
        hint=f"`docker logs -f {name}` follows it; `docker rm -f {name}` removes it",
    )


def follow_logs(client: Any, name: str, on_text: Callable[[str], None]) -> None:
    """Pass the output of container ``name`` to ``on_text`` until the container stops."""
    container = get_container(client, name)
    with engine_errors(f"following the output of container {name}"):
        for chunk in container.logs(stream=True, follow=True):
            on_text(chunk.decode("utf-8", errors="replace"))


def container_state(client: Any, name: str) -> tuple[str, int]:
    """``(status, exit code)`` of container ``name``."""
    container = get_container(client, name)
    with engine_errors(f"reading the state of container {name}"):
        container.reload()
        state = container.attrs.get("State") or {}
    return str(state.get("Status") or "unknown"), int(state.get("ExitCode") or 0)


__all__ = [
    "DEBUGGER_PORT",
    "StartedImage",
    "container_state",
    "follow_logs",
    "run_image",
    "wait_debugger",
    "wait_ready",
]
