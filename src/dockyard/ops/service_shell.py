"""A shell or a command where a service runs: ``dockyard service shell`` and ``exec``.

The target decides where that is (asked of the target, never by its name):

* a target that runs images (``needs_image``): inside the service's scoring-server container,
  at the app root, as the image's user or ``user`` (``root`` for the seed's ``apt-get``);
* a target that installs environments elsewhere (``ships_environment``, a cluster): refused,
  saying what to use instead (the service's logs, ``dockyard diagnose``);
* otherwise (local processes): on this machine, with the service's environment activated
  (``PATH``/``VIRTUAL_ENV`` of the environment it runs with, its variables) at its app root.
"""

from __future__ import annotations

import getpass
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import ValidationError
from dockyard.ops import records
from dockyard.ops.services import target_of
from dockyard.store import layout
from dockyard.targets import docker_tools, local_tools
from dockyard.targets.docker_engine import connect
from dockyard.targets.local_tools import OnOutput

if TYPE_CHECKING:
    from dockyard.targets.base import Target
    from dockyard.workspace import Workspace


def service_dir(ws: Workspace, record: records.ServiceRecord) -> Path:
    """The target's folder of the service (its state files)."""
    recorded = record.runtime.get("service_dir")
    return Path(recorded) if recorded else layout.service_dir(Path(ws.path), record.name)


def refuse_cluster(record: records.ServiceRecord, what: str) -> ValidationError:
    """Why ``what`` does not work on a cluster service, and what to use instead."""
    name = record.name
    return ValidationError(
        f"Service {name!r} runs on a cluster (target {record.target!r}): {what} works on container "
        "services (and shell/exec on local ones), not on the replicas of a cluster",
        hint=f"read its output with `dockyard service logs {name}` and find what fails with "
        f"`dockyard diagnose {name}`; to work inside a service, deploy it on this machine or "
        "in a container (computeType local or aci)",
    )


def _target(ws: Workspace, name: str, what: str) -> tuple[records.ServiceRecord, Target]:
    record = records.require(ws, name)
    target = target_of(ws, record)
    if target.ships_environment:
        raise refuse_cluster(record, what)
    return record, target


def _check_local_user(name: str, user: str | None) -> None:
    me = getpass.getuser()
    if user and user != me:
        raise ValidationError(
            f"Service {name!r} runs as local processes of user {me!r}; --user {user} is for "
            "container services",
            hint="drop --user (or run `sudo -u USER dockyard service exec ...` yourself)",
        )


def exec_in(
    ws: Workspace,
    name: str,
    argv: list[str],
    *,
    user: str | None = None,
    on_output: OnOutput | None = None,
) -> int:
    """Run ``argv`` where service ``name`` runs (see the module docstring), passing its output
    to ``on_output(text, "stdout" | "stderr")`` as it comes; returns its exit code."""
    if not argv:
        raise ValidationError(
            f"No command given to run in service {name!r}",
            hint=f"give it after `--`: `dockyard service exec {name} -- ls -la`",
        )
    record, target = _target(ws, name, "exec")
    if target.needs_image:
        client = connect()
        container = docker_tools.server_container(client, service_dir(ws, record), name)
        return docker_tools.exec_stream(
            client, container, list(argv), user=user, workdir=docker_tools.app_root(container),
            on_output=on_output,
        )  # fmt: skip
    _check_local_user(name, user)
    where = local_tools.service_environment(service_dir(ws, record), name)
    return local_tools.run_streamed(list(argv), where, on_output)


def describe(ws: Workspace, name: str, user: str | None = None) -> str:
    """Where a shell of service ``name`` opens, in one line (printed before it opens)."""
    record, target = _target(ws, name, "shell")
    if target.needs_image:
        client = connect()
        container = docker_tools.server_container(client, service_dir(ws, record), name)
        who = user or (container.attrs.get("Config") or {}).get("User") or "the image's user"
        return (
            f"shell in container {container.name} of service {name!r} at "
            f"{docker_tools.app_root(container)} as {who}; `exit` leaves it"
        )
    _check_local_user(name, user)
    where = local_tools.service_environment(service_dir(ws, record), name)
    env = where.prefix or f"the interpreter {where.python}"
    return f"shell in the environment of service {name!r} ({env}) at {where.cwd}; `exit` leaves it"


def open_shell(ws: Workspace, name: str, *, user: str | None = None) -> int:
    """An interactive shell where service ``name`` runs, on this terminal (the caller checks
    that there is one); returns the shell's exit code."""
    record, target = _target(ws, name, "shell")
    if target.needs_image:
        client = connect()
        container = docker_tools.server_container(client, service_dir(ws, record), name)
        workdir = docker_tools.app_root(container)
        argv = docker_tools.interactive_argv(container, user=user, workdir=workdir)
        if argv is not None:
            return local_tools.run_interactive(argv, _plain_environment())
        return docker_tools.exec_interactive(client, container, user=user, workdir=workdir)
    _check_local_user(name, user)
    where = local_tools.service_environment(service_dir(ws, record), name)
    shell = os.environ.get("SHELL") or shutil.which("bash") or "/bin/sh"
    return local_tools.run_interactive([shell], where)


def _plain_environment() -> local_tools.LocalEnvironment:
    """This process's own environment (for the Docker CLI)."""
    return local_tools.LocalEnvironment(
        cwd=Path.cwd(), env=dict(os.environ), python="", prefix=None
    )


__all__ = ["describe", "exec_in", "open_shell", "refuse_cluster", "service_dir"]
