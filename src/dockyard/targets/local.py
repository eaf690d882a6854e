"""The local target: a service runs as supervised processes on this machine, no Docker needed.

Each service gets a supervisor process (``dockyard.targets.supervisor``) that outlives the caller,
holds the port, starts the scoring server and restarts it. This module starts, signals and reads
that supervisor through files in the service's folder; see the supervisor's docstring for the
protocol.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

from dockyard.errors import ConflictError, DeploymentError
from dockyard.targets.base import (
    CRASH_LOOP,
    FAILED,
    HEALTHY,
    STOPPED,
    TRANSITIONING,
    UNHEALTHY,
    DeploymentSpec,
    TargetStatus,
)
from dockyard.targets.supervisor import (
    LOG_FILE,
    NEXT_SPEC_FILE,
    SPEC_FILE,
    STATUS_FILE,
    read_status,
    tail,
    write_json_atomic,
)

SUPERVISOR_MODULE = "dockyard.targets.supervisor"


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _pid_alive(pid: int | None, service_dir: Path) -> bool:
    """Is ``pid`` a running supervisor of this service (not a recycled PID)?"""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError as exc:
            return exc.errno == errno.EPERM
        return True
    if Path(f"/proc/{pid}/stat").exists():
        with contextlib.suppress(OSError, IndexError):
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    return SUPERVISOR_MODULE.encode() in cmdline and str(service_dir).encode() in cmdline


class LocalTarget:
    """Runs services as supervised local processes."""

    kind = "local"

    # --- lifecycle ------------------------------------------------------------------------------
    def deploy(self, spec: DeploymentSpec) -> str:
        """Start a service (replacing a running one of the same name); returns its revision."""
        spec = replace(spec, revision=uuid.uuid4().hex)
        service_dir = spec.service_dir
        service_dir.mkdir(parents=True, exist_ok=True)
        self.stop(spec.name, service_dir)
        if spec.port and not port_is_free(spec.port, spec.host):
            raise ConflictError(
                f"Port {spec.port} on {spec.host} is already in use, so service {spec.name!r} cannot start there",
                hint="choose another port in LocalWebservice.deploy_configuration(port=...), or omit it to get a free one",
            )
        for stale in (STATUS_FILE, NEXT_SPEC_FILE):
            with contextlib.suppress(FileNotFoundError):
                (service_dir / stale).unlink()
        write_json_atomic(service_dir / SPEC_FILE, spec.to_json())
        self.start(spec.name, service_dir)
        return spec.revision

    def start(self, name: str, service_dir: Path) -> None:
        """Start the supervisor for an already-deployed service (e.g. after a reboot)."""
        if not (service_dir / SPEC_FILE).exists():
            raise DeploymentError(
                f"Service {name!r} has no deployment on this machine ({service_dir / SPEC_FILE} is missing)",
                step="start",
                hint="deploy it again with Model.deploy(...) or `dockyard model deploy`",
            )
        status = read_status(service_dir) or {}
        if _pid_alive(status.get("supervisor_pid"), service_dir):
            return
        write_json_atomic(
            service_dir / STATUS_FILE,
            {
                "state": TRANSITIONING,
                "error": None,
                "restart_count": 0,
                "events": [],
                "supervisor_pid": None,
                # the new supervisor numbers its generations on from the last one's
                "generation": int(status.get("generation") or 0),
            },
        )
        with open(service_dir / "supervisor.log", "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", SUPERVISOR_MODULE, str(service_dir)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                cwd=str(service_dir),
            )
        # Wait until the supervisor has written its status (bound the port) or died.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            status = read_status(service_dir) or {}
            if status.get("supervisor_pid") == proc.pid:
                return
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        status = read_status(service_dir) or {}
        if status.get("error"):
            raise DeploymentError(
                f"Service {name!r} could not start: {status['error']}", step="start"
            )
        raise DeploymentError(
            f"The supervisor of service {name!r} did not start",
            step="start",
            log_tail=tail(service_dir / "supervisor.log", 30),
            hint=f"read {service_dir / 'supervisor.log'}",
        )

    def reload(self, spec: DeploymentSpec) -> str:
        """Start ``spec`` beside the running version; the supervisor switches when it is ready."""
        return self.update(spec)

    def update(self, spec: DeploymentSpec) -> str:
        """Roll out ``spec``; returns its revision (see :meth:`wait_for_revision`).

        With a running supervisor, the new version starts beside the old one. Without one (it was
        stopped or killed), a supervisor is started on the new version directly.
        """
        spec = replace(spec, revision=uuid.uuid4().hex)
        status = read_status(spec.service_dir) or {}
        pid = status.get("supervisor_pid")
        if pid is None or not _pid_alive(pid, spec.service_dir):
            with contextlib.suppress(FileNotFoundError):
                (spec.service_dir / NEXT_SPEC_FILE).unlink()
            write_json_atomic(spec.service_dir / SPEC_FILE, spec.to_json())
            self.start(spec.name, spec.service_dir)
            return spec.revision
        write_json_atomic(spec.service_dir / NEXT_SPEC_FILE, spec.to_json())
        os.kill(pid, signal.SIGHUP)
        return spec.revision

    def wait_for_revision(
        self, name: str, service_dir: Path, revision: str, timeout: float
    ) -> dict[str, object]:
        """Wait until ``revision`` serves or has failed; ``{"state", "error", "previous_serving"}``.

        Bounded by ``timeout`` and by the supervisor: if it dies, or the revision crash-loops as
        the only version (nothing older to fall back on), this returns at once with the error.
        """
        deadline = time.monotonic() + timeout
        while True:
            data = read_status(service_dir) or {}
            update = data.get("update") or {}
            if update.get("revision") == revision and update.get("state") in (HEALTHY, FAILED):
                return {**update, "previous_serving": update.get("state") == FAILED}
            if data.get("revision") == revision:
                state = data.get("state")
                if state in (HEALTHY, UNHEALTHY):
                    return {"state": HEALTHY, "error": None, "previous_serving": False}
                if state in (CRASH_LOOP, FAILED):
                    return {"state": FAILED, "error": data.get("error"), "previous_serving": False}
            if data.get("supervisor_pid") and not _pid_alive(data["supervisor_pid"], service_dir):
                return {
                    "state": FAILED,
                    "error": f"the supervisor of service {name!r} stopped while the new version "
                    f"started; the end of its log:\n{tail(service_dir / 'supervisor.log', 20)}",
                    "previous_serving": False,
                }
            if time.monotonic() >= deadline:
                return {
                    "state": FAILED,
                    "error": f"the new version did not become ready within {timeout:g} s "
                    "(waited for its init() to finish)",
                    "previous_serving": data.get("state") == HEALTHY,
                }
            time.sleep(0.02)

    def stop(self, name: str, service_dir: Path, timeout: float = 20.0) -> None:
        """Stop the service's supervisor and servers; the recorded state becomes ``Stopped``.

        Safe whatever happened before: a supervisor that was killed leaves nothing to stop, and
        the state is still recorded as stopped (not the stale state of the dead one).
        """
        status = read_status(service_dir)
        if status is None:
            return
        pid = status.get("supervisor_pid")
        if pid is not None and _pid_alive(pid, service_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _pid_alive(pid, service_dir):
                time.sleep(0.05)
            if _pid_alive(pid, service_dir):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        status = read_status(service_dir) or status
        if status.get("state") != STOPPED or status.get("supervisor_pid"):
            events = list(status.get("events") or [])
            events.append({"at": time.time(), "state": STOPPED, "message": "stopped on request"})
            write_json_atomic(
                service_dir / STATUS_FILE,
                {
                    **status,
                    "state": STOPPED,
                    "error": None,
                    "supervisor_pid": None,
                    "pids": [],
                    "events": events[-50:],
                    "updated_at": time.time(),
                },
            )

    def delete(self, name: str, service_dir: Path) -> None:
        self.stop(name, service_dir)
        shutil.rmtree(service_dir, ignore_errors=True)

    # --- reading --------------------------------------------------------------------------------
    def status(self, name: str, service_dir: Path) -> TargetStatus:
        data = read_status(service_dir)
        if data is None:
            return TargetStatus(
                state=STOPPED, error=f"service {name!r} is not running on this machine"
            )
        spec_port = None
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            spec_port = json.loads((service_dir / SPEC_FILE).read_text()).get("port")
        status = TargetStatus(
            state=data.get("state", TRANSITIONING),
            error=data.get("error"),
            restart_count=int(data.get("restart_count") or 0),
            port=data.get("port") or spec_port,
            pids=list(data.get("pids") or []),
            generation=int(data.get("generation") or 0),
            events=list(data.get("events") or []),
            details={"update": data.get("update"), "supervisor_pid": data.get("supervisor_pid")},
        )
        alive = _pid_alive(data.get("supervisor_pid"), service_dir)
        status.details["supervisor_alive"] = alive
        if status.state != STOPPED and not alive:
            status.state = UNHEALTHY
            status.error = (
                f"The supervisor of service {name!r} is not running (it was stopped, killed, or the "
                f"machine restarted), so nothing answers on port {status.port}. "
                f"Run `dockyard service start {name}` to bring it back."
            )
            status.pids = []
        return status

    def logs(self, name: str, service_dir: Path, num_lines: int = 5000) -> str:
        return tail(service_dir / LOG_FILE, num_lines)
