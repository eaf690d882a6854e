"""The seed guide's container tools, on the Docker engine: ``docker exec`` (streamed, or an
interactive shell), ``docker diff``, ``docker commit`` and ``docker run -p`` of an image by hand.

* :func:`server_container` finds the scoring-server container of a container service (from the
  Docker target's state file, :mod:`dockyard.targets.docker_state`);
* :func:`exec_stream` runs a command in it and streams stdout and stderr as they come;
  :func:`interactive_argv` is the ``docker exec -it`` command line for a shell (the Docker CLI
  owns the terminal; :func:`exec_interactive` does the same through the SDK when there is no CLI);
* :func:`changes` is ``docker diff``; :func:`commit_container` is ``docker commit`` with the
  configuration of the image the container was started from (its command, environment,
  health check and labels), so that what one service's deployment set (its keys file, its port,
  its debugger) does not follow the image into the next service;
* :func:`run_image` starts an image by hand with the port (and a debugger port) published on
  127.0.0.1, like the seed's ``docker run -p 8000:5001 -p 5678:5678``.

Every engine call runs inside :func:`dockyard.targets.docker_engine.engine_errors`.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import select
import shutil
import sys
import termios
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import DeploymentError, NotFoundError
from dockyard.server import contract
from dockyard.targets.docker_engine import (
    CONTAINER_PORT,
    container_logs,
    engine_errors,
    get_container,
    run_container,
)
from dockyard.targets.docker_engine import published_port as engine_port
from dockyard.targets.docker_state import read_state

#: Called with each piece of output: (text, "stdout" | "stderr").
OnOutput = Callable[[str, str], None]
#: The shell a ``dockyard service shell`` opens: bash where the image has it, else sh.
SHELL = "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi"
#: ``docker diff`` kinds, as the CLI prints them.
CHANGE_KINDS = {0: "C", 1: "A", 2: "D"}
#: Where the debugger listens inside a container started by :func:`run_image`.
DEBUGGER_PORT = 5678
#: Labels of a container that must not follow it into a committed image (its service's).
SERVICE_LABELS = ("dockyard.service", "dockyard.role")


def server_container(client: Any, service_dir: Path, name: str) -> Any:
    """The running scoring-server container of container service ``name``."""
    state = read_state(service_dir)
    server = state.get("server")
    if not server:
        raise DeploymentError(
            f"Service {name!r} has no container on this Docker engine "
            f"({service_dir / 'container.json'} names none)",
            step="find container",
            hint=f"deploy it again, or check it with `dockyard service show {name}`",
        )

    def gone(_why: str) -> NotFoundError:
        return NotFoundError(
            f"Container {server} of service {name!r} is not in the Docker engine any more",
            hint=f"deploy the service again; `dockyard service show {name}` shows its state",
        )

    with engine_errors(f"looking up container {server} of service {name!r}", missing=gone):
        container = client.containers.get(server)
    if container.status != "running":
        raise DeploymentError(
            f"Container {server} of service {name!r} is {container.status}, not running",
            step="find container",
            hint=f"start it with `dockyard service start {name}`; "
            f"`dockyard service logs {name}` says why it stopped",
        )
    return container


def app_root(container: Any) -> str:
    """The app root inside ``container`` (``AML_APP_ROOT``, else its working folder)."""
    config = container.attrs.get("Config") or {}
    for item in config.get("Env") or []:
        key, _sep, value = item.partition("=")
        if key == contract.APP_ROOT_ENV and value:
            return value
    return str(config.get("WorkingDir") or "/")


def exec_stream(
    client: Any,
    container: Any,
    argv: list[str],
    *,
    user: str | None = None,
    workdir: str | None = None,
    on_output: OnOutput | None = None,
) -> int:
    """Run ``argv`` in ``container`` (as ``user``, in ``workdir``), passing its output to
    ``on_output`` as it comes; returns the command's exit code."""
    say = on_output or (lambda _text, _stream: None)

    def refused(why: str) -> DeploymentError:
        return DeploymentError(
            f"The engine refused to run {argv[0]!r} in container {container.name}: {why}",
            step="exec",
            hint="check the user name (--user) and that the container is running",
        )

    with engine_errors(f"running {argv[0]!r} in container {container.name}", refused=refused):
        created = client.api.exec_create(
            container.id, argv, stdout=True, stderr=True, tty=False,
            user=user or "", workdir=workdir,
        )  # fmt: skip
        for out, err in client.api.exec_start(created["Id"], stream=True, demux=True):
            if out:
                say(out.decode("utf-8", errors="replace"), "stdout")
            if err:
                say(err.decode("utf-8", errors="replace"), "stderr")
        code = client.api.exec_inspect(created["Id"]).get("ExitCode")
    if code is None:  # the engine lost the process
        return 255
    return int(code)


def interactive_argv(container: Any, *, user: str | None, workdir: str) -> list[str] | None:
    """``docker exec -it`` for a shell in ``container``; None when there is no Docker CLI."""
    docker = shutil.which("docker")
    if docker is None:
        return None
    argv = [docker, "exec", "-it", "-w", workdir]
    if user:
        argv += ["-u", user]
    if os.environ.get("TERM"):
        argv += ["-e", f"TERM={os.environ['TERM']}"]
    return [*argv, container.name, "sh", "-c", SHELL]


def exec_interactive(client: Any, container: Any, *, user: str | None, workdir: str) -> int:
    """A shell in ``container`` on this terminal through the SDK (a pty in the container, this
    terminal in raw mode, both directions pumped); returns the shell's exit code."""
    env = {"TERM": os.environ.get("TERM", "xterm")}
    with engine_errors(f"opening a shell in container {container.name}"):
        created = client.api.exec_create(
            container.id, ["sh", "-c", SHELL], stdin=True, tty=True, user=user or "",
            workdir=workdir, environment=env,
        )  # fmt: skip
        sock = client.api.exec_start(created["Id"], tty=True, socket=True)
    raw = getattr(sock, "_sock", sock)
    stdin = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin)
    with contextlib.suppress(Exception):
        size = os.get_terminal_size(stdin)
        client.api.exec_resize(created["Id"], height=size.lines, width=size.columns)
    try:
        tty.setraw(stdin, termios.TCSANOW)  # keeps what was typed ahead
        while True:
            ready, _w, _x = select.select([raw, stdin], [], [])
            if raw in ready:
                data = raw.recv(65536)
                if not data:
                    break
                os.write(sys.stdout.fileno(), data)
            if stdin in ready:
                data = os.read(stdin, 65536)
                if not data:
                    break
                raw.sendall(data)
    finally:
        termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        with contextlib.suppress(Exception):
            raw.close()
    with engine_errors(f"reading the exit code of the shell in {container.name}"):
        code = client.api.exec_inspect(created["Id"]).get("ExitCode")
    return 255 if code is None else int(code)


def changes(client: Any, container: Any) -> list[tuple[str, str]]:
    """``docker diff``: ``(kind, path)`` pairs, kind ``A`` added, ``C`` changed, ``D`` deleted."""
    with engine_errors(f"listing the changed files of container {container.name}"):
        found = container.diff() or []
    return sorted((CHANGE_KINDS.get(int(c["Kind"]), "?"), str(c["Path"])) for c in found)


@dataclass(frozen=True)
class Committed:
    """An image made by :func:`commit_container`."""

    image_id: str
    tag: str
    size: int
    base_image: str  # the id of the image the container was started from


def commit_container(
    client: Any,
    container: Any,
    tag: str,
    *,
    message: str,
    labels: dict[str, str] | None = None,
) -> Committed:
    """``docker commit`` of ``container`` as ``tag`` (``repository:tag``), with the
    configuration of the image it was started from (command, environment, health check,
    labels; ``labels`` added). Docker merges a container's settings into a commit; a variable
    the container had and its image did not is listed without a value, which unsets it in
    every container made from the new image (Docker's rule for ``KEY`` without ``=``)."""
    repository, _sep, version = tag.rpartition(":")
    with engine_errors(f"committing container {container.name} as {tag}"):
        container.reload()
        base_id = str(container.attrs.get("Image") or "")
        base = client.images.get(base_id).attrs.get("Config") or {}
        base_env = list(base.get("Env") or [])
        known = {item.partition("=")[0] for item in base_env}
        extra = sorted(
            {
                item.partition("=")[0]
                for item in (container.attrs.get("Config") or {}).get("Env") or []
                if item.partition("=")[0] not in known
            }
        )
        base_labels = dict(base.get("Labels") or {})
        container_labels = dict((container.attrs.get("Config") or {}).get("Labels") or {})
        image_labels = {key: "" for key in container_labels if key not in base_labels}
        image_labels.update(base_labels)
        image_labels.update(labels or {})
        conf = {
            "Env": base_env + extra,
            "Cmd": base.get("Cmd"),
            "Entrypoint": base.get("Entrypoint"),
            "User": base.get("User") or "",
            "WorkingDir": base.get("WorkingDir") or "",
            "Labels": image_labels,
            "Healthcheck": base.get("Healthcheck") or {"Test": ["NONE"]},
        }
        image = container.commit(repository=repository, tag=version, message=message, conf=conf)
        image.reload()
    return Committed(
        image_id=str(image.id), tag=tag, size=int(image.attrs.get("Size") or 0), base_image=base_id
    )


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
    debugger_wait_seconds: float = 30.0,
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
    "CHANGE_KINDS",
    "DEBUGGER_PORT",
    "SERVICE_LABELS",
    "SHELL",
    "Committed",
    "OnOutput",
    "StartedImage",
    "app_root",
    "changes",
    "commit_container",
    "container_state",
    "exec_interactive",
    "exec_stream",
    "follow_logs",
    "wait_debugger",
    "interactive_argv",
    "run_image",
    "server_container",
    "wait_ready",
]
