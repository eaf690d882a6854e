"""Compute targets: create (start a local Ray cluster dockyard owns), attach (record the address of
one someone else runs), list, get, delete. Which cluster a service goes to is
:mod:`dockyard.ops.cluster_choice`.

A created cluster lives in ``<workspace>/computes/NAME/`` (its ``cluster.json`` lists every
process it started) and outlives the process that created it; deleting the target stops exactly
those processes. An attached cluster is only ever forgotten, never stopped.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from dockyard.errors import (
    ConflictError,
    EngineUnavailableError,
    NotFoundError,
    ValidationError,
)
from dockyard.store import computes as store
from dockyard.store import layout
from dockyard.store.computes import ATTACHED, CREATED, ComputeRecord
from dockyard.targets import port_is_free
from dockyard.targets.ray_cluster import start_local, stop_local
from dockyard.targets.ray_cluster_status import ClusterStatus, cluster_status, reachable
from dockyard.targets.ray_record import members, read_record

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

Progress = Callable[[str], None]
KIND = "ray"
#: Azure's provisioning states.
CREATING, SUCCEEDED, FAILED = "Creating", "Succeeded", "Failed"
#: The compute target resolve() creates when none is given and the workspace has none.
LOCAL_NAME = "local-ray"
#: The compute target resolve() records for ``RAY_ADDRESS``.
RAY_ADDRESS_NAME = "ray-address"
#: Azure's rule for compute names: 2 to 16 letters, digits and '-', starting with a letter.
COMPUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,15}$")
DEFAULT_SERVE_PORT = 8000
_EVENTS_KEPT = 20


@dataclass(frozen=True)
class ClusterRef:
    """Where a cluster service goes: what the deploy target needs to reach the cluster."""

    name: str  # the compute target's name
    address: str  # what ray.init(address=...) takes ("127.0.0.1:<gcs port>" or "ray://h:p")
    owned: bool  # dockyard started it
    serve_host: str  # where Serve's HTTP proxy listens ("127.0.0.1" for local ones)
    serve_port: int
    dashboard_url: str | None = None


def _nothing(_: str) -> None:
    return None


def check_name(name: object) -> str:
    if not isinstance(name, str) or not COMPUTE_NAME.match(name):
        raise ValidationError(
            f"Invalid compute target name {name!r}: use 2 to 16 letters, digits and '-', "
            "starting with a letter",
            hint="pick a name such as 'ray-cluster'",
        )
    return name


def lock(ws: Workspace, name: str) -> FileLock:
    """The workspace-wide lock of compute target ``name`` (one process starts it at a time)."""
    return FileLock(str(layout.lock_file(Path(ws.path), f"compute-{name}")), timeout=600)


def _say(record: ComputeRecord, message: str, progress: Progress) -> None:
    """Tell ``progress`` and keep the line in the record's history (wait_for_completion)."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    events = list(record.details.get("events") or [])[-(_EVENTS_KEPT - 1) :]
    record.details["events"] = [*events, {"at": at, "message": message}]
    progress(message)


# --- lookups ------------------------------------------------------------------------------------
def get(ws: Workspace, name: str) -> ComputeRecord | None:
    return store.get(ws.store, name)


def require(ws: Workspace, name: str) -> ComputeRecord:
    record = get(ws, name)
    if record is None:
        known = ", ".join(store.names(ws.store)) or "none"
        raise NotFoundError(
            f"There is no compute target named {name!r} in workspace {ws.name!r} "
            f"(compute targets: {known})",
            hint="check the name with `dockyard compute list`",
        )
    return record


def list_all(ws: Workspace) -> list[ComputeRecord]:
    return store.list_all(ws.store)


def ref(record: ComputeRecord) -> ClusterRef:
    """The :class:`ClusterRef` of a compute target (for a created one, from its cluster.json)."""
    if record.owned and record.folder:
        cluster = read_record(Path(record.folder))
        if cluster is not None:
            return ClusterRef(
                record.name,
                cluster.address,
                True,
                cluster.serve_host,
                cluster.serve_port,
                cluster.dashboard_url,
            )
    if not record.address:
        raise ValidationError(
            f"Compute target {record.name!r} has no address (state {record.state})",
            hint=f"delete it (dockyard compute delete {record.name}) and create or attach it again",
        )
    return ClusterRef(
        record.name,
        record.address,
        record.owned,
        str(record.details.get("serve_host") or _host(record.address)),
        int(record.serve_port or DEFAULT_SERVE_PORT),
        record.details.get("dashboard_url"),
    )


def _host(address: str) -> str:
    return address.removeprefix("ray://").rpartition(":")[0].strip("[]") or address


def status(ws: Workspace, name: str, timeout_s: float = 30) -> ClusterStatus:
    """How the compute target's cluster is now (never raises for a cluster that is down)."""
    record = require(ws, name)
    if record.owned and record.folder:
        return cluster_status(Path(record.folder), timeout_s=timeout_s)
    return cluster_status(str(record.address), timeout_s=timeout_s)


def processes(ws: Workspace, name: str) -> list[int]:
    """The pids of a created cluster's running processes (none for an attached one)."""
    record = require(ws, name)
    cluster = read_record(Path(record.folder)) if record.owned and record.folder else None
    return [p.pid for p in members(cluster)] if cluster is not None else []


# --- create and attach --------------------------------------------------------------------------
def create(
    ws: Workspace,
    name: str,
    *,
    num_cpus: float | None = None,
    serve_port: int | None = None,
    default: bool = False,
    progress: Progress = _nothing,
    timeout_s: float = 120,
) -> ComputeRecord:
    """Start a local Ray cluster (Ray Serve included) that dockyard owns, as compute target
    ``name``. It outlives this process; :func:`delete` stops it."""
    check_name(name)
    with lock(ws, name):
        existing = get(ws, name)
        if existing is not None:
            raise ConflictError(
                f"A compute target named {name!r} already exists ({existing.provisioning}, "
                f"{existing.state})",
                hint=f"use it, pick another name, or delete it first (dockyard compute delete {name})",
            )
        folder = store.compute_dir(Path(ws.path), name)
        record = ComputeRecord(
            name=name,
            kind=KIND,
            provisioning=CREATED,
            address=None,
            serve_port=serve_port or None,
            folder=str(folder),
            state=CREATING,
            details={"num_cpus": num_cpus, "default": bool(default)},
        )
        store.save(ws.store, record)
        try:
            start(ws, record, progress, timeout_s, again=False)
        except BaseException:
            store.delete(ws.store, name)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if default:
            set_default(ws, name)
        return record


def start(
    ws: Workspace, record: ComputeRecord, progress: Progress, timeout_s: float, *, again: bool
) -> None:
    """Start (or start again) the local cluster of ``record``; record where it listens."""
    folder = Path(str(record.folder))
    what = "starting it again" if again else "starting"
    _say(record, f"compute {record.name}: {what} a local Ray cluster in {folder}", progress)
    began = time.monotonic()
    port = int(record.serve_port or 0)
    if again and port and not port_is_free(port):
        port = 0  # its old port was taken meanwhile: Serve gets a new one (and says which)
    cluster = start_local(
        folder, num_cpus=record.details.get("num_cpus"), serve_port=port, timeout_s=timeout_s
    )
    record.address, record.serve_port, record.state = cluster.address, cluster.serve_port, SUCCEEDED
    record.details.update(
        serve_host=cluster.serve_host,
        dashboard_url=cluster.dashboard_url,
        ray_version=cluster.ray_version,
        num_cpus=cluster.num_cpus,
        timings=cluster.timings,
        error=None,
    )
    _say(
        record,
        f"compute {record.name}: Ray {cluster.ray_version} head at {cluster.address} "
        f"({cluster.num_cpus} CPUs, {len(cluster.processes)} processes), Ray Serve on "
        f"http://{cluster.serve_host}:{cluster.serve_port} ({time.monotonic() - began:.1f} s)",
        progress,
    )
    store.save(ws.store, record)


def attach(
    ws: Workspace,
    name: str,
    address: str,
    *,
    serve_port: int | None = None,
    serve_host: str | None = None,
    dashboard_url: str | None = None,
    default: bool = False,
    progress: Progress = _nothing,
    timeout_s: float = 30,
) -> ComputeRecord:
    """Record the Ray cluster at ``address`` (``host:port`` of its GCS, or ``ray://host:port``)
    as compute target ``name``, after checking that it answers. dockyard never stops it."""
    check_name(name)
    address = check_address(address)
    with lock(ws, name):
        existing = get(ws, name)
        if existing is not None:
            raise ConflictError(
                f"A compute target named {name!r} already exists ({existing.provisioning} "
                f"at {existing.address})",
                hint=f"pick another name, or delete it first (dockyard compute delete {name})",
            )
        found = _probe(address, name, timeout_s)
        host = serve_host or _host(address)
        record = ComputeRecord(
            name=name,
            kind=KIND,
            provisioning=ATTACHED,
            address=address,
            serve_port=serve_port or DEFAULT_SERVE_PORT,
            folder=None,
            state=SUCCEEDED,
            details={
                "serve_host": host,
                "dashboard_url": dashboard_url
                or found.get("dashboard_url")
                or f"http://{host}:8265",
                "ray_version": found.get("ray_version"),
                "cpus": found.get("cpus"),
                "default": bool(default),
            },
        )
        _say(
            record,
            f"compute {name}: attached the Ray cluster at {address} (Ray {found.get('ray_version')}, "
            f"{len(found.get('nodes') or [])} nodes, {found.get('cpus')} CPUs); dockyard never "
            "stops it",
            progress,
        )
        store.save(ws.store, record)
    if default:
        set_default(ws, name)
    return record


def check_address(address: object) -> str:
    text = str(address or "").strip()
    rest = text.removeprefix("ray://")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit() or "/" in rest:
        raise ValidationError(
            f"{address!r} is not a Ray cluster address",
            hint="give HOST:PORT of the cluster's GCS (such as 127.0.0.1:6379) or "
            "ray://HOST:PORT of its Ray Client server (port 10001 by default)",
        )
    return text


def _probe(address: str, name: str, timeout_s: float) -> dict[str, Any]:
    why = reachable(address)
    if why is None:
        found = cluster_status(address, timeout_s=timeout_s)
        why = found.error if not found.alive else None
        if why is None:
            return {
                "ray_version": found.ray_version,
                "nodes": found.nodes,
                "cpus": found.cpus,
                "dashboard_url": found.dashboard_url,
            }
    raise EngineUnavailableError(
        f"Cannot attach compute target {name!r}: the Ray cluster at {address} does not answer: {why}",
        hint="check that the cluster runs and the address (HOST:PORT of its GCS, or "
        "ray://HOST:10001); or start one that dockyard owns: dockyard compute create NAME",
    )


def set_default(ws: Workspace, name: str) -> ComputeRecord:
    """Make ``name`` the workspace's default compute target (the one cluster services use when
    none is named)."""
    chosen = require(ws, name)
    for record in list_all(ws):
        is_it = record.name == name
        if bool(record.details.get("default")) != is_it:
            record.details["default"] = is_it
            store.save(ws.store, record)
    chosen.details["default"] = True
    return chosen


# --- delete -------------------------------------------------------------------------------------
def delete(ws: Workspace, name: str, progress: Progress = _nothing) -> ComputeRecord:
    """Forget compute target ``name``; a created one's cluster is stopped first (exactly the
    processes it started) and its folder removed. An attached cluster is never stopped."""
    with lock(ws, name):
        record = require(ws, name)
        stopped: list[int] = []
        if record.owned and record.folder:
            folder = Path(record.folder)
            cluster = read_record(folder)
            stopped = [p.pid for p in members(cluster)] if cluster is not None else []
            stop_local(folder)
            shutil.rmtree(folder, ignore_errors=True)
            _say(
                record,
                f"compute {name}: stopped the local Ray cluster ({len(stopped)} processes)",
                progress,
            )
        else:
            _say(
                record,
                f"compute {name}: forgotten (the cluster at {record.address} runs on)",
                progress,
            )
        store.delete(ws.store, name)
        record.details["stopped_pids"] = stopped
        return record


__all__ = [
    "ATTACHED",
    "CREATED",
    "FAILED",
    "LOCAL_NAME",
    "RAY_ADDRESS_NAME",
    "SUCCEEDED",
    "ClusterRef",
    "ClusterStatus",
    "ComputeRecord",
    "attach",
    "check_name",
    "create",
    "delete",
    "get",
    "list_all",
    "processes",
    "check_address",
    "lock",
    "ref",
    "require",
    "set_default",
    "start",
    "status",
]
