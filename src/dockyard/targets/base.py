"""The small interface every target implements, and the plain specs it receives.

A target runs a prepared deployment on one engine (local processes, Docker, Ray). It knows nothing
about the registry or the user-facing objects: ``webservice/`` hands it a ``DeploymentSpec`` and
reads back a ``TargetStatus``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

# Service states, as Azure ML names them.
TRANSITIONING = "Transitioning"
HEALTHY = "Healthy"
UNHEALTHY = "Unhealthy"
FAILED = "Failed"
CRASH_LOOP = "CrashLoopBackOff"
STOPPED = "Stopped"
STATES = (TRANSITIONING, HEALTHY, UNHEALTHY, FAILED, CRASH_LOOP, STOPPED)


@dataclass(frozen=True)
class DeploymentSpec:
    """Everything needed to run one version of a service."""

    name: str
    service_dir: Path  # the target's own folder for this service (logs, status, app roots)
    app_root: Path  # laid out by build.layout
    python: str  # interpreter that runs the scoring server
    env: dict[str, str]  # environment variables for the server (AZUREML_*, user variables)
    port: int
    host: str = "127.0.0.1"
    worker_count: int = 1
    startup_timeout_seconds: float | None = None
    extra_args: tuple[str, ...] = ()
    #: argv that starts ``python -m dockyard.server`` in the environment (default: that command).
    server_argv: tuple[str, ...] = ()
    #: Names this version among the service's deployments (set by the target for each roll-out),
    #: so that a caller waits for its own version, whatever happened to the processes meanwhile.
    revision: str = ""

    def command(self, *args: str) -> list[str]:
        base = list(self.server_argv) or [self.python, "-m", "dockyard.server"]
        return [*base, *args, *self.extra_args]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["service_dir"] = str(self.service_dir)
        data["app_root"] = str(self.app_root)
        data["extra_args"] = list(self.extra_args)
        data["server_argv"] = list(self.server_argv)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeploymentSpec:
        data = dict(data)
        data["service_dir"] = Path(data["service_dir"])
        data["app_root"] = Path(data["app_root"])
        data["extra_args"] = tuple(data.get("extra_args", ()))
        data["server_argv"] = tuple(data.get("server_argv", ()))
        return cls(**data)


@dataclass
class TargetStatus:
    """What a target knows about a service right now."""

    state: str
    error: str | None = None
    restart_count: int = 0
    port: int | None = None
    pids: list[int] = field(default_factory=list)
    generation: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


class Target(Protocol):
    """One engine. Every method takes the service name; ``deploy`` and ``update`` take a spec."""

    kind: str

    def deploy(self, spec: DeploymentSpec) -> None: ...

    def status(self, name: str, service_dir: Path) -> TargetStatus: ...

    def logs(self, name: str, service_dir: Path, num_lines: int = 5000) -> str: ...

    def reload(self, spec: DeploymentSpec) -> None: ...

    def update(self, spec: DeploymentSpec) -> None: ...

    def stop(self, name: str, service_dir: Path) -> None: ...

    def delete(self, name: str, service_dir: Path) -> None: ...
