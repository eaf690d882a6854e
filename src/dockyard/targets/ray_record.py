"""What dockyard records about a local Ray cluster it started, and what that record tells.

``<folder>/cluster.json`` (:class:`LocalCluster`) holds the cluster's addresses and ports, Ray's
temporary folder and every process the cluster had when it was ready, each by pid and start time
(:class:`~dockyard.targets.ray_processes.ProcessId`), with the session they all share. Processes
that Ray starts later (Serve's replicas) are in that session too, so :func:`members` finds them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import ValidationError
from dockyard.targets.ray_processes import (
    Listener,
    ProcessId,
    boot_id,
    is_running,
    listeners,
    session_members,
)

RECORD = "cluster.json"
START_LOG = "ray-start.log"


@dataclass(frozen=True)
class LocalCluster:
    """What :func:`start_local` started (``<folder>/cluster.json`` holds the same)."""

    folder: Path
    address: str  # what ray.init(address=...) takes: "127.0.0.1:<gcs port>"
    gcs_port: int
    dashboard_url: str
    serve_host: str
    serve_port: int
    temp_dir: Path
    session: int  # session id (= process group id) of every process of the cluster
    pgid: int
    processes: tuple[ProcessId, ...]
    num_cpus: int
    started_at: str
    ray_version: str
    python_version: str
    python: str
    boot_id: str
    ports: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(folder=str(self.folder), temp_dir=str(self.temp_dir), pids=self.pids)
        data["processes"] = [list(p) for p in self.processes]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LocalCluster:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values.update(folder=Path(data["folder"]), temp_dir=Path(data["temp_dir"]))
        values["processes"] = tuple(ProcessId(int(p), int(s)) for p, s in data["processes"])
        return cls(**values)


def read_record(folder: Path) -> LocalCluster | None:
    """The cluster recorded in ``folder`` (running or not), or None."""
    try:
        data = json.loads((Path(folder) / RECORD).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValidationError(
            f"{Path(folder) / RECORD} cannot be read ({exc})",
            hint="stop the cluster's processes by hand if any run, then delete that file",
        ) from None
    return LocalCluster.from_json(data)


def write_record(cluster: LocalCluster) -> None:
    path = cluster.folder / RECORD
    tmp = path.with_name(f".{RECORD}.{secrets.token_hex(4)}")
    tmp.write_text(json.dumps(cluster.to_json(), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def members(cluster: LocalCluster) -> list[ProcessId]:
    """The cluster's running processes: its session's members and any recorded process left
    (the same pid *and* start time; nothing when the machine has restarted since)."""
    if cluster.boot_id and cluster.boot_id != boot_id():
        return []
    found = set(session_members(cluster.session))
    found.update(p for p in cluster.processes if is_running(p))
    return sorted(found)


def is_alive(cluster: LocalCluster) -> bool:
    """Do the cluster's head processes (GCS and raylet, the first two recorded) still run?"""
    if cluster.boot_id and cluster.boot_id != boot_id():
        return False
    return any(is_running(p) for p in cluster.processes[:2]) and bool(members(cluster))


def cluster_listeners(cluster: LocalCluster) -> list[Listener]:
    """Every TCP listener of the cluster's processes (Serve's proxy and replicas included)."""
    return listeners(p.pid for p in members(cluster))


def ray_log_tail(cluster: LocalCluster, lines: int = 15) -> str:
    """The last lines of `ray start`'s output and of Ray's own error logs, for messages."""
    parts = []
    logs = cluster.temp_dir / "session_latest" / "logs"
    candidates = [cluster.folder / START_LOG]
    candidates += [
        logs / f"{name}.err"
        for name in ("gcs_server", "raylet", "dashboard", "dashboard_agent", "runtime_env_agent")
    ]
    for path in candidates:
        with contextlib.suppress(OSError):
            text = [t for t in path.read_text(errors="replace").splitlines() if t.strip()]
            if text:
                parts.append(f"--- {path} ---\n" + "\n".join(text[-lines:]))
    return "\n".join(parts)


__all__ = [
    "RECORD",
    "START_LOG",
    "LocalCluster",
    "cluster_listeners",
    "is_alive",
    "members",
    "ray_log_tail",
    "read_record",
    "write_record",
]
