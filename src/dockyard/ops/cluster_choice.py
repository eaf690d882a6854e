"""Which Ray cluster a cluster service goes to (:func:`resolve`, what the deploy call asks).

A named compute target; with no name, ``RAY_ADDRESS`` when set, else the workspace's default
compute target, else a local cluster started now as ``local-ray``; a created cluster whose
processes are gone is started again. Each choice that does something is said through
``progress``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import ConflictError, DockyardError, ValidationError
from dockyard.ops.computes import (
    FAILED,
    LOCAL_NAME,
    RAY_ADDRESS_NAME,
    ClusterRef,
    ComputeRecord,
    Progress,
    attach,
    check_address,
    create,
    get,
    list_all,
    lock,
    ref,
    require,
    start,
)
from dockyard.store import computes as store
from dockyard.targets.ray_record import is_alive, read_record

if TYPE_CHECKING:
    from dockyard.workspace import Workspace


def _nothing(_: str) -> None:
    return None


def resolve(ws: Workspace, name: str | None, progress: Progress = _nothing) -> ClusterRef:
    """The cluster a cluster service goes to: compute target ``name``; with no name,
    ``RAY_ADDRESS`` when set (recorded as attached ``ray-address``), else the workspace's default
    compute target (its only one, or the one marked default), else a local cluster started now
    as ``local-ray`` (``progress`` says so). A created cluster whose processes are gone (the
    machine restarted) is started again in its folder."""
    if name is None and os.environ.get("RAY_ADDRESS"):
        record = _ray_address(ws, os.environ["RAY_ADDRESS"], progress)
    elif name is None:
        record = _default(ws, progress)
    else:
        record = require(ws, name)
    if record.owned:
        record = _ensure_running(ws, record, progress)
    return ref(record)


def _ray_address(ws: Workspace, address: str, progress: Progress) -> ComputeRecord:
    address = check_address(address)
    record = get(ws, RAY_ADDRESS_NAME)
    if record is not None and record.address == address:
        return record
    if record is not None:
        if record.owned:
            raise ConflictError(
                f"RAY_ADDRESS is set, but compute target {RAY_ADDRESS_NAME!r} is a cluster "
                "dockyard created",
                hint=f"delete it (dockyard compute delete {RAY_ADDRESS_NAME}) or unset RAY_ADDRESS",
            )
        store.delete(ws.store, RAY_ADDRESS_NAME)
    progress(
        f"compute: no cluster target given; RAY_ADDRESS={address} is recorded as attached "
        f"compute target {RAY_ADDRESS_NAME!r}"
    )
    return attach(ws, RAY_ADDRESS_NAME, address, progress=progress)


def _default(ws: Workspace, progress: Progress) -> ComputeRecord:
    with lock(ws, "default"):
        targets = list_all(ws)
        marked = [t for t in targets if t.details.get("default")]
        if len(marked) == 1:
            return marked[0]
        if len(targets) == 1:
            return targets[0]
        if targets:
            names = ", ".join(t.name for t in targets)
            raise ValidationError(
                f"Workspace {ws.name!r} has several compute targets ({names}) and none is the "
                "default, so dockyard cannot tell which cluster to deploy to",
                hint="name the compute target the service goes to, or make one the default: "
                "`dockyard compute default NAME`",
            )
        record = create(ws, LOCAL_NAME, progress=_nothing)
    cluster = ref(record)
    progress(
        f"compute: no cluster target given; started local Ray cluster {LOCAL_NAME!r} at "
        f"{cluster.address}, Serve on http://{cluster.serve_host}:{cluster.serve_port} "
        f"(dockyard compute delete {LOCAL_NAME} stops it)"
    )
    return record


def _ensure_running(ws: Workspace, record: ComputeRecord, progress: Progress) -> ComputeRecord:
    folder = Path(str(record.folder))
    cluster = read_record(folder)
    if cluster is not None and is_alive(cluster):
        return record
    with lock(ws, record.name):
        cluster = read_record(folder)
        if cluster is not None and is_alive(cluster):
            return record
        progress(
            f"compute {record.name}: its local Ray cluster is not running (stopped, or the "
            f"machine restarted); starting it again in {folder}"
        )
        try:
            start(ws, record, progress, timeout_s=120, again=True)
        except DockyardError as exc:
            record.state = FAILED
            record.details["error"] = str(exc)
            store.save(ws.store, record)
            raise
        return record
