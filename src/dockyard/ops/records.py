"""Service records as the operations use them: the rule for service names, lookups that say what
is missing, the history of each service and where an operation begins in it.

The rows and their history are kept by :mod:`dockyard.store.services`; these functions take the
workspace and add what a user should read (the not-found message, the name rule).
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import TYPE_CHECKING, Any

from dockyard.errors import ServiceNotFoundError, ValidationError
from dockyard.store import services
from dockyard.store.services import ServiceRecord

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


def get(ws: Workspace, name: str) -> ServiceRecord | None:
    return services.get(ws.store, name)


def require(ws: Workspace, name: str) -> ServiceRecord:
    record = get(ws, name)
    if record is None:
        names = ", ".join(services.names(ws.store)) or "none"
        raise ServiceNotFoundError(
            f"There is no service named {name!r} in workspace {ws.name!r} (services: {names})",
            hint="check the name with `dockyard service list`",
        )
    return record


def list_all(ws: Workspace) -> list[ServiceRecord]:
    return services.list_all(ws.store)


def save(ws: Workspace, record: ServiceRecord, event: str | None = None) -> None:
    """Create or update the row for ``record``; add ``event`` to its history when given."""
    services.save(ws.store, record, event)


def set_state(
    ws: Workspace, name: str, state: str, error: str | None, restart_count: int, message: str
) -> None:
    """Record a state change (and only a change) with its event."""
    services.set_state(ws.store, name, state, error, restart_count, message)


def events(ws: Workspace, name: str, after_id: int = 0) -> list[dict[str, Any]]:
    """The service's history, oldest first (only the events after event ``after_id``)."""
    return [dataclasses.asdict(e) for e in services.events(ws.store, name, after_id)]


def last_event_id(ws: Workspace, name: str) -> int:
    """The id of the service's newest event (0 when it has none)."""
    return services.last_event_id(ws.store, name)


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
    services.set_runtime(ws.store, record.name, operation=marker)
    return marker


def remove(ws: Workspace, name: str) -> None:
    services.delete(ws.store, name)


__all__ = [
    "SERVICE_NAME",
    "ServiceRecord",
    "begin_operation",
    "check_service_name",
    "events",
    "get",
    "last_event_id",
    "list_all",
    "operation_marker",
    "remove",
    "require",
    "save",
    "set_state",
]
