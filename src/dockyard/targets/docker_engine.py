"""The Docker engine's client and its containers, and the one table that turns Docker's errors
into dockyard's.

The container target (``targets/docker.py`` and its ``docker_*.py`` modules), the image builders
(``builders/``) and the image operations (``ops/images/``) take a client from :func:`connect`
and hand it to the Docker target's functions; their engine calls run inside
:func:`engine_errors`, the only code that reads the Docker SDK's exceptions:

* :func:`engine_errors` turns Docker's errors raised in its block into dockyard's, made by the
  caller for its case (a missing image, a refused push) or, by default,
  :class:`~dockyard.errors.NotFoundError`, :class:`~dockyard.errors.ValidationError` (a malformed
  request) and :class:`~dockyard.errors.EngineUnavailableError` (how to start an engine);
* :func:`connect` honours ``DOCKER_HOST`` (and ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``) and turns
  an unreachable engine into :class:`~dockyard.errors.EngineUnavailableError` that says how to start
  one;
* :func:`run_container` starts a container with CPU and memory limits enforced by the engine, the
  port published on 127.0.0.1 by default, and a restart policy;
* :func:`inspect_container` reads the state (exit code, restarts, health, OOM kill) into a small
  dataclass, and :meth:`ContainerState.describe` explains it in one sentence.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dockyard.errors import (
    DeploymentError,
    DockyardError,
    EngineUnavailableError,
    NotFoundError,
    ValidationError,
)

#: The port the scoring server listens on inside every dockyard image.
CONTAINER_PORT = 5001
_GIB = 1024**3

START_HINT = (
    "start a Docker engine: `sudo systemctl start docker`, or `sudo dockerd &`, or, in a dockyard "
    "checkout, `scripts/engines/install && scripts/engines/dockerd start`; if the engine runs "
    "elsewhere, set DOCKER_HOST (e.g. unix:///var/run/docker.sock or tcp://HOST:2376)"
)


#: Makes the dockyard error for one case from the engine's reason (one line).
ErrorFor = Callable[[str], DockyardError]


@contextlib.contextmanager
def engine_errors(
    what: str,
    *,
    missing: ErrorFor | None = None,
    refused: ErrorFor | None = None,
    unreachable: ErrorFor | None = None,
) -> Iterator[None]:
    """Docker's errors raised in the block, as dockyard's; ``what`` says what was being done
    (``"looking up image x:1"``). The Docker target's one translation table:

    * ``NotFound``/``ImageNotFound``: ``missing(reason)``, else :class:`NotFoundError`;
    * ``APIError`` (the engine answered no): ``refused(reason)``, else :class:`ValidationError`
      for a malformed request (400), else :class:`EngineUnavailableError`;
    * any other ``DockerException``, a failed connection (requests' errors, ``ConnectionError``,
      ``TimeoutError``) or a stream cut short (urllib3's ``HTTPError``): ``unreachable(reason)``,
      else :class:`EngineUnavailableError` saying how to start an engine.

    Other errors (a file the caller writes in the block) pass through as they are.
    """
    import docker.errors  # the Docker SDK is an optional extra: loaded when an engine is used
    import requests.exceptions  # the Docker SDK's HTTP client
    import urllib3.exceptions  # the Docker SDK's HTTP client

    try:
        yield
    except docker.errors.NotFound as exc:
        why = reason(exc)
        raise (
            missing(why)
            if missing
            else NotFoundError(f"The Docker engine found nothing while {what}: {why}")
        ) from None
    except docker.errors.APIError as exc:
        why = reason(exc)
        if refused is not None:
            raise refused(why) from None
        if exc.status_code == 400:
            raise ValidationError(
                f"The Docker engine refused the request while {what}: {why}",
                hint="check the name or value given; the engine's reason is above",
            ) from None
        raise unavailable(what, why) from None
    except (
        docker.errors.DockerException,
        requests.exceptions.RequestException,
        urllib3.exceptions.HTTPError,
        ConnectionError,
        TimeoutError,
    ) as exc:
        why = reason(exc)
        raise (unreachable(why) if unreachable else unavailable(what, why)) from None


def unavailable(what: str, why: str) -> EngineUnavailableError:
    """The engine did not answer while doing ``what``: how to start one."""
    return EngineUnavailableError(
        f"The Docker engine did not answer while {what}: {why}", hint=START_HINT
    )


def reason(exc: BaseException) -> str:
    """What the engine said, in one line: its explanation, else the first line of the error
    (the SDK repeats the request in the rest)."""
    text = str(getattr(exc, "explanation", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def connect(base_url: str | None = None, *, timeout: int = 120) -> Any:
    """Return a ``docker.DockerClient`` that answered a ping.

    ``base_url`` defaults to ``DOCKER_HOST`` (then the platform's default socket). Raises
    :class:`EngineUnavailableError` when the SDK is missing or the engine does not answer.
    """
    try:
        import docker
    except ImportError:
        raise EngineUnavailableError(
            "The Docker SDK for Python is not installed",
            hint="install dockyard's docker extra: pip install 'dockyard[docker]'",
        ) from None
    where = (
        base_url
        or os.environ.get("DOCKER_HOST")
        or "the default socket (unix:///var/run/docker.sock)"
    )

    def unreachable(why: str) -> EngineUnavailableError:
        return EngineUnavailableError(
            f"Cannot reach a Docker engine at {where}: {why}", hint=START_HINT
        )

    with engine_errors(
        f"connecting to {where}", missing=unreachable, refused=unreachable, unreachable=unreachable
    ):
        if base_url:
            client = docker.DockerClient(base_url=base_url, timeout=timeout)
        else:
            client = docker.from_env(timeout=timeout)
        client.ping()
    return client


@dataclass(frozen=True)
class ContainerState:
    """What the engine says about a container (from ``docker inspect``)."""

    id: str
    name: str
    status: str  # created, running, restarting, exited, paused, dead
    running: bool
    exit_code: int
    oom_killed: bool
    restart_count: int
    health: str | None  # starting, healthy, unhealthy, or None without a HEALTHCHECK
    error: str
    memory_limit: int  # bytes, 0 = unlimited
    nano_cpus: int  # 1e9 = one CPU, 0 = unlimited
    host_port: int | None  # where CONTAINER_PORT is published, when it is

    def describe(self) -> str:
        """One sentence for humans: running, restarting, or why it stopped."""
        if self.oom_killed:
            limit = (
                f"{self.memory_limit / _GIB:g} GiB" if self.memory_limit else "the host's memory"
            )
            return (
                f"container {self.name} was killed for running out of memory (limit {limit}, "
                f"exit code {self.exit_code}); raise memory_gb or make the model use less memory"
            )
        if self.running:
            health = f", health {self.health}" if self.health else ""
            return f"container {self.name} is running{health}"
        if self.status == "restarting" or self.restart_count:
            return (
                f"container {self.name} is {self.status} after {self.restart_count} restart(s); "
                f"last exit code {self.exit_code}"
            )
        detail = f": {self.error}" if self.error else ""
        return f"container {self.name} is {self.status} with exit code {self.exit_code}{detail}"


def run_container(
    client: Any,
    image: str,
    *,
    name: str | None = None,
    host_port: int | None = None,
    host_ip: str = "127.0.0.1",
    container_port: int = CONTAINER_PORT,
    cpu_cores: float | None = None,
    memory_gb: float | None = None,
    environment: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    restart_policy: str = "no",
    max_retries: int = 0,
    command: list[str] | None = None,
    extra_ports: dict[int, int | None] | None = None,
) -> Any:
    """Start ``image`` in the background and return the ``Container``.

    The port is published on ``host_ip`` (127.0.0.1: reachable from this machine only) at
    ``host_port`` (None: the engine picks a free one; read it with :func:`published_port`).
    ``cpu_cores`` becomes ``NanoCpus``; ``memory_gb`` becomes ``Memory`` and ``MemorySwap`` (no
    swap, so a script that allocates past the limit is OOM-killed, not slowed down).
    ``restart_policy`` is Docker's: ``no``, ``on-failure`` (with ``max_retries``), ``always`` or
    ``unless-stopped``.
    """
    ports: dict[str, tuple[str, int | None]] = {f"{container_port}/tcp": (host_ip, host_port)}
    for inner, outer in (extra_ports or {}).items():
        ports[f"{inner}/tcp"] = (host_ip, outer)
    kwargs: dict[str, Any] = {
        "detach": True,
        "name": name,
        "ports": ports,
        "environment": environment or {},
        "labels": labels or {},
        "restart_policy": {"Name": restart_policy, "MaximumRetryCount": max_retries}
        if restart_policy == "on-failure"
        else {"Name": restart_policy},
    }
    if command is not None:
        kwargs["command"] = command
    if cpu_cores is not None:
        kwargs["nano_cpus"] = int(round(cpu_cores * 1e9))
    if memory_gb is not None:
        limit = int(memory_gb * _GIB)
        kwargs["mem_limit"] = limit
        kwargs["memswap_limit"] = limit
    with engine_errors(
        f"starting a container from {image}",
        missing=lambda _why: NotFoundError(
            f"Image {image} is not in the Docker engine",
            hint="build it first, or pull it from the registry (`dockyard image pull`)",
        ),
        refused=lambda why: DeploymentError(
            f"The engine refused to start a container from {image}: {why}",
            step="start container",
            hint="a taken name or port is the usual cause: remove the old container or pick another",
        ),
    ):
        return client.containers.run(image, **kwargs)


def get_container(client: Any, name_or_id: str) -> Any:
    """The ``Container`` called ``name_or_id``; :class:`NotFoundError` when there is none."""
    with engine_errors(
        f"looking up container {name_or_id}",
        missing=lambda _why: NotFoundError(
            f"No container called {name_or_id} in the Docker engine",
            hint="list them with `docker ps -a`; it may have been removed by hand",
        ),
    ):
        return client.containers.get(name_or_id)


def inspect_container(client: Any, name_or_id: str) -> ContainerState:
    """Read a container's state; see :class:`ContainerState`."""
    container = get_container(client, name_or_id)
    attrs = container.attrs
    state = attrs.get("State", {})
    host = attrs.get("HostConfig", {})
    health = state.get("Health") or {}
    return ContainerState(
        id=container.id,
        name=container.name,
        status=state.get("Status", "unknown"),
        running=bool(state.get("Running")),
        exit_code=int(state.get("ExitCode") or 0),
        oom_killed=bool(state.get("OOMKilled")),
        restart_count=int(attrs.get("RestartCount") or 0),
        health=health.get("Status"),
        error=state.get("Error") or "",
        memory_limit=int(host.get("Memory") or 0),
        nano_cpus=int(host.get("NanoCpus") or 0),
        host_port=_port_from_attrs(attrs, CONTAINER_PORT),
    )


def published_port(container: Any, container_port: int = CONTAINER_PORT) -> int | None:
    """The host port where ``container_port`` is published (reloads the container's attributes)."""
    container.reload()
    return _port_from_attrs(container.attrs, container_port)


def container_logs(client: Any, name_or_id: str, *, tail: int | None = 5000) -> str:
    """The container's stdout and stderr (the last ``tail`` lines; None for all) as text."""
    container = get_container(client, name_or_id)
    raw = container.logs(stdout=True, stderr=True, tail="all" if tail is None else tail)
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)


def stop_container(
    client: Any, name_or_id: str, *, timeout: int = 10, remove: bool = False
) -> bool:
    """Stop (SIGTERM, then SIGKILL after ``timeout`` s) and optionally remove a container.

    Returns False when there was no such container (stopping is idempotent).
    """
    try:
        with engine_errors(f"stopping container {name_or_id}"):
            container = client.containers.get(name_or_id)
            if container.status in {"running", "restarting", "paused"}:
                container.stop(timeout=timeout)
            if remove:
                container.remove(force=True)
    except NotFoundError:
        return False
    return True


def _port_from_attrs(attrs: dict[str, Any], container_port: int) -> int | None:
    bindings = (attrs.get("NetworkSettings", {}).get("Ports") or {}).get(f"{container_port}/tcp")
    if not bindings:
        return None
    return int(bindings[0]["HostPort"])
