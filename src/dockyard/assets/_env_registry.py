"""Registered environment versions in a workspace, as plain records: add, get and list.

The rows and their version numbers are kept by :mod:`dockyard.store.environments` (the next
version under the store's lock, content identical to the latest version returned instead of
added). This module finds the workspace's store and says clearly what is missing; it knows
nothing of the ``Environment`` class, which turns the records into objects
(:mod:`dockyard.assets.environment`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.errors import EnvironmentNotFoundError, ValidationError
from dockyard.store import environments as rows
from dockyard.store.environments import EnvironmentRecord

if TYPE_CHECKING:
    from dockyard.store.db import Store


def _store(workspace: Any) -> Store:
    store = getattr(workspace, "store", None)
    if store is None or not hasattr(store, "session"):
        raise ValidationError(
            f"{workspace!r} is not a dockyard Workspace.",
            hint="pass the workspace from Workspace.from_config() or Workspace.get(...)",
        )
    return store  # type: ignore[no-any-return]


def _ws_label(workspace: Any) -> str:
    return str(getattr(workspace, "name", None) or getattr(workspace, "path", None) or workspace)


def add(
    workspace: Any, *, name: str, build_hash: str, full_hash: str, spec: dict[str, Any]
) -> EnvironmentRecord:
    """Store ``spec`` as the next version of ``name``, unless the latest version has the same
    full hash (then that version comes back and nothing is written)."""
    return rows.add_version(
        _store(workspace), name=name, build_hash=build_hash, full_hash=full_hash, spec=spec
    )


def _parse_version(name: str, version: str | int | None) -> int | None:
    if version is None or version == "latest":
        return None
    try:
        number = int(version)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ValidationError(
            f"Environment version {version!r} of {name!r} is not valid: versions are 1, 2, 3 ...",
            hint="omit the version to get the latest",
        )
    return number


def get(workspace: Any, name: str, version: str | int | None = None) -> EnvironmentRecord:
    """Version ``version`` of ``name`` (the latest when None); a clear error when missing."""
    number = _parse_version(name, version)
    store = _store(workspace)
    record = rows.get(store, name, number)
    if record is not None:
        return record
    versions = rows.versions(store, name)
    where = f"in workspace {_ws_label(workspace)!r}"
    if versions:
        raise EnvironmentNotFoundError(
            f"Environment {name!r} has no version {number} {where}; it has versions "
            f"{', '.join(map(str, versions))}.",
            hint=f"use one of those versions, or omit the version for the latest ({versions[-1]})",
        )
    raise EnvironmentNotFoundError(
        f"Environment {name!r} is not registered {where}.",
        hint="list the registered ones with `dockyard env list`, or register it with "
        "env.register(ws) / `dockyard env register --name NAME --file FILE`",
    )


def find(workspace: Any, name: str) -> EnvironmentRecord | None:
    """The latest version of ``name``, or None."""
    return rows.get(_store(workspace), name)


def latest(workspace: Any) -> list[EnvironmentRecord]:
    """The latest version of every name, sorted by name."""
    return rows.list_latest(_store(workspace))


def names(workspace: Any) -> list[str]:
    """Every registered name, sorted."""
    return [r.name for r in latest(workspace)]


def versions(workspace: Any, name: str | None = None) -> list[EnvironmentRecord]:
    """Every registered version (of ``name``, or of all names), by name then version."""
    records = rows.list_all(_store(workspace), name)
    return sorted(records, key=lambda r: (r.name, r.version))


__all__ = ["EnvironmentRecord", "add", "find", "get", "latest", "names", "versions"]
