"""The ``computes`` table: the workspace's compute targets (Ray clusters), and their folders.

A compute target is *created* (dockyard started a local cluster, keeps its files under
``<workspace>/computes/NAME/`` and stops it when the target is deleted) or *attached* (the address
of a cluster someone else runs; dockyard never stops it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select

from dockyard.store.db import Store
from dockyard.store.layout import COMPUTES
from dockyard.store.schema import ComputeRow

CREATED, ATTACHED = "created", "attached"
#: The workspace folder that holds one folder per created compute target.


@dataclass
class ComputeRecord:
    """A plain copy of a compute target's row (safe to use after the session closes)."""

    name: str
    kind: str
    provisioning: str
    address: str | None
    serve_port: int | None
    folder: str | None
    state: str
    details: dict[str, Any] = field(default_factory=dict)
    created_at: Any = None
    updated_at: Any = None

    @property
    def owned(self) -> bool:
        """Did dockyard start this cluster (and so stops it on delete)?"""
        return self.provisioning == CREATED


def compute_dir(workspace_folder: Path, name: str) -> Path:
    """Where a created compute target keeps its files: ``<workspace>/computes/NAME``."""
    return Path(workspace_folder) / COMPUTES / name


def _record(row: ComputeRow) -> ComputeRecord:
    return ComputeRecord(
        name=row.name,
        kind=row.kind,
        provisioning=row.provisioning,
        address=row.address,
        serve_port=row.serve_port,
        folder=row.folder,
        state=row.state,
        details=dict(row.details or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _by_name(name: str) -> Select[ComputeRow]:
    return select(ComputeRow).where(ComputeRow.name == name)


def get(store: Store, name: str) -> ComputeRecord | None:
    with store.session() as session:
        row = session.scalar(_by_name(name))
        return _record(row) if row is not None else None


def list_all(store: Store) -> list[ComputeRecord]:
    """Every compute target, by name."""
    with store.session() as session:
        rows = session.scalars(select(ComputeRow).order_by(ComputeRow.name)).all()
        return [_record(row) for row in rows]


def names(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(ComputeRow.name).order_by(ComputeRow.name)))


def save(store: Store, record: ComputeRecord) -> None:
    """Create or update the row for ``record``."""
    with store.session(write=True) as session:
        row = session.scalar(_by_name(record.name))
        if row is None:
            row = ComputeRow(name=record.name)
            session.add(row)
        row.kind = record.kind
        row.provisioning = record.provisioning
        row.address = record.address
        row.serve_port = record.serve_port
        row.folder = record.folder
        row.state = record.state
        row.details = dict(record.details)


def delete(store: Store, name: str) -> None:
    with store.session(write=True) as session:
        row = session.scalar(_by_name(name))
        if row is not None:
            session.delete(row)


__all__ = [
    "ATTACHED",
    "COMPUTES",
    "CREATED",
    "ComputeRecord",
    "compute_dir",
    "delete",
    "get",
    "list_all",
    "names",
    "save",
]
