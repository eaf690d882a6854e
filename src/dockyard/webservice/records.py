"""Service records in the workspace store: the one truth every process (SDK, CLI, another
terminal) reads. Every state change is written here with an event in the service's history."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from dockyard.errors import ServiceNotFoundError, ValidationError
from dockyard.store.schema import ServiceEventRow, ServiceRow

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

SERVICE_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def check_service_name(name: str) -> str:
    """Azure's rule for service names: 3-32 characters, lowercase letters, digits and dashes,
    starting with a letter and not ending with a dash."""
    if not isinstance(name, str) or not 3 <= len(name) <= 32 or not SERVICE_NAME.match(name):
        raise ValidationError(
            f"Invalid service name {name!r}: a service name has 3 to 32 characters, lowercase "
            "letters, digits and '-', starts with a letter and does not end with '-'",
            hint="pick a name such as 'my-service-1'",
        )
    return name


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

    @classmethod
    def from_row(cls, row: ServiceRow) -> ServiceRecord:
        return cls(
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


def get(ws: Workspace, name: str) -> ServiceRecord | None:
    with ws.store.session() as session:
        row = session.scalar(select(ServiceRow).where(ServiceRow.name == name))
        return ServiceRecord.from_row(row) if row else None


def require(ws: Workspace, name: str) -> ServiceRecord:
    record = get(ws, name)
    if record is None:
        names = ", ".join(r.name for r in list_all(ws)) or "none"
        raise ServiceNotFoundError(
            f"There is no service named {name!r} in workspace {ws.name!r} (services: {names})",
            hint="check the name with `dockyard service list`",
        )
    return record


def list_all(ws: Workspace) -> list[ServiceRecord]:
    with ws.store.session() as session:
        rows = session.scalars(select(ServiceRow).order_by(ServiceRow.name)).all()
        return [ServiceRecord.from_row(row) for row in rows]


def save(ws: Workspace, record: ServiceRecord, event: str | None = None) -> None:
    """Create or update the row for ``record``; add ``event`` to its history when given."""
    with ws.store.session() as session:
        row = session.scalar(select(ServiceRow).where(ServiceRow.name == record.name))
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
    ws: Workspace, name: str, state: str, error: str | None, restart_count: int, message: str
) -> None:
    """Record a state change (and only a change) with its event."""
    with ws.store.session() as session:
        row = session.scalar(select(ServiceRow).where(ServiceRow.name == name))
        if row is None:
            return
        if row.state == state and row.error == error and row.restart_count == restart_count:
            return
        row.state, row.error, row.restart_count = state, error, restart_count
        row.events.append(ServiceEventRow(state=state, message=message))


def events(ws: Workspace, name: str, after_id: int = 0) -> list[dict[str, Any]]:
    """The service's history, oldest first (only the events after event ``after_id``)."""
    with ws.store.session() as session:
        row = session.scalar(select(ServiceRow).where(ServiceRow.name == name))
        if row is None:
            return []
        return [
            {"id": e.id, "at": e.at, "state": e.state, "message": e.message}
            for e in sorted(row.events, key=lambda e: e.id)
            if e.id > after_id
        ]


def last_event_id(ws: Workspace, name: str) -> int:
    """The id of the service's newest event (0 when it has none)."""
    with ws.store.session() as session:
        row = session.scalar(select(ServiceRow).where(ServiceRow.name == name))
        if row is None or not row.events:
            return 0
        return max(e.id for e in row.events)


def operation_marker(ws: Workspace, name: str, what: str) -> dict[str, Any]:
    """Where an operation (deploy, update, reload, start, stop) begins in the service's history:
    its name, the time it began and the newest event before it. Kept in the record's runtime as
    ``operation``, so ``wait_for_deployment(show_output=True)`` in any process shows only the
    events of the operation it waits for."""
    return {"what": what, "at": time.time(), "after_event": last_event_id(ws, name)}


def begin_operation(ws: Workspace, record: ServiceRecord, what: str) -> dict[str, Any]:
    """Record that ``what`` begins now, on ``record`` and in the store (nothing else changes)."""
    marker = operation_marker(ws, record.name, what)
    record.runtime["operation"] = marker
    with ws.store.session() as session:
        row = session.scalar(select(ServiceRow).where(ServiceRow.name == record.name))
        if row is not None:
            row.runtime = {**(row.runtime or {}), "operation": marker}
    return marker


def remove(ws: Workspace, name: str) -> None:
    with ws.store.session() as session:
        row = session.scalar(select(ServiceRow).where(ServiceRow.name == name))
        if row is not None:
            session.delete(row)


class WebservicesView(Mapping[str, Any]):
    """``ws.webservices``: a read-only mapping of service name -> Webservice."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def __getitem__(self, name: str) -> Any:
        from dockyard.webservice.base import Webservice

        if get(self._ws, name) is None:
            raise KeyError(name)
        return Webservice(self._ws, name)

    def __iter__(self) -> Iterator[str]:
        return iter([r.name for r in list_all(self._ws)])

    def __len__(self) -> int:
        return len(list_all(self._ws))
