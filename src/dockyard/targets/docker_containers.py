"""The containers of one Docker service: the *holder* (it publishes the service's port for the
service's whole life) and the scoring-server containers that join its network namespace; making
them, finding them, removing them. :mod:`dockyard.targets.docker` decides when.

Every container carries the label ``dockyard.service=<scope>/<service>`` and a role
(``holder``/``server``), so that a service's containers are found even when the state file that
names them is gone.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path
from typing import Any

from dockyard.errors import DeploymentError
from dockyard.server import contract
from dockyard.targets._docker_parts import (
    _GIB,
    PORTS,
    free_port,
    is_port_conflict,
    probe_code,
    with_port,
)
from dockyard.targets.docker_engine import reason
from dockyard.targets.docker_state import STATE_FILE, ContainerSpec, holder_name, read_state
from dockyard.targets.keys_file import KEYS_FILE

#: Where the service's keys folder is mounted, read-only, in its server containers.
KEYS_MOUNT = "/run/dockyard-keys"
#: How many free ports a holder tries when another program takes the chosen one first.
HOLDER_PORT_ATTEMPTS = 5
#: The label that records the debugger's port on 127.0.0.1 of a container service: its holder
#: publishes it to the port debugpy listens on in the server containers (only a namespace's
#: first container can publish ports, and the servers join the holder's).
DEBUGGER_LABEL = "dockyard.debugger-port"


def start_holder(client: Any, spec: ContainerSpec) -> Any:
    """The holder, publishing ``spec.host_port`` or a port free now. The engine would pick a new
    port at every start of a holder published without one, so a port is always chosen here
    (again, a few times, when another program takes it first). Docker's errors are raised as
    they are, for the caller's :func:`~dockyard.targets.docker_engine.engine_errors`."""
    if spec.host_port:
        return _run_holder(client, spec, spec.host_port)
    for attempt in range(HOLDER_PORT_ATTEMPTS):
        try:
            return _run_holder(client, spec, free_port())
        except Exception as exc:
            remove(client, holder_name(spec))
            if not is_port_conflict(reason(exc)) or attempt == HOLDER_PORT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _run_holder(client: Any, spec: ContainerSpec, port: int) -> Any:
    ports = {f"{PORTS[0]}/tcp": ("127.0.0.1", port)}
    if spec.labels.get(DEBUGGER_LABEL):  # the debugger's port too, on 127.0.0.1 only
        ports[f"{contract.DEBUGGER_CONTAINER_PORT}/tcp"] = (
            "127.0.0.1", int(spec.labels[DEBUGGER_LABEL]),
        )  # fmt: skip
    return client.containers.run(
        spec.image,
        ["python", "-c", "import signal; signal.pause()"],
        name=holder_name(spec), detach=True, user="dockyard",
        ports=ports,
        labels={**spec.labels, "dockyard.service": f"{spec.scope}/{spec.name}", "dockyard.role": "holder"},
        restart_policy={"Name": "unless-stopped"},
        mem_limit=64 * 1024**2, healthcheck={"test": ["NONE"]},
    )  # fmt: skip


def start_server(
    client: Any, spec: ContainerSpec, holder: str, generation: int, inner_port: int
) -> Any:
    """Server container number ``generation`` of ``spec``, listening on ``inner_port`` in the
    holder's network namespace, with the CPU and memory limits and the keys of the spec."""
    image = client.images.get(spec.image)
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
    return client.containers.run(
        spec.image, command, name=f"dockyard-{spec.scope}-{spec.name}-{generation}",
        detach=True, network_mode=f"container:{holder}", environment=env, volumes=volumes,
        labels={**spec.labels, "dockyard.service": f"{spec.scope}/{spec.name}", "dockyard.role": "server"},
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 0},
        healthcheck={"test": ["CMD", "python", "-c", probe], "interval": 5 * 10**9,
                     "timeout": 5 * 10**9, "start_period": 60 * 10**9, "retries": 3},
        **kwargs,
    )  # fmt: skip


def published_port(holder: Any) -> int:
    """The host port the engine published for ``holder`` (waits up to 5 s for it)."""
    for _ in range(50):
        holder.reload()
        bindings = (holder.attrs["NetworkSettings"].get("Ports") or {}).get(f"{PORTS[0]}/tcp")
        if bindings:
            return int(bindings[0]["HostPort"])
        time.sleep(0.1)
    raise DeploymentError(f"The engine published no port for {holder.name}", step="start container")


def is_running(client: Any, name: str | None) -> bool:
    try:
        return bool(name) and client.containers.get(name).status == "running"
    except Exception:  # noqa: BLE001
        return False


def remove(client: Any, name: str, grace: int = 0) -> None:
    """Remove container ``name`` if it exists (after a graceful stop of ``grace`` seconds)."""
    with contextlib.suppress(Exception):
        container = client.containers.get(name)
        if grace:
            container.stop(timeout=grace)
        container.remove(force=True)


def remove_all(client: Any, scope: str, name: str, service_dir: Path, keep_dir: bool) -> None:
    """Remove every container of service ``name`` (found by its labels and its recorded names)
    and its state file (the whole folder unless ``keep_dir``)."""
    state = read_state(service_dir)
    names = {state.get("server"), state.get("holder")}
    scope = (state.get("spec") or {}).get("scope") or scope
    if scope:
        names.add(f"dockyard-{scope}-{name}")
        for container in client.containers.list(
            all=True, filters={"label": f"dockyard.service={scope}/{name}"}
        ):
            names.add(container.name)
    for item in sorted(filter(None, names), key=lambda n: n == state.get("holder")):
        remove(client, item)  # servers first: they use the holder's network namespace
    if keep_dir:
        with contextlib.suppress(FileNotFoundError):
            (service_dir / STATE_FILE).unlink()
    else:
        shutil.rmtree(service_dir, ignore_errors=True)


__all__ = [
    "HOLDER_PORT_ATTEMPTS",
    "KEYS_MOUNT",
    "is_running",
    "published_port",
    "remove",
    "remove_all",
    "start_holder",
    "start_server",
]
