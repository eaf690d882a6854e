"""Registered ``Environment`` versions in a workspace: register, get and list.

The rows and their version numbers are kept by :mod:`dockyard.store.environments` (the next
version under the store's lock, content identical to the latest version returned instead of
added); this module turns them into ``Environment`` objects and says clearly what is missing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from dockyard.errors import EnvironmentNotFoundError, ValidationError
from dockyard.store import environments as rows

if TYPE_CHECKING:
    from dockyard.assets.environment import Environment
    from dockyard.store.db import Store
    from dockyard.store.environments import EnvironmentRecord


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


def _from_record(record: EnvironmentRecord) -> Environment:
    from dockyard.assets.environment import Environment

    env = Environment.deserialize(dict(record.spec))
    env.name = record.name
    env.version = str(record.version)
    env.created_time = record.created_at
    return env


def register(env: Environment, workspace: Any) -> Environment:
    """Store ``env`` as the next version of its name, unless the latest version is identical."""
    from dockyard.assets.environment import validate_name

    name = validate_name(env.name)
    build_hash, full_hash = env.build_hash(), env.full_hash()
    spec = env.serialize()  # after hashing: includes the -r files' content just read
    spec["version"] = None
    record = rows.add_version(
        _store(workspace), name=name, build_hash=build_hash, full_hash=full_hash, spec=spec
    )
    return _from_record(record)


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


def get(workspace: Any, name: str, version: str | int | None = None) -> Environment:
    """Version ``version`` of ``name`` (the latest when None); a clear error when missing."""
    number = _parse_version(name, version)
    store = _store(workspace)
    record = rows.get(store, name, number)
    if record is not None:
        return _from_record(record)
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


def list_latest(workspace: Any) -> dict[str, Environment]:
    """Every name mapped to its latest version, sorted by name."""
    return {r.name: _from_record(r) for r in rows.list_latest(_store(workspace))}


def list_versions(workspace: Any, name: str | None = None) -> list[Environment]:
    """Every registered version (of ``name``, or of all names), by name then version."""
    records = sorted(rows.list_all(_store(workspace), name), key=lambda r: (r.name, r.version))
    return [_from_record(r) for r in records]


class EnvironmentsView(Mapping[str, "Environment"]):
    """``ws.environments``: a read-only mapping of name -> latest registered Environment."""

    def __init__(self, workspace: Any) -> None:
        self._workspace = workspace

    def __getitem__(self, name: str) -> Environment:
        try:
            return get(self._workspace, name)
        except EnvironmentNotFoundError as exc:
            raise KeyError(name) from exc

    def __iter__(self) -> Iterator[str]:
        return iter(list_latest(self._workspace))

    def __len__(self) -> int:
        return len(list_latest(self._workspace))

    def __repr__(self) -> str:
        return f"EnvironmentsView({sorted(self)!r})"


def environments_view(workspace: Any) -> EnvironmentsView:
    """What ``Workspace.environments`` returns (hook it up as a property)."""
    return EnvironmentsView(workspace)
