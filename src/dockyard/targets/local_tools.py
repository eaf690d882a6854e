"""A local service's environment for a person: the shell and ``exec`` of ``dockyard service``.

A local service runs ``python -m dockyard.server`` from its environment (a cached virtual
environment, dockyard's own interpreter, or a user-managed one) in its app root, with the
variables its supervisor gives the server (``AZUREML_MODEL_DIR``, ``AML_APP_ROOT`` ...). The
supervisor's record of the running version (:data:`dockyard.targets.supervisor.SPEC_FILE`) says
all of it; :func:`service_environment` turns it into what a process needs to run *there*:
``PATH`` and ``VIRTUAL_ENV`` of that environment, those variables, the app root as the current
folder. :func:`run_streamed` runs a command so, passing its output on as it comes.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import DeploymentError
from dockyard.server import contract
from dockyard.targets.base import DeploymentSpec
from dockyard.targets.supervisor import SPEC_FILE

#: Called with each piece of output: (text, "stdout" | "stderr").
OnOutput = Callable[[str, str], None]
#: Variables of the server's own plumbing, meaningless in a shell.
_SERVER_ONLY = (contract.LISTEN_FD_ENV, contract.READY_FILE_ENV, contract.ZYGOTE_FD_ENV)


@dataclass(frozen=True)
class LocalEnvironment:
    """Where and how a command runs in a local service's environment."""

    cwd: Path  # the app root
    env: dict[str, str]  # the whole environment of the process
    python: str  # the interpreter the server runs with
    prefix: str | None  # the virtual environment (VIRTUAL_ENV), None for a system interpreter


def service_environment(service_dir: Path, name: str) -> LocalEnvironment:
    """The environment local service ``name`` runs in (see the module docstring)."""
    path = service_dir / SPEC_FILE
    try:
        spec = DeploymentSpec.from_json(json.loads(path.read_text()))
    except (FileNotFoundError, ValueError, TypeError, KeyError) as exc:
        raise DeploymentError(
            f"Service {name!r} has no deployment on this machine ({path} cannot be read: {exc})",
            step="find environment",
            hint=f"deploy it again; `dockyard service show {name}` shows its state",
        ) from None
    python = Path(spec.python)
    bin_dir = python.parent  # not resolved: a virtual environment's python is a symlink
    prefix = bin_dir.parent if (bin_dir.parent / "pyvenv.cfg").is_file() else None
    env = dict(os.environ)
    env.update(spec.env)
    for key in _SERVER_ONLY:
        env.pop(key, None)
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")]).rstrip(os.pathsep)
    if prefix is not None:
        env["VIRTUAL_ENV"] = str(prefix)
    else:
        env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONHOME", None)
    return LocalEnvironment(cwd=spec.app_root, env=env, python=str(python),
                            prefix=str(prefix) if prefix else None)  # fmt: skip


def run_streamed(
    argv: list[str], where: LocalEnvironment, on_output: OnOutput | None = None
) -> int:
    """Run ``argv`` in ``where``; its stdout and stderr go to ``on_output`` as they come.
    Returns its exit code (127 when the command does not exist, as a shell says)."""
    say = on_output or (lambda _text, _stream: None)
    try:
        proc = subprocess.Popen(
            argv, cwd=where.cwd, env=where.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
    except FileNotFoundError:
        say(f"{argv[0]}: command not found in the service's environment\n", "stderr")
        return 127
    except PermissionError as exc:
        say(f"{argv[0]}: {exc.strerror}\n", "stderr")
        return 126
    assert proc.stdout is not None and proc.stderr is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ, "stdout")
        selector.register(proc.stderr, selectors.EVENT_READ, "stderr")
        open_streams = 2
        while open_streams:
            for key, _mask in selector.select():
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                say(data.decode("utf-8", errors="replace"), str(key.data))
    return proc.wait()


def run_interactive(argv: list[str], where: LocalEnvironment) -> int:
    """Run ``argv`` in ``where`` on this terminal; returns its exit code."""
    try:
        return subprocess.call(argv, cwd=where.cwd, env=where.env)
    except FileNotFoundError:
        raise DeploymentError(
            f"{argv[0]!r} is not on this machine",
            step="shell",
            hint="set SHELL to a shell you have",
        ) from None


__all__ = ["LocalEnvironment", "OnOutput", "run_interactive", "run_streamed", "service_environment"]
