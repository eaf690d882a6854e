"""The ``environments`` table: registered environment versions (name, version, hashes, spec).

``spec`` is the serialized environment as JSON; the user-facing ``Environment`` is built from it
above the store. Version numbers come from :func:`dockyard.store.versions.allocate`; adding
content identical to the latest version (same full hash) returns that version instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dockyard.store.db import Store
from dockyard.store.schema import EnvironmentRow
from dockyard.store.versions import allocate

KIND = "environment"


@dataclass(frozen=True)
class EnvironmentRecord:
    """One registered environment version (a plain copy of its row)."""

    id: int
    name: str
    version: int
    build_hash: str
    full_hash: str
    created_at: datetime
    spec: dict[str, Any] = field(default_factory=dict)


def _record(row: EnvironmentRow) -> EnvironmentRecord:
    return EnvironmentRecord(
        id=row.id,
        name=row.name,
        version=row.version,
        build_hash=row.build_hash,
        full_hash=row.full_hash,
        created_at=row.created_at,
        spec=dict(row.spec or {}),
    )


def add_version(
    store: Store, *, name: str, build_hash: str, full_hash: str, spec: dict[str, Any]
) -> EnvironmentRecord:
    """Record the next version of ``name``, unless the latest version has ``full_hash`` already
    (then that version is returned and nothing is written)."""

    def add(session: Session, version: int) -> EnvironmentRecord:
        if version > 1:
            latest = session.scalar(
                select(EnvironmentRow).where(
                    EnvironmentRow.name == name, EnvironmentRow.version == version - 1
                )
            )
            if latest is not None and latest.full_hash == full_hash:
                return _record(latest)
        row = EnvironmentRow(
            name=name, version=version, build_hash=build_hash, full_hash=full_hash, spec=spec
        )
        session.add(row)
        session.flush()
        return _record(row)

    return allocate(store, EnvironmentRow, KIND, name, add)


def get(store: Store, name: str, version: int | None = None) -> EnvironmentRecord | None:
    """Version ``version`` of ``name`` (the latest when None), or None."""
    query = select(EnvironmentRow).where(EnvironmentRow.name == name)
    if version is not None:
        query = query.where(EnvironmentRow.version == version)
    with store.session() as session:
        row = session.scalars(query.order_by(EnvironmentRow.version.desc()).limit(1)).first()
        return _record(row) if row is not None else None


def versions(store: Store, name: str) -> list[int]:
    """The versions of ``name``, oldest first."""
    query = (
        select(EnvironmentRow.version)
        .where(EnvironmentRow.name == name)
        .order_by(EnvironmentRow.version)
    )
    with store.session() as session:
        return list(session.scalars(query))


def list_latest(store: Store) -> list[EnvironmentRecord]:
    """The latest version of every name, by name."""
    latest = (
        select(EnvironmentRow.name, func.max(EnvironmentRow.version).label("version"))
        .group_by(EnvironmentRow.name)
        .subquery()
    )
    query = (
        select(EnvironmentRow)
        .join(
            latest,
            (EnvironmentRow.name == latest.c.name) & (EnvironmentRow.version == latest.c.version),
        )
        .order_by(EnvironmentRow.name)
    )
    with store.session() as session:
        return [_record(row) for row in session.scalars(query)]


def list_all(store: Store, name: str | None = None) -> list[EnvironmentRecord]:
    """Every version (of ``name``, or of all names), by name, newest version first."""
    query = select(EnvironmentRow).order_by(EnvironmentRow.name, EnvironmentRow.version.desc())
    if name is not None:
        query = query.where(EnvironmentRow.name == name)
    with store.session() as session:
        return [_record(row) for row in session.scalars(query)]


__all__ = ["EnvironmentRecord", "add_version", "get", "list_all", "list_latest", "versions"]
