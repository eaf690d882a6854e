"""Starting a generation's server processes on the service's shared listening socket.

Each server gets the socket (``DOCKYARD_LISTEN_FD``) and its own ready file
(``DOCKYARD_READY_FILE``), writes to ``server.log`` and dies with the supervisor. A server is
forked from the warm parent when that has the version's environment loaded (its packages already
imported), else started cold as ``python -m dockyard.server``. Once a version is ready, the
starter keeps a warm parent for it, so that the next restart, reload or update is fast.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import time

from dockyard.server import contract
from dockyard.targets.base import DeploymentSpec
from dockyard.targets.supervisor import warm
from dockyard.targets.supervisor.files import ready_file
from dockyard.targets.supervisor.generations import Generation, ServerProcess
from dockyard.targets.supervisor.log import ServiceLog

PR_SET_PDEATHSIG = 1


def set_parent_death_signal() -> None:
    """Runs in the child between fork and exec: SIGTERM it when the supervisor dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Starter:
    """Starts servers on ``sock``, cold or from the warm parent it keeps."""

    def __init__(self, sock: socket.socket, log: ServiceLog) -> None:
        self.sock = sock
        self.log = log
        self.zygote: warm.Zygote | None = None

    def start(self, number: int, spec: DeploymentSpec) -> Generation:
        """Start generation ``number`` of ``spec``: ``spec.worker_count`` servers (at least one)."""
        self.log.rotate_if_big()
        gen = Generation(number=number, spec=spec, started_at=time.monotonic())
        gen.log_offset = self.log.size()
        for index in range(max(1, spec.worker_count)):
            path = ready_file(spec.service_dir, number, index)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            env = {**os.environ, **spec.env}
            env.update(
                {
                    contract.LISTEN_FD_ENV: str(self.sock.fileno()),
                    contract.READY_FILE_ENV: str(path),
                    "PYTHONUNBUFFERED": "1",
                    contract.WORKER_COUNT_ENV: "1",
                }
            )
            args = ["--host", spec.host, "--port", str(spec.port), "--workers", "1"]
            gen.procs.append(self._fork_warm(spec, env, args) or self._start_cold(spec, env, args))
        self.log.say(f"generation {number}: started server pid(s) {[p.pid for p in gen.procs]}")
        return gen

    def _start_cold(
        self, spec: DeploymentSpec, env: dict[str, str], args: list[str]
    ) -> ServerProcess:
        return subprocess.Popen(
            spec.command(*args),
            cwd=str(spec.app_root),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log.handle,
            stderr=subprocess.STDOUT,
            pass_fds=(self.sock.fileno(),),
            preexec_fn=set_parent_death_signal,  # noqa: PLW1509
        )

    def _fork_warm(
        self, spec: DeploymentSpec, env: dict[str, str], args: list[str]
    ) -> ServerProcess | None:
        """Fork the server from the warm parent when it has this environment loaded."""
        zygote = self.zygote
        if zygote is None or not warm.enabled(spec) or not zygote.alive:
            return None
        zygote.pump()
        if not zygote.ready or zygote.key != warm.warm_key(spec):
            return None
        try:
            child = zygote.spawn(env, str(spec.app_root), [*args, *spec.extra_args])
        except OSError as exc:
            self.log.say(f"warm start failed ({exc}); starting cold")
            return None
        self.log.say(
            f"server pid {child.pid} forked from the warm parent (packages already imported)"
        )
        return child

    def keep_warm(self, gen: Generation) -> None:
        """After ``gen`` became ready: keep a warm parent with its packages for the next start."""
        if not warm.enabled(gen.spec):
            return
        key = warm.warm_key(gen.spec)
        if self.zygote is not None and self.zygote.alive and self.zygote.key == key:
            return
        if self.zygote is not None:
            self.zygote.stop()
        modules = _imported_modules(gen)
        try:
            self.zygote = warm.Zygote(
                gen.spec, modules, self.sock.fileno(), self.log.handle, set_parent_death_signal
            )
        except OSError as exc:  # never let the fast path take the service down
            self.zygote = None
            self.log.say(f"could not start a warm parent ({exc}); restarts will start cold")
            return
        self.log.say(f"warm parent pid {self.zygote.proc.pid} preloading {len(modules)} package(s)")

    def stop_warm(self) -> None:
        if self.zygote is not None:
            self.zygote.stop()


def _imported_modules(gen: Generation) -> list[str]:
    """The third-party modules ``gen``'s first server imported (from its ready file)."""
    try:
        info = json.loads(gen.ready_files[0].read_text() or "{}")
    except (OSError, ValueError, IndexError):
        info = {}
    found = info.get("modules", []) if isinstance(info, dict) else []
    return [m for m in found if isinstance(m, str)]
