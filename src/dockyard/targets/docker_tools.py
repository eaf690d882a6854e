"""The seed guide's container tools, on the Docker engine: ``docker exec`` (streamed, or an
interactive shell), ``docker diff`` and ``docker commit``.

* :func:`server_container` finds the scoring-server container of a container service (from the
  Docker target's state file, :mod:`dockyard.targets.docker_state`);
* :func:`exec_stream` runs a command in it and streams stdout and stderr as they come;
  :func:`interactive_argv` is the ``docker exec -it`` command line for a shell (the Docker CLI
  owns the terminal; :func:`exec_interactive` does the same through the SDK when there is no CLI);
* :func:`changes` is ``docker diff``; :func:`commit_container` is ``docker commit`` with the
  configuration of the image the container was started from (its command, environment,
  health check and labels), so that what one service's deployment set (its keys file, its port,
  its debugger) does not follow the image into the next service;
* the seed's ``docker run -p 8000:5001 -p 5678:5678`` is :mod:`dockyard.targets.docker_run`.

Every engine call runs inside :func:`dockyard.targets.docker_engine.engine_errors`.
"""

from __future__ import annotations

import contextlib
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
    engine_errors,
)
from dockyard.targets.docker_state import read_state

#: Called with each piece of output: (text, "stdout" | "stderr").
OnOutput = Callable[[str, str], None]
#: The shell a ``dockyard service shell`` opens: bash where the image has it, else sh.
SHELL = "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi"
#: ``docker diff`` kinds, as the CLI prints them.
CHANGE_KINDS = {0: "C", 1: "A", 2: "D"}
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
        code = _exit_code(client, created["Id"])
    return 255 if code is None else code  # None: the engine lost the process


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
        code = _exit_code(client, created["Id"])
    return 255 if code is None else code


def _exit_code(client: Any, exec_id: str, wait: float = 5.0) -> int | None:
    """The exit code of exec ``exec_id``, once the engine has recorded it (its output can end a
    moment before)."""
    deadline = time.monotonic() + wait
    while True:
        found = client.api.exec_inspect(exec_id)
        if not found.get("Running") and found.get("ExitCode") is not None:
            return int(found["ExitCode"])
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


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


__all__ = [
    "CHANGE_KINDS",
    "SERVICE_LABELS",
    "SHELL",
    "Committed",
    "OnOutput",
    "app_root",
    "changes",
    "commit_container",
    "exec_interactive",
    "exec_stream",
    "interactive_argv",
    "server_container",
]
