"""The ``services`` and ``service_events`` tables: each service's state, spec, runtime facts and
the history of its state changes.

This is the one truth every process (SDK, CLI, another terminal, a supervisor) reads; every
state change is written with an event in the service's history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from dockyard.store.db import Store
from dockyard.store.schema import ServiceEventRow, ServiceRow


@dataclass
class ServiceRecord:
    """A plain copy of a service row (safe to use after the session closes)."""

    name: str
    target: str
    state: str
    error: str | None
    spec: dict[str, Any]
    runtime: dict[str, Any]
    model_ids: list[str]
    restart_count: int
    description: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    created_at: Any = None
    updated_at: Any = None


@dataclass(frozen=True)
class ServiceEvent:
    """One entry of a service's history."""

    id: int
    at: datetime
    state: str
    message: str | None


def _record(row: ServiceRow) -> ServiceRecord:
    return ServiceRecord(
        name=row.name,
        target=row.target,
        state=row.state,
        error=row.error,
        spec=dict(row.spec or {}),
        runtime=dict(row.runtime or {}),
        model_ids=list(row.model_ids or []),
        restart_count=row.restart_count or 0,
        description=row.description,
        tags=dict(row.tags or {}),
        properties=dict(row.properties or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _by_name(name: str) -> Select[ServiceRow]:
    return select(ServiceRow).where(ServiceRow.name == name)


def get(store: Store, name: str) -> ServiceRecord | None:
    with store.session() as session:
        row = session.scalar(_by_name(name))
        return _record(row) if row is not None else None


def list_all(store: Store) -> list[ServiceRecord]:
    """Every service, by name."""
    with store.session() as session:
        rows = session.scalars(select(ServiceRow).order_by(ServiceRow.name)).all()
        return [_record(row) for row in rows]


def names(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(ServiceRow.name).order_by(ServiceRow.name)))


def save(store: Store, record: ServiceRecord, event: str | None = None) -> None:
    """Create or update the row for ``record``; add ``event`` to its history when given."""
    with store.session(write=True) as session:
        row = session.scalar(_by_name(record.name))
        if row is None:
            row = ServiceRow(name=record.name, target=record.target)
            session.add(row)
        row.target = record.target
        row.state = record.state
        row.error = record.error
        row.spec = record.spec
        row.runtime = record.runtime
        row.model_ids = record.model_ids
        row.restart_count = record.restart_count
        row.description = record.description
        row.tags = record.tags
        row.properties = record.properties
        if event:
            row.events.append(ServiceEventRow(state=record.state, message=event))


def set_state(
    store: Store, name: str, state: str, error: str | None, restart_count: int, message: str
) -> bool:
    """Record a state change (and only a change) with its event; True when something changed."""
    with store.session(write=True) as session:
        row = session.scalar(_by_name(name))
        if row is None:
            return False
        if row.state == state and row.error == error and row.restart_count == restart_count:
            return False
        row.state, row.error, row.restart_count = state, error, restart_count
        row.events.append(ServiceEventRow(state=state, message=message))
        return True


def set_runtime(store: Store, name: str, **values: Any) -> None:
    """Merge ``values`` into the service's runtime facts (nothing else changes)."""
    with store.session(write=True) as session:
        row = session.scalar(_by_name(name))
        if row is not None:
            row.runtime = {**(row.runtime or {}), **values}


def events(store: Store, name: str, after_id: int = 0) -> list[ServiceEvent]:
    """The service's history, oldest first (only the events after event ``after_id``)."""
    query = (
        select(ServiceEventRow)
        .join(ServiceRow, ServiceEventRow.service_id == ServiceRow.id)
        .where(ServiceRow.name == name, ServiceEventRow.id > after_id)
        .order_by(ServiceEventRow.id)
    )
    with store.session() as session:
        return [ServiceEvent(e.id, e.at, e.state, e.message) for e in session.scalars(query)]


def last_event_id(store: Store, name: str) -> int:
    """The id of the service's newest event (0 when it has none)."""
    query = (
        select(func.max(ServiceEventRow.id))
        .join(ServiceRow, ServiceEventRow.service_id == ServiceRow.id)
        .where(ServiceRow.name == name)
    )
    with store.session() as session:
        return session.scalar(query) or 0


def delete(store: Store, name: str) -> None:
    """Delete the service and its history."""
    with store.session(write=True) as session:
        row = session.scalar(_by_name(name))
        if row is not None:
            session.delete(row)


__all__ = [
    "ServiceEvent",
    "ServiceRecord",
    "delete",
    "events",
    "get",
    "last_event_id",
    "list_all",
    "names",
    "save",
    "set_runtime",
    "set_state",
]
