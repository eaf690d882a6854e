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

What the target knows of a service is in ``<service_dir>/container.json`` (``docker_state.py``);
it knows nothing of the workspace store. The containers are made and removed by
``docker_containers.py``, states read by ``docker_status.py``, the readiness wait and the NAT
switch are in ``_docker_parts.py``.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any, ClassVar

from dockyard.errors import ConflictError, DeploymentError, NotFoundError
from dockyard.server import contract
from dockyard.targets import port_is_free
from dockyard.targets._docker_parts import (
    PORTS,
    can_switch,
    is_port_conflict,
    logs_of,
    port_holders,
    redirect,
    wait_ready,
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
from dockyard.targets.docker_containers import (
    DEBUGGER_LABEL,
    is_running,
    published_port,
    remove,
    remove_all,
    start_holder,
    start_server,
)
from dockyard.targets.docker_engine import connect, engine_errors
from dockyard.targets.docker_state import (
    STATE_FILE,
    ContainerSpec,
    holder_name,
    read_state,
    write_state,
)
from dockyard.targets.docker_status import engine_status
from dockyard.targets.keys_file import KEYS_FILE, write_keys_file

KEYS_DIR = "keys"  # in the service's folder, mounted read-only in the server containers
#: uid of the image's app user (dockyard.builders.dockerfile.APP_UID): it must read the keys.
APP_UID = 1000
#: After the switch, the old server keeps listening this long so its accept queue drains.
DRAIN_SECONDS = 0.3
STOP_GRACE_SECONDS = 10
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
        labels = dict(spec.labels)
        listen = env.get(contract.DEBUGPY_LISTEN_ENV)
        if listen:  # debugpy listens inside; the holder publishes it on 127.0.0.1:<that port>
            labels[DEBUGGER_LABEL] = listen.rpartition(":")[2]
            env[contract.DEBUGPY_LISTEN_ENV] = f"0.0.0.0:{contract.DEBUGGER_CONTAINER_PORT}"
            env[contract.DEBUGPY_PUBLISHED_ENV] = listen
        env[contract.WORKER_COUNT_ENV] = str(spec.worker_count)
        if spec.startup_timeout_seconds:
            env[contract.STARTUP_TIMEOUT_ENV] = str(spec.startup_timeout_seconds)
        return ContainerSpec(
            name=spec.name, service_dir=spec.service_dir, image=spec.image, scope=self.scope,
            env=env, host_port=spec.port, cpu_cores=spec.cpu_cores, memory_gb=spec.memory_gb,
            keys_dir=spec.service_dir / KEYS_DIR if spec.auth_enabled else None,
            labels=labels,
        )  # fmt: skip

    def _deploy(self, spec: ContainerSpec) -> None:
        """Start the containers of ``spec`` (replacing any of the same service).

        A taken ``host_port`` is refused before any container is made, naming the dockyard
        service that holds it when there is one. Without ``host_port``, the holder publishes a
        port that is free now, for good: it stays the same across ``stop``/``start``.
        """
        remove_all(self.client, self.scope, spec.name, spec.service_dir, keep_dir=True)
        if spec.host_port and not port_is_free(spec.host_port):
            raise ConflictError(
                f"Service {spec.name!r} cannot use 127.0.0.1:{spec.host_port}: "
                f"{self._owner_text(spec.host_port)}",
                hint=PORT_HINT,
            )
        # Recorded before any container exists, so that delete() finds what a failed start left.
        write_state(spec.service_dir, {"holder": holder_name(spec), "spec": spec.to_json()})

        def refused(why: str) -> DeploymentError:
            if spec.host_port and is_port_conflict(why):
                return DeploymentError(
                    f"Service {spec.name!r} cannot use 127.0.0.1:{spec.host_port}: "
                    f"{self._owner_text(spec.host_port)} (the engine said: {why})",
                    step="start container",
                    hint=PORT_HINT,
                )
            return DeploymentError(
                f"The engine refused to start service {spec.name!r} from {spec.image}: {why}",
                step="start container",
                hint="read the engine's reason above; `docker info` shows whether the engine is healthy",
            )

        try:
            with engine_errors(f"starting service {spec.name!r}", missing=refused, refused=refused):
                holder = start_holder(self.client, spec)
                port = published_port(holder)
                server = start_server(self.client, spec, holder.name, 1, PORTS[0])
        except DeploymentError:
            remove_all(self.client, self.scope, spec.name, spec.service_dir, keep_dir=True)
            raise
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
        container_spec = self._container_spec(spec)
        stop_first = self._debugger_switch(container_spec)
        try:
            if stop_first:
                details = self._switch_stopping_first(container_spec, on_event)
            else:
                details = self._switch(container_spec, on_event)
        except DeploymentError as exc:
            error = str(exc)
            if stop_first:
                error = error.replace(
                    "the previous version keeps serving",
                    "the previous version was stopped first (the debugger)",
                )
            return RolloutResult(state=FAILED, error=error, previous_serving=not stop_first)
        return RolloutResult(state=HEALTHY, details=details)

    def _debugger_switch(self, spec: ContainerSpec) -> bool:
        """Does the roll-out of ``spec`` stop the running version first? With the debugger on
        (two versions cannot both listen on its port) or when the holder must publish another
        debugger port (it is made again)."""
        state = read_state(spec.service_dir)
        running = ((state.get("spec") or {}).get("labels") or {}).get(DEBUGGER_LABEL)
        wanted = spec.labels.get(DEBUGGER_LABEL)
        return bool(state and is_running(self.client, state.get("holder")) and (running or wanted))

    def _switch_stopping_first(self, spec: ContainerSpec, on_event: OnEvent) -> dict[str, Any]:
        """Stop the running server, then start ``spec`` (the debugger): a gap, said in the
        output. A changed debugger port makes the containers again (the holder publishes it)."""
        say = on_event or (lambda _message: None)
        state = read_state(spec.service_dir)
        say(
            "the debugger is on: the running version stops first, so that the new one can "
            "listen on the debugger's port; no version serves until it is ready (a gap)"
        )
        started = time.monotonic()
        running = ((state.get("spec") or {}).get("labels") or {}).get(DEBUGGER_LABEL)
        if running != spec.labels.get(DEBUGGER_LABEL):
            self._deploy(spec)  # a new holder publishes the new debugger port
            state = read_state(spec.service_dir)
            server = self.client.containers.get(state["server"])
            wait_ready(self.client, server, state["holder"], PORTS[0])
            return {"switch": "deploy", "gap_seconds": round(time.monotonic() - started, 3)}
        remove(self.client, state["server"], grace=STOP_GRACE_SECONDS)
        if int(state["inner_port"]) != PORTS[0]:
            redirect(self.client, state["holder"], PORTS[0])  # no NAT rule: 5001 itself
        generation = int(state["generation"]) + 1
        server = start_server(self.client, spec, state["holder"], generation, PORTS[0])
        write_state(
            spec.service_dir,
            {**state, "server": server.name, "generation": generation, "inner_port": PORTS[0],
             "spec": spec.to_json()},
        )  # fmt: skip
        wait_ready(self.client, server, state["holder"], PORTS[0])
        say(f"switched to {server.name} (stopped the previous version first)")
        return {"switch": "stop-first", "gap_seconds": round(time.monotonic() - started, 3)}

    def _switch(self, spec: ContainerSpec, on_event: OnEvent) -> dict[str, Any]:
        say = on_event or (lambda _message: None)
        state = read_state(spec.service_dir)
        if not state or not is_running(self.client, state.get("holder")):
            self._deploy(spec)
            return {"switch": "deploy"}
        old_server, old_port = state["server"], int(state["inner_port"])
        generation = int(state["generation"]) + 1
        new_port = PORTS[2] if old_port == PORTS[1] else PORTS[1]
        new = start_server(self.client, spec, state["holder"], generation, new_port)
        say(f"started {new.name} beside {old_server}; waiting for init()")
        try:
            wait_ready(self.client, new, state["holder"], new_port)
        except DeploymentError:
            remove(self.client, new.name)
            raise
        result: dict[str, Any]
        if can_switch() and redirect(self.client, state["holder"], new_port):
            time.sleep(DRAIN_SECONDS)
            remove(self.client, old_server, grace=STOP_GRACE_SECONDS)
            result = {"switch": "nat", "gap_seconds": 0.0}
            server_name, inner = new.name, new_port
        else:  # no NAT switch here: restart on the published inner port (a short gap)
            remove(self.client, new.name)
            started = time.monotonic()
            remove(self.client, old_server, grace=STOP_GRACE_SECONDS)
            generation += 1
            final = start_server(self.client, spec, state["holder"], generation, PORTS[0])
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
        state = read_state(service_dir)
        if not state.get("server"):
            raise DeploymentError(
                f"Service {name!r} has no containers on this engine ({service_dir / STATE_FILE} is missing)",
                step="start",
                hint="deploy it again (overwrite=True)",
            )

        def removed(why: str) -> DeploymentError:
            return DeploymentError(
                f"A container of service {name!r} was removed from the engine: {why}",
                step="start",
                hint="deploy the service again (overwrite=True)",
            )

        def refused(why: str) -> DeploymentError:
            host_port = state.get("host_port")
            owner = ""
            if host_port and is_port_conflict(why):
                owner = f": {self._owner_text(int(host_port))}"
            return DeploymentError(
                f"The engine could not start service {name!r}{owner} ({why})",
                step="start",
                hint=PORT_HINT if owner else "read the engine's reason above",
            )

        with engine_errors(f"starting service {name!r}", missing=removed, refused=refused):
            holder = self.client.containers.get(state["holder"])
            server = self.client.containers.get(state["server"])
            holder_was_running = holder.status == "running"
            if not holder_was_running:
                holder.start()
            port = published_port(holder)
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
        return self.status(name, service_dir)

    def delete(self, name: str, service_dir: Path) -> None:
        """Remove every container of the service, in any state, and its folder."""
        remove_all(self.client, self.scope, name, service_dir, keep_dir=False)

    # --- reading --------------------------------------------------------------------------------
    def status(self, name: str, service_dir: Path) -> TargetStatus:
        state = read_state(service_dir)
        if not state.get("server"):
            return TargetStatus(state=STOPPED, error=f"service {name!r} has no containers here")
        port = state.get("host_port")
        try:
            with engine_errors(f"looking up container {state['server']}"):
                server = self.client.containers.get(state["server"])
        except NotFoundError:
            return TargetStatus(
                state=STOPPED, port=port,
                error=f"container {state['server']} of service {name!r} was removed from the "
                "engine; deploy the service again",
            )  # fmt: skip
        return engine_status(
            self.client,
            name,
            state,
            server,
            holder_running=is_running(self.client, state.get("holder")),
        )

    def logs(self, name: str, service_dir: Path, num_lines: int = 5000) -> str:
        state = read_state(service_dir)
        try:
            server = self.client.containers.get(state["server"])
        except Exception:  # noqa: BLE001 - no container: no log
            return ""
        return logs_of(server, num_lines)

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
