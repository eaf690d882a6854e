"""The Docker target: one service = a small *holder* container that owns the published port, and
the scoring-server container that shares the holder's network namespace.

Why two containers: Docker cannot change the ports of a running container, so a new version of
a service could not take over the host port of the old one without a gap. The holder publishes
``127.0.0.1:PORT -> 5001`` once, for the service's whole life. Server containers join its network
namespace (``network_mode=container:<holder>``) and alternate between ports 5001 and 5002 inside
it. ``update()`` starts the new server on the free port beside the old one, waits until it is
ready (after ``init()``), then switches with one kernel NAT rule *inside the holder's namespace*
(``iptables -t nat PREROUTING --dport 5001 -j REDIRECT --to-ports 5002``, or no rule), and stops
the old server gracefully. Connections already open finish on the old server; new ones reach the
new server; nothing proxies requests. The rule lives in the holder's namespace only and vanishes
with it. Switching needs root (``nsenter``) and ``iptables`` on this machine; without them,
``update()`` still checks the new version beside the old one first, then restarts it on port 5001
(a gap of one server start-up, measured in docs/containers.md).

States come from the engine: the server container's status, restart count, the ``die``/``oom``
events the engine recorded for it, and a ``GET /health/ready`` on the published port.
Exit code 3 (import or ``init()`` failed) with restarts is ``CrashLoopBackOff`` (Docker's own
restart back-off); an out-of-memory kill is reported as such, naming the limit; another non-zero
exit is a bad configuration: ``Failed``, and restarts are switched off.

Keys: the service's keys directory is bind-mounted read-only at ``/run/dockyard-keys``; only its
path is in the container's environment, so keys never appear in ``docker inspect``.

What the target knows of a service is in ``<service_dir>/container.json``; it knows nothing of
the workspace store.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Any, ClassVar

from dockyard.errors import ConflictError, DeploymentError
from dockyard.server import contract
from dockyard.targets import port_is_free
from dockyard.targets._docker_parts import (
    _GIB,
    PORTS,
    can_switch,
    free_port,
    is_port_conflict,
    logs_of,
    port_holders,
    probe_code,
    redirect,
    wait_ready,
    with_port,
)
from dockyard.targets.base import (
    FAILED,
    HEALTHY,
    STOPPED,
    OnEvent,
    RolloutResult,
    ServiceSpec,
    TargetStatus,
)
from dockyard.targets.docker_engine import connect
from dockyard.targets.docker_state import (
    STATE_FILE,
    ContainerSpec,
    holder_name,
    read_state,
    write_state,
)
from dockyard.targets.docker_status import engine_status
from dockyard.targets.keys_file import KEYS_FILE, write_keys_file

KEYS_DIR = "keys"  # in the service's folder, mounted read-only at KEYS_MOUNT
KEYS_MOUNT = "/run/dockyard-keys"
#: uid of the image's app user (dockyard.builders.dockerfile.APP_UID): it must read the keys.
APP_UID = 1000
INIT_FAILED_EXIT = contract.EXIT_SCRIPT_FAILED
#: After the switch, the old server keeps listening this long so its accept queue drains.
DRAIN_SECONDS = 0.3
STOP_GRACE_SECONDS = 10
#: How many free ports a holder tries when another program takes the chosen one first.
HOLDER_PORT_ATTEMPTS = 5
PORT_HINT = "choose another port in deploy_configuration(port=...), or omit it to get a free one"


class DockerTarget:
    """Runs services as containers on a Docker engine (see the module docstring)."""

    kind: ClassVar[str] = "docker"
    needs_image: ClassVar[bool] = True
    supports_reload: ClassVar[bool] = True
    ships_environment: ClassVar[bool] = False

    def __init__(self, scope: str = "", client: Any = None) -> None:
        self.scope = scope or "local"  # container names: dockyard-<scope>-<service>
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect()
        return self._client

    # --- lifecycle ------------------------------------------------------------------------------
    def deploy(self, spec: ServiceSpec) -> TargetStatus:
        """Start a service (replacing any containers of the same service)."""
        self._deploy(self._container_spec(spec))
        return self.status(spec.name, spec.service_dir)

    def _container_spec(self, spec: ServiceSpec) -> ContainerSpec:
        if not spec.image:
            raise ValueError(f"service {spec.name!r}: the Docker target needs an image")
        env = dict(spec.env)
        env[contract.WORKER_COUNT_ENV] = str(spec.worker_count)
        if spec.startup_timeout_seconds:
            env[contract.STARTUP_TIMEOUT_ENV] = str(spec.startup_timeout_seconds)
        return ContainerSpec(
            name=spec.name, service_dir=spec.service_dir, image=spec.image, scope=self.scope,
            env=env, host_port=spec.port, cpu_cores=spec.cpu_cores, memory_gb=spec.memory_gb,
            keys_dir=spec.service_dir / KEYS_DIR if spec.auth_enabled else None,
            labels=dict(spec.labels),
        )  # fmt: skip

    def _deploy(self, spec: ContainerSpec) -> None:
        """Start the containers of ``spec`` (replacing any of the same service).

        A taken ``host_port`` is refused before any container is made, naming the dockyard
        service that holds it when there is one. Without ``host_port``, the holder publishes a
        port that is free now, for good: it stays the same across ``stop``/``start``.
        """
        import docker.errors

        self._remove_all(spec.name, spec.service_dir, keep_dir=True)
        if spec.host_port and not port_is_free(spec.host_port):
            raise ConflictError(
                f"Service {spec.name!r} cannot use 127.0.0.1:{spec.host_port}: "
                f"{self._owner_text(spec.host_port)}",
                hint=PORT_HINT,
            )
        # Recorded before any container exists, so that delete() finds what a failed start left.
        write_state(spec.service_dir, {"holder": holder_name(spec), "spec": spec.to_json()})
        try:
            holder = self._start_holder(spec)
            port = self._published_port(holder)
            server = self._start_server(spec, holder.name, generation=1, inner_port=PORTS[0])
        except docker.errors.APIError as exc:
            self._remove_all(spec.name, spec.service_dir, keep_dir=True)
            if spec.host_port and is_port_conflict(exc):
                raise DeploymentError(
                    f"Service {spec.name!r} cannot use 127.0.0.1:{spec.host_port}: "
                    f"{self._owner_text(spec.host_port)} (the engine said: "
                    f"{exc.explanation or exc})",
                    step="start container",
                    hint=PORT_HINT,
                ) from None
            raise DeploymentError(
                f"The engine refused to start service {spec.name!r} from {spec.image}: "
                f"{exc.explanation or exc}",
                step="start container",
                hint="read the engine's reason above; `docker info` shows whether the engine is healthy",
            ) from None
        write_state(
            spec.service_dir,
            {"holder": holder.name, "server": server.name, "generation": 1,
             "inner_port": PORTS[0], "host_port": port, "spec": spec.to_json()},
        )  # fmt: skip

    def port_owner(self, port: int) -> str | None:
        """The dockyard container service holding ``port`` (this workspace's or another's)."""
        for owner in port_holders(self.client, port):
            owner_scope, _sep, service = owner.rpartition("/")
            if owner_scope == self.scope:
                return f"port {port} is held by dockyard service {service!r} (dockyard service show {service})"
            return (
                f"port {port} is held by dockyard service {service!r} of another workspace "
                f"(workspace id {owner_scope}...; its container is dockyard-{owner_scope}-{service})"
            )
        return None

    def _owner_text(self, port: int) -> str:
        return self.port_owner(port) or (
            f"port {port} is held by another program (not a dockyard container service)"
        )

    def update(self, spec: ServiceSpec, on_event: OnEvent = None) -> RolloutResult:
        """Start ``spec`` beside the running version, switch when it is ready, stop the old one.

        If the new version fails, the old one keeps serving and the result says why.
        ``details``: ``switch`` (``nat``, ``restart`` or ``deploy``) and ``gap_seconds``.
        """
        try:
            details = self._switch(self._container_spec(spec), on_event)
        except DeploymentError as exc:
            return RolloutResult(state=FAILED, error=str(exc), previous_serving=True)
        return RolloutResult(state=HEALTHY, details=details)

    def _switch(self, spec: ContainerSpec, on_event: OnEvent) -> dict[str, Any]:
        say = on_event or (lambda _message: None)
        state = read_state(spec.service_dir)
        if not state or not self._running(state.get("holder")):
            self._deploy(spec)
            return {"switch": "deploy"}
        old_server, old_port = state["server"], int(state["inner_port"])
        generation = int(state["generation"]) + 1
        new_port = PORTS[2] if old_port == PORTS[1] else PORTS[1]
        new = self._start_server(spec, state["holder"], generation, new_port)
        say(f"started {new.name} beside {old_server}; waiting for init()")
        try:
            wait_ready(self.client, new, state["holder"], new_port)
        except DeploymentError:
            self._remove(new.name)
            raise
        result: dict[str, Any]
        if can_switch() and redirect(self.client, state["holder"], new_port):
            time.sleep(DRAIN_SECONDS)
            self._remove(old_server, grace=STOP_GRACE_SECONDS)
            result = {"switch": "nat", "gap_seconds": 0.0}
            server_name, inner = new.name, new_port
        else:  # no NAT switch here: restart on the published inner port (a short gap)
            self._remove(new.name)
            started = time.monotonic()
            self._remove(old_server, grace=STOP_GRACE_SECONDS)
            generation += 1
            final = self._start_server(spec, state["holder"], generation, PORTS[0])
            wait_ready(self.client, final, state["holder"], PORTS[0])
            result = {"switch": "restart", "gap_seconds": round(time.monotonic() - started, 3)}
            server_name, inner = final.name, PORTS[0]
        say(f"switched to {server_name} ({result['switch']})")
        write_state(
            spec.service_dir,
            {**state, "server": server_name, "generation": generation, "inner_port": inner,
             "spec": spec.to_json()},
        )  # fmt: skip
        return result

    def reload(self, spec: ServiceSpec, on_event: OnEvent = None) -> RolloutResult:
        return self.update(spec, on_event)

    def stop(self, name: str, service_dir: Path) -> None:
        """Stop the server and the holder (the port is free until ``start``)."""
        state = read_state(service_dir)
        for key in ("server", "holder"):
            with contextlib.suppress(Exception):
                self.client.containers.get(state[key]).stop(timeout=STOP_GRACE_SECONDS)

    def start(self, name: str, service_dir: Path) -> TargetStatus:
        """Start a stopped service again: holder (same port), NAT rule, server.

        Idempotent: a running service is left as it is (one NAT rule, however many starts). A
        holder made by an older dockyard, whose port the engine picks at each start, gets its
        new port recorded here."""
        import docker.errors

        state = read_state(service_dir)
        if not state.get("server"):
            raise DeploymentError(
                f"Service {name!r} has no containers on this engine ({service_dir / STATE_FILE} is missing)",
                step="start",
                hint="deploy it again (overwrite=True)",
            )
        try:
            holder = self.client.containers.get(state["holder"])
            server = self.client.containers.get(state["server"])
            holder_was_running = holder.status == "running"
            if not holder_was_running:
                holder.start()
            port = self._published_port(holder)
            if port != state.get("host_port"):
                state["host_port"] = port
                write_state(service_dir, state)
            inner = int(state["inner_port"])
            if inner != PORTS[0] or holder_was_running:
                redirect(self.client, state["holder"], inner)
            if server.status in ("running", "restarting"):
                if not holder_was_running:  # it runs in the old holder's (gone) network namespace
                    server.restart(timeout=STOP_GRACE_SECONDS)
            else:
                server.start()
        except docker.errors.NotFound as exc:
            raise DeploymentError(
                f"A container of service {name!r} was removed from the engine: {exc.explanation}",
                step="start",
                hint="deploy the service again (overwrite=True)",
            ) from None
        except docker.errors.APIError as exc:
            host_port = state.get("host_port")
            why = ""
            if host_port and is_port_conflict(exc):
                why = f": {self._owner_text(int(host_port))}"
            raise DeploymentError(
                f"The engine could not start service {name!r}{why} ({exc.explanation or exc})",
                step="start",
                hint=PORT_HINT if why else "read the engine's reason above",
            ) from None
        return self.status(name, service_dir)

    def delete(self, name: str, service_dir: Path) -> None:
        """Remove every container of the service, in any state, and its folder."""
        self._remove_all(name, service_dir, keep_dir=False)

    def _remove_all(self, name: str, service_dir: Path, keep_dir: bool) -> None:
        """Remove every container of the service (found by its labels and its recorded names)
        and its state file (the whole folder unless ``keep_dir``)."""
        state = read_state(service_dir)
        names = {state.get("server"), state.get("holder")}
        scope = (state.get("spec") or {}).get("scope") or self.scope
        if scope:
            names.add(f"dockyard-{scope}-{name}")
            for container in self.client.containers.list(
                all=True, filters={"label": f"dockyard.service={scope}/{name}"}
            ):
                names.add(container.name)
        for item in sorted(filter(None, names), key=lambda n: n == state.get("holder")):
            self._remove(item)  # servers first: they use the holder's network namespace
        if keep_dir:
            with contextlib.suppress(FileNotFoundError):
                (service_dir / STATE_FILE).unlink()
        else:
            shutil.rmtree(service_dir, ignore_errors=True)

    # --- reading --------------------------------------------------------------------------------
    def status(self, name: str, service_dir: Path) -> TargetStatus:
        import docker.errors

        state = read_state(service_dir)
        if not state.get("server"):
            return TargetStatus(state=STOPPED, error=f"service {name!r} has no containers here")
        port = state.get("host_port")
        try:
            server = self.client.containers.get(state["server"])
        except docker.errors.NotFound:
            return TargetStatus(
                state=STOPPED, port=port,
                error=f"container {state['server']} of service {name!r} was removed from the "
                "engine; deploy the service again",
            )  # fmt: skip
        return engine_status(
            self.client, name, state, server, holder_running=self._running(state.get("holder"))
        )

    def logs(self, name: str, service_dir: Path, num_lines: int = 5000) -> str:
        state = read_state(service_dir)
        try:
            server = self.client.containers.get(state["server"])
        except Exception:  # noqa: BLE001 - no container: no log
            return ""
        return self._logs(server, num_lines)

    def write_keys(self, name: str, service_dir: Path, primary: str, secondary: str) -> None:
        """The keys folder mounted read-only into the containers: owned by the image's user,
        mode 0600 (when this process may chown; else 0644 inside the service's 0700 folder)."""
        folder = service_dir / KEYS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        write_keys_file(folder / KEYS_FILE, primary, secondary)
        if os.geteuid() == 0:
            for path in (folder, folder / KEYS_FILE):
                os.chown(path, APP_UID, APP_UID)
            os.chmod(folder, 0o700)
        else:
            os.chmod(folder.parent, 0o700)
            os.chmod(folder, 0o711)
            os.chmod(folder / KEYS_FILE, 0o644)

    # --- helpers --------------------------------------------------------------------------------
    def _start_holder(self, spec: ContainerSpec) -> Any:
        """The holder, publishing ``spec.host_port`` or a port free now. The engine would pick
        a new port at every start of a holder published without one, so a port is always
        chosen here (again, a few times, when another program takes it first)."""
        import docker.errors

        if spec.host_port:
            return self._run_holder(spec, spec.host_port)
        for attempt in range(HOLDER_PORT_ATTEMPTS):
            try:
                return self._run_holder(spec, free_port())
            except docker.errors.APIError as exc:
                self._remove(holder_name(spec))
                if not is_port_conflict(exc) or attempt == HOLDER_PORT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _run_holder(self, spec: ContainerSpec, port: int) -> Any:
        return self.client.containers.run(
            spec.image,
            ["python", "-c", "import signal; signal.pause()"],
            name=holder_name(spec), detach=True, user="dockyard",
            ports={f"{PORTS[0]}/tcp": ("127.0.0.1", port)},
            labels={**spec.labels, "dockyard.service": f"{spec.scope}/{spec.name}", "dockyard.role": "holder"},
            restart_policy={"Name": "unless-stopped"},
            mem_limit=64 * 1024**2, healthcheck={"test": ["NONE"]},
        )  # fmt: skip

    def _start_server(
        self, spec: ContainerSpec, holder: str, generation: int, inner_port: int
    ) -> Any:
        image = self.client.images.get(spec.image)
        command = with_port(list(image.attrs["Config"].get("Cmd") or []), inner_port)
        env = dict(spec.env)
        volumes = {}
        if spec.keys_dir is not None:
            volumes[str(spec.keys_dir)] = {"bind": KEYS_MOUNT, "mode": "ro"}
            env[contract.KEYS_FILE_ENV] = f"{KEYS_MOUNT}/{KEYS_FILE}"
        kwargs: dict[str, Any] = {}
        if spec.cpu_cores is not None:
            kwargs["nano_cpus"] = int(round(spec.cpu_cores * 1e9))
        if spec.memory_gb is not None:
            kwargs["mem_limit"] = kwargs["memswap_limit"] = int(spec.memory_gb * _GIB)
        probe = probe_code(inner_port)
        return self.client.containers.run(
            spec.image, command, name=f"dockyard-{spec.scope}-{spec.name}-{generation}",
            detach=True, network_mode=f"container:{holder}", environment=env, volumes=volumes,
            labels={**spec.labels, "dockyard.service": f"{spec.scope}/{spec.name}", "dockyard.role": "server"},
            restart_policy={"Name": "on-failure", "MaximumRetryCount": 0},
            healthcheck={"test": ["CMD", "python", "-c", probe], "interval": 5 * 10**9,
                         "timeout": 5 * 10**9, "start_period": 60 * 10**9, "retries": 3},
            **kwargs,
        )  # fmt: skip

    def _published_port(self, holder: Any) -> int:
        for _ in range(50):
            holder.reload()
            bindings = (holder.attrs["NetworkSettings"].get("Ports") or {}).get(f"{PORTS[0]}/tcp")
            if bindings:
                return int(bindings[0]["HostPort"])
            time.sleep(0.1)
        raise DeploymentError(
            f"The engine published no port for {holder.name}", step="start container"
        )

    def _running(self, name: str | None) -> bool:
        try:
            return bool(name) and self.client.containers.get(name).status == "running"
        except Exception:  # noqa: BLE001
            return False

    def _remove(self, name: str, grace: int = 0) -> None:
        with contextlib.suppress(Exception):
            container = self.client.containers.get(name)
            if grace:
                container.stop(timeout=grace)
            container.remove(force=True)

    def _logs(self, server: Any, num_lines: int = 5000) -> str:
        return logs_of(server, num_lines)

    def _tail(self, server: Any, lines: int) -> str:
        return "\n".join(self._logs(server, lines).rstrip().splitlines()[-lines:])
