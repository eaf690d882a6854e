"""Moved to :mod:`dockyard.store.models`; kept until the callers move (``register`` is
``models.add_version``, ``list_rows`` is ``models.list_all``)."""

from __future__ import annotations

from dockyard.store.models import (
    FileEntry,
    ModelRecord,
    delete_version,
    files,
    get,
    names,
    referenced_blobs,
    services_using,
    update,
    versions,
)
from dockyard.store.models import add_version as register
from dockyard.store.models import list_all as list_rows

__all__ = [
    "FileEntry",
    "ModelRecord",
    "delete_version",
    "files",
    "get",
    "list_rows",
    "names",
    "referenced_blobs",
    "register",
    "services_using",
    "update",
    "versions",
]
