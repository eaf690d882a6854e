"""The client of the warm parent (``dockyard.server.zygote``): start one per service and
environment, ask it for servers, and watch those servers as if they were ``Popen`` objects.

A reload (or an update in the same environment, or a restart after a crash) then skips the
seconds the user's packages take to import. Set ``DOCKYARD_FAST_RELOAD=0`` in the service's
environment variables to turn it off (it keeps one more process, with those packages imported,
per service). When to keep one and when to fork from it is ``spawn.py``'s choice.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from typing import IO, Any

from dockyard.server import contract
from dockyard.targets.base import DeploymentSpec

#: ``0`` in the service's variables: no warm parent, every start is cold.
FAST_RELOAD_ENV = "DOCKYARD_FAST_RELOAD"

# Variables that differ between versions of the same environment (per app root).
_PER_VERSION = {
    contract.MODEL_DIR_ENV,
    contract.ENTRY_SCRIPT_ENV,
    contract.APP_ROOT_ENV,
    contract.SOURCE_DIRECTORY_ENV,
}


def warm_key(spec: DeploymentSpec) -> tuple[Any, ...]:
    """Two versions can share a warm parent when they run the same interpreter and settings."""
    env = tuple(sorted((k, v) for k, v in spec.env.items() if k not in _PER_VERSION))
    return (tuple(spec.command()), env)


def enabled(spec: DeploymentSpec) -> bool:
    """Is the warm parent on for this version (``DOCKYARD_FAST_RELOAD`` is not ``0``)? Not with
    the debugger: its server starts cold, so debugpy starts in a fresh process."""
    if spec.env.get(contract.DEBUGPY_LISTEN_ENV):
        return False
    return spec.env.get(FAST_RELOAD_ENV, "1") != "0"


class Zygote:
    """A warm parent process and the socket pair to talk to it."""

    def __init__(
        self,
        spec: DeploymentSpec,
        modules: list[str],
        listen_fd: int,
        log: IO[bytes],
        preexec: Callable[[], None],
    ) -> None:
        self.key = warm_key(spec)
        ours, theirs = socket.socketpair()
        env = {**os.environ, **spec.env}
        env.update(
            {
                contract.ZYGOTE_FD_ENV: str(theirs.fileno()),
                contract.ZYGOTE_PRELOAD_ENV: ",".join(modules),
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.proc = subprocess.Popen(
            spec.command(),
            cwd=str(spec.service_dir),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(theirs.fileno(), listen_fd),
            preexec_fn=preexec,  # noqa: PLW1509
        )
        theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.buffer = b""
        self.ready = False
        self.spawned: list[int] = []
        self.exits: dict[int, int] = {}

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def pump(self) -> None:
        """Read whatever the zygote has said."""
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                return
            self.buffer += data
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                with contextlib.suppress(ValueError):
                    message = json.loads(line)
                    if message.get("ready"):
                        self.ready = True
                    elif "pid" in message:
                        self.spawned.append(int(message["pid"]))
                    elif "exit" in message:
                        self.exits[int(message["exit"])] = int(message["code"])

    def spawn(
        self, env: dict[str, str], cwd: str, argv: list[str], timeout: float = 5.0
    ) -> WarmChild:
        request = json.dumps({"env": env, "cwd": cwd, "argv": argv}).encode() + b"\n"
        self.sock.setblocking(True)
        try:
            self.sock.sendall(request)
        finally:
            self.sock.setblocking(False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump()
            if self.spawned:
                return WarmChild(self, self.spawned.pop(0))
            if not self.alive:
                break
            time.sleep(0.002)
        raise OSError("the warm parent did not start a server")

    def stop(self) -> None:
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sock.close()


class WarmChild:
    """A server forked by the zygote, with the part of ``Popen``'s interface the supervisor uses."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.zygote.pump()
            if self.pid in self.zygote.exits:
                self.returncode = self.zygote.exits.pop(self.pid)
            elif not self.zygote.alive and not os.path.exists(f"/proc/{self.pid}"):
                self.returncode = -signal.SIGTERM  # the zygote died and took its children along
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.005)
        return code
