"""The one interface every target implements, and the plain specs and statuses it exchanges.

A target runs services on one engine (local processes, Docker, Ray). It knows nothing about the
workspace store or the user-facing objects: the deploy flow (:mod:`dockyard.ops.services`) hands
it a :class:`ServiceSpec` (one version of a service, ready to run) and reads back a
:class:`TargetStatus` or a :class:`RolloutResult`. Every target class has exactly the methods of
:class:`Target`, with the same signatures (a test checks it), so the flow never asks which engine
it talks to; what differs between engines is said by two class attributes: ``needs_image`` (the
flow builds or reuses a container image for it, else a virtual environment and an app root on
this machine), ``ships_environment`` (it runs elsewhere: the environment goes as exact pins and
the server runtime) and ``supports_reload``.

:class:`DeploymentSpec` is the local target's own record of a version (what its supervisor reads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

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
    #: Where the service answers when it is not ``http://127.0.0.1:<port>`` (a cluster's proxy
    #: and route prefix): ``scoring_uri`` is ``base_uri + "/score"``.
    base_uri: str | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """One version of a service, ready to run, as every target receives it (plain data).

    ``app_root`` and ``server_argv`` are set for targets that run the server on this machine
    (``needs_image`` False); ``image`` (a reference the engine has) for the others.
    """

    name: str
    service_dir: Path  # the target's own folder for this service (state, logs, keys)
    env: dict[str, str]  # the server's settings (dockyard.server.contract names) and user vars
    port: int = 0  # 0: a free port, kept for the service's life
    worker_count: int = 1
    startup_timeout_seconds: float | None = None
    auth_enabled: bool = False  # keys come from Target.write_keys
    app_root: Path | None = None
    server_argv: tuple[str, ...] = ()
    image: str | None = None
    cpu_cores: float | None = None
    memory_gb: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    #: For targets that install the environment on other machines (``ships_environment``): the
    #: environment's exact pins (``name==version``, empty: the engine's own Python), its Python
    #: version, and the server runtime (dockyard's server package folder, unpacked from its wheel).
    requirements: tuple[str, ...] = ()
    python_version: str | None = None
    server_runtime: Path | None = None
    #: The deployment configuration as recorded (Azure's names), for engines that map it onto
    #: their own settings (replicas, autoscaling), and where it runs (a cluster's address).
    config: dict[str, Any] = field(default_factory=dict)
    placement: dict[str, Any] = field(default_factory=dict)


@dataclass
class RolloutResult:
    """How an ``update``/``reload`` ended: the new version serves (``Healthy``) or it failed
    (``Failed``, with ``error``; ``previous_serving`` says whether the old version still does)."""

    state: str
    error: str | None = None
    previous_serving: bool = False
    details: dict[str, Any] = field(default_factory=dict)


#: A callback for progress lines of a long call (``update`` waiting for init(), ...).
OnEvent = Callable[[str], None] | None


class Target(Protocol):
    """One engine (see the module docstring). Construct with the workspace's ``scope``: a short
    id that keeps the engine-wide names of two workspaces apart."""

    kind: ClassVar[str]
    needs_image: ClassVar[bool]
    supports_reload: ClassVar[bool]
    #: The service runs on other machines: the flow hands over the environment as exact pins and
    #: the server runtime (``ServiceSpec.requirements``/``server_runtime``), not a local interpreter.
    ships_environment: ClassVar[bool]

    def __init__(self, scope: str) -> None: ...

    def deploy(self, spec: ServiceSpec) -> TargetStatus:
        """Start ``spec`` as the service (replacing any version of it); raise if it cannot."""
        ...

    def update(self, spec: ServiceSpec, on_event: OnEvent = None) -> RolloutResult:
        """Start ``spec`` beside the running version and switch once it is ready (no failed
        request); wait until it serves or has failed."""
        ...

    def reload(self, spec: ServiceSpec, on_event: OnEvent = None) -> RolloutResult: ...

    def start(self, name: str, service_dir: Path) -> TargetStatus:
        """Start a stopped service again as it was (idempotent)."""
        ...

    def stop(self, name: str, service_dir: Path) -> None: ...

    def delete(self, name: str, service_dir: Path) -> None:
        """Remove everything the service has on the engine, and its folder."""
        ...

    def status(self, name: str, service_dir: Path) -> TargetStatus: ...

    def logs(self, name: str, service_dir: Path, num_lines: int = 5000) -> str: ...

    def write_keys(self, name: str, service_dir: Path, primary: str, secondary: str) -> None:
        """Hand the service's keys to its server (it re-reads them without a restart)."""
        ...

    def port_owner(self, port: int) -> str | None:
        """``"dockyard service 'x' ..."`` when one of this engine's services holds ``port``."""
        ...
