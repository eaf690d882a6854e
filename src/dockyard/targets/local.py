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
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import ClassVar

from dockyard.errors import ConflictError, DeploymentError
from dockyard.server import contract
from dockyard.targets import port_is_free
from dockyard.targets.base import (
    CRASH_LOOP,
    FAILED,
    HEALTHY,
    STOPPED,
    TRANSITIONING,
    UNHEALTHY,
    DeploymentSpec,
    OnEvent,
    RolloutResult,
    ServiceSpec,
    TargetStatus,
)
from dockyard.targets.keys_file import KEYS_FILE, write_keys_file
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
#: How long reload()/update() wait for the new version to take over or fail.
SWITCH_TIMEOUT_SECONDS = 600.0
SUPERVISOR_START_SECONDS = 15.0
STOP_SECONDS = 20.0


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
    """Runs services as supervised local processes (see the module docstring)."""

    kind: ClassVar[str] = "local"
    needs_image: ClassVar[bool] = False
    supports_reload: ClassVar[bool] = True
    ships_environment: ClassVar[bool] = False

    def __init__(self, scope: str = "") -> None:
        self.scope = scope  # unused: a port or a folder identifies a local service

    # --- lifecycle ------------------------------------------------------------------------------
    def deploy(self, spec: ServiceSpec) -> TargetStatus:
        """Start a service (replacing a running one of the same name)."""
        version = _version_of(spec)
        service_dir = version.service_dir
        service_dir.mkdir(parents=True, exist_ok=True)
        self.stop(version.name, service_dir)
        if version.port and not port_is_free(version.port, version.host):
            raise ConflictError(
                f"Port {version.port} on {version.host} is already in use, so service "
                f"{version.name!r} cannot start there",
                hint="choose another port in LocalWebservice.deploy_configuration(port=...), or omit it to get a free one",
            )
        for stale in (STATUS_FILE, NEXT_SPEC_FILE):
            with contextlib.suppress(FileNotFoundError):
                (service_dir / stale).unlink()
        write_json_atomic(service_dir / SPEC_FILE, version.to_json())
        return self.start(version.name, service_dir)

    def start(self, name: str, service_dir: Path) -> TargetStatus:
        """Start the supervisor for an already-deployed service (e.g. after a reboot); a running
        one is left as it is."""
        if not (service_dir / SPEC_FILE).exists():
            raise DeploymentError(
                f"Service {name!r} has no deployment on this machine ({service_dir / SPEC_FILE} is missing)",
                step="start",
                hint="deploy it again with Model.deploy(...) or `dockyard model deploy`",
            )
        status = read_status(service_dir) or {}
        if _pid_alive(status.get("supervisor_pid"), service_dir):
            return self.status(name, service_dir)
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
        deadline = time.monotonic() + SUPERVISOR_START_SECONDS
        while time.monotonic() < deadline:
            status = read_status(service_dir) or {}
            if status.get("supervisor_pid") == proc.pid:
                return self.status(name, service_dir)
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        status = read_status(service_dir) or {}
        if status.get("error"):
            raise DeploymentError(
                f"Service {name!r} could not start: {status['error']}", step="start"
            )
        raise DeploymentError(
            f"The supervisor of service {name!r} did not start within {SUPERVISOR_START_SECONDS:g} s",
            step="start",
            log_tail=tail(service_dir / "supervisor.log", 30),
            hint=f"read {service_dir / 'supervisor.log'}",
        )

    def reload(self, spec: ServiceSpec, on_event: OnEvent = None) -> RolloutResult:
        """Start ``spec`` beside the running version; the supervisor switches when it is ready."""
        return self.update(spec, on_event)

    def update(self, spec: ServiceSpec, on_event: OnEvent = None) -> RolloutResult:
        """Roll out ``spec`` and wait until it serves or has failed (bounded).

        With a running supervisor, the new version starts beside the old one. Without one (it was
        stopped or killed), a supervisor is started on the new version directly.
        """
        version = _version_of(spec)
        status = read_status(version.service_dir) or {}
        pid = status.get("supervisor_pid")
        if pid is None or not _pid_alive(pid, version.service_dir):
            with contextlib.suppress(FileNotFoundError):
                (version.service_dir / NEXT_SPEC_FILE).unlink()
            write_json_atomic(version.service_dir / SPEC_FILE, version.to_json())
            self.start(version.name, version.service_dir)
        else:
            write_json_atomic(version.service_dir / NEXT_SPEC_FILE, version.to_json())
            os.kill(pid, signal.SIGHUP)
        if on_event is not None and version.env.get(contract.DEBUGPY_LISTEN_ENV):
            on_event(
                "the debugger is on: the running version stops first, so that the new one can "
                "listen on the debugger's port; no version serves until it is ready (a gap)"
            )
        elif on_event is not None:
            on_event("the new version starts beside the running one; waiting for its init()")
        result = self.wait_for_revision(
            version.name, version.service_dir, version.revision, SWITCH_TIMEOUT_SECONDS
        )
        return RolloutResult(
            state=str(result["state"]),
            error=result.get("error"),  # type: ignore[arg-type]
            previous_serving=bool(result.get("previous_serving")),
            details={
                "generation": result.get("generation"),
                **({"stopped_first": True} if result.get("stopped_first") else {}),
            },
        )

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
                # a version stopped first (the debugger is on) does not serve after a failure
                serving = update.get("state") == FAILED and not update.get("stopped_first")
                return {**update, "previous_serving": serving}
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

    def stop(self, name: str, service_dir: Path) -> None:
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
            deadline = time.monotonic() + STOP_SECONDS
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

    # --- keys and ports ---------------------------------------------------------------------------
    def write_keys(self, name: str, service_dir: Path, primary: str, secondary: str) -> None:
        service_dir.mkdir(parents=True, exist_ok=True)
        write_keys_file(service_dir / KEYS_FILE, primary, secondary)

    def port_owner(self, port: int) -> str | None:
        """The local service whose supervisor holds ``port`` on this machine (any workspace)."""
        for pid in _listeners(port):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if SUPERVISOR_MODULE.encode() in argv and argv.index(
                SUPERVISOR_MODULE.encode()
            ) + 1 < len(argv):
                folder = Path(argv[argv.index(SUPERVISOR_MODULE.encode()) + 1].decode())
                return (
                    f"port {port} is held by dockyard service {folder.name!r} "
                    f"(dockyard service show {folder.name})"
                )
        return None


def _version_of(spec: ServiceSpec) -> DeploymentSpec:
    """The supervisor's record of ``spec``: a new revision, with the keys file when auth is on."""
    if spec.app_root is None or not spec.server_argv:
        raise ValueError(
            f"service {spec.name!r}: the local target needs an app root and a server command"
        )
    env = dict(spec.env)
    if spec.auth_enabled:
        env[contract.KEYS_FILE_ENV] = str(spec.service_dir / KEYS_FILE)
    return DeploymentSpec(
        name=spec.name,
        service_dir=spec.service_dir,
        app_root=spec.app_root,
        python=spec.server_argv[0],
        server_argv=tuple(spec.server_argv),
        env=env,
        port=spec.port,
        worker_count=spec.worker_count,
        startup_timeout_seconds=spec.startup_timeout_seconds,
        revision=uuid.uuid4().hex,
    )


def _listeners(port: int) -> list[int]:
    """PIDs of the processes that have a socket listening on TCP ``port`` open (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                fds = os.listdir(f"/proc/{entry}/fd")
                if any(_link(f"/proc/{entry}/fd/{fd}") in inodes for fd in fds):
                    found.append(int(entry))
    return found


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""
