"""A generation: one start of one version of the service, and its server processes.

Generations are numbered on from the previous supervisor's, so a number names one start. This
module watches a started generation (ready? exited?) and stops it: at once with a grace period
(``stop``), or in the background after a switch, so that it finishes its in-flight requests while
the new version serves (``Retiring``). Starting one is ``spawn.py``'s job.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dockyard.targets.base import DeploymentSpec
from dockyard.targets.supervisor.files import ready_file

STOP_GRACE_SECONDS = 10.0
#: How long a switch waits for the old version to stop accepting connections.
STOP_ACCEPTING_SECONDS = 3.0


class ServerProcess(Protocol):
    """What the supervisor uses of a server: a ``Popen``, or a ``warm.WarmChild``."""

    pid: int

    def poll(self) -> int | None: ...

    def send_signal(self, signum: int) -> None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass
class Generation:
    """One version of the service as started once: its spec and its server processes."""

    number: int
    spec: DeploymentSpec
    procs: list[ServerProcess] = field(default_factory=list)
    started_at: float = 0.0
    ready: bool = False
    log_offset: int = 0  # size of server.log when this generation started

    @property
    def ready_files(self) -> list[Path]:
        return [ready_file(self.spec.service_dir, self.number, i) for i in range(len(self.procs))]

    def exit_codes(self) -> list[int | None]:
        return [proc.poll() for proc in self.procs]

    def alive_pids(self) -> list[int]:
        return [proc.pid for proc in self.procs if proc.poll() is None]

    def all_said_ready(self, codes: list[int | None]) -> bool:
        """Has every server written its ready file (and one still runs)?"""
        return all(path.exists() for path in self.ready_files) and None in codes

    def seconds_since_start(self) -> float:
        return time.monotonic() - self.started_at

    def startup_timed_out(self) -> bool:
        """Did it take longer than the spec's start-up timeout (if any) without becoming ready?"""
        limit = self.spec.startup_timeout_seconds
        return bool(limit) and self.seconds_since_start() > (limit or 0)

    def remove_ready_files(self) -> None:
        for path in self.ready_files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def terminate(gen: Generation) -> None:
    """Ask every running server of ``gen`` to stop (SIGTERM); do not wait."""
    for proc in gen.procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)


def stop(gen: Generation | None) -> None:
    """Stop ``gen`` now: SIGTERM, then SIGKILL after ``STOP_GRACE_SECONDS``."""
    if gen is None:
        return
    terminate(gen)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for proc in gen.procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    gen.remove_ready_files()


class Retiring:
    """Replaced generations that finish their in-flight requests in the background."""

    def __init__(self) -> None:
        self.gens: list[tuple[Generation, float]] = []  # (old version, kill deadline)

    def retire(self, gen: Generation | None) -> None:
        """Stop a replaced version without waiting (``reap`` finishes the job)."""
        if gen is None:
            return
        terminate(gen)
        self.gens.append((gen, time.monotonic() + STOP_GRACE_SECONDS))

    def reap(self) -> None:
        """Forget the retired generations that exited; kill those past their grace period."""
        still = []
        for gen, deadline in self.gens:
            alive = [p for p in gen.procs if p.poll() is None]
            if alive and time.monotonic() > deadline:
                for proc in alive:
                    proc.kill()
                    proc.wait()
                alive = []
            if alive:
                still.append((gen, deadline))
            else:
                gen.remove_ready_files()
        self.gens = still

    def stop_all(self) -> None:
        for gen, _ in self.gens:
            stop(gen)


def wait_until_not_accepting(
    gen: Generation | None,
    sock: socket.socket | None,
    say: Callable[[str], None],
    limit: float = STOP_ACCEPTING_SECONDS,
) -> None:
    """Return once ``gen``'s processes have closed the shared listening socket (they do so
    first thing on SIGTERM), so that every connection from now on reaches the new version.
    Their in-flight requests still finish; the rest of their shutdown goes on in the
    background."""
    if gen is None or sock is None:
        return
    link = f"socket:[{os.fstat(sock.fileno()).st_ino}]"
    deadline = time.monotonic() + limit
    pids = gen.alive_pids()
    started = time.monotonic()
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if holds(pid, link)]
        if pids:
            time.sleep(0.005)
    waited = time.monotonic() - started
    if pids:
        say(f"generation {gen.number} still holds the port after {waited:.2f}s; switching anyway")
    else:
        say(f"generation {gen.number} stopped accepting after {waited:.3f}s")


def holds(pid: int, link: str) -> bool:
    """Does process ``pid`` still have a file descriptor on ``link`` (``socket:[inode]``)?"""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}") == link:
                return True
    return False
