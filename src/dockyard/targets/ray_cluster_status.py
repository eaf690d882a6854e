"""How a Ray cluster is, owned or attached: reachable, its nodes and CPUs, its Ray version.

The question goes to a short driver process with a time limit
(:func:`dockyard.targets.ray_driver.run_driver`), after a TCP connection says that something
listens at all: an unreachable address is told in seconds, not after Ray's minute of retries.
"""

from __future__ import annotations

import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dockyard.targets.ray_driver import driver_environment, run_driver
from dockyard.targets.ray_record import is_alive, read_record


@dataclass(frozen=True)
class ClusterStatus:
    """How a cluster is: reachable, its nodes and CPUs, its Ray version (None when unknown)."""

    address: str | None
    alive: bool
    nodes: list[dict[str, Any]] = field(default_factory=list)
    cpus: float = 0.0
    ray_version: str | None = None
    python_version: str | None = None
    dashboard_url: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _host_port(address: str) -> tuple[str, int] | None:
    rest = address.removeprefix("ray://")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def is_loopback(address: str) -> bool:
    parsed = _host_port(address)
    return parsed is not None and parsed[0] in {"127.0.0.1", "localhost", "::1"}


def reachable(address: str, timeout_s: float = 3.0) -> str | None:
    """None when something accepts TCP connections at ``address``, else why not."""
    parsed = _host_port(address)
    if parsed is None:
        return f"{address!r} is not an address (host:port or ray://host:port)"
    try:
        with socket.create_connection(parsed, timeout=timeout_s):
            return None
    except OSError as exc:
        return f"nothing accepts connections at {parsed[0]}:{parsed[1]} ({exc.strerror or exc})"


def cluster_status(folder_or_address: Path | str, timeout_s: float = 30) -> ClusterStatus:
    """How the cluster recorded in a folder (a :class:`~pathlib.Path`) or at an address (a
    ``str``: ``host:port`` or ``ray://host:port``) is. Bounded by ``timeout_s``; never raises for
    a cluster that is down (``alive`` is False and ``error`` says why)."""
    if isinstance(folder_or_address, Path):
        cluster = read_record(folder_or_address)
        if cluster is None:
            return ClusterStatus(
                None, False, error=f"no cluster is recorded in {folder_or_address}"
            )
        if not is_alive(cluster):
            return ClusterStatus(
                cluster.address,
                False,
                ray_version=cluster.ray_version,
                error="its processes are gone (stopped, or the machine restarted)",
            )
        address = cluster.address
    else:
        address = folder_or_address
    why = reachable(address)
    if why:
        return ClusterStatus(address, False, error=why)
    env = driver_environment() if is_loopback(address) else None
    answer = run_driver(["status", address], timeout_s=timeout_s, env=env, what=f"asking {address}")
    if "error" in answer:
        return ClusterStatus(address, False, error=str(answer["error"]))
    return ClusterStatus(
        address,
        bool(answer.get("alive")),
        nodes=list(answer.get("nodes") or []),
        cpus=float(answer.get("cpus") or 0.0),
        ray_version=answer.get("ray_version"),
        python_version=answer.get("python_version"),
        dashboard_url=answer.get("dashboard_url"),
    )


__all__ = ["ClusterStatus", "cluster_status", "is_loopback", "reachable"]
