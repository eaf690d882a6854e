"""Service records: the one truth every process (SDK, CLI, another terminal) reads.

Transitional: the SQL moves into ``dockyard.store``; this module names what the operations use.
"""

from __future__ import annotations

from dockyard.webservice.records import (
    ServiceRecord,
    begin_operation,
    check_service_name,
    events,
    get,
    list_all,
    operation_marker,
    remove,
    require,
    save,
    set_state,
)

__all__ = [
    "ServiceRecord",
    "begin_operation",
    "check_service_name",
    "events",
    "get",
    "list_all",
    "operation_marker",
    "remove",
    "require",
    "save",
    "set_state",
]
