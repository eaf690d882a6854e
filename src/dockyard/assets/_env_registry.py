"""The environment registry: register, get and list ``Environment`` versions in a workspace.

Rows live in the ``environments`` table (:class:`dockyard.store.schema.EnvironmentRow`): name,
version (1, 2, 3 ... per name), build and full hash, and the serialized environment as JSON.

Versions are assigned atomically. The writer takes the store's write lock (SQLite) or an
advisory lock (PostgreSQL); the unique constraint on (name, version) is the last line of defence,
and a writer that loses a race retries with the next number. Registering content identical to the
latest version (same full hash) returns that version instead of adding one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from dockyard.errors import ConflictError, EnvironmentNotFoundError, ValidationError

if TYPE_CHECKING:
    from dockyard.assets.environment import Environment

_ATTEMPTS = 8


def _store(workspace: Any) -> Any:
    store = getattr(workspace, "store", None)
    if store is None or not hasattr(store, "session"):
        raise ValidationError(
            f"{workspace!r} is not a dockyard Workspace.",
            hint="pass the workspace from Workspace.from_config() or Workspace.get(...)",
        )
    return store


def _ws_label(workspace: Any) -> str:
    return str(getattr(workspace, "name", None) or getattr(workspace, "path", None) or workspace)


def _from_row(row: Any) -> Environment:
    from dockyard.assets.environment import Environment

    env = Environment.deserialize(dict(row.spec))
    env.name = row.name
    env.version = str(row.version)
    env.created_time = row.created_at
    return env


def register(env: Environment, workspace: Any) -> Environment:
    """Store ``env`` as the next version of its name, unless the latest version is identical."""
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError as DuplicateKey

    from dockyard.assets.environment import validate_name
    from dockyard.store.schema import EnvironmentRow

    name = validate_name(env.name)
    build_hash, full_hash = env.build_hash(), env.full_hash()
    spec = env.serialize()  # after hashing: includes the -r files' content just read
    spec["version"] = None
    store = _store(workspace)
    for attempt in range(_ATTEMPTS):
        try:
            with store.session(write=True) as session:
                lock = getattr(store, "lock", None)
                if lock is not None:
                    lock(session, f"environment:{name}")
                latest = session.scalars(
                    select(EnvironmentRow)
                    .where(EnvironmentRow.name == name)
                    .order_by(EnvironmentRow.version.desc())
                    .limit(1)
                ).first()
                if latest is not None and latest.full_hash == full_hash:
                    return _from_row(latest)
                row = EnvironmentRow(
                    name=name,
                    version=1 if latest is None else latest.version + 1,
                    build_hash=build_hash,
                    full_hash=full_hash,
                    spec=spec,
                )
                session.add(row)
                session.flush()
                registered = _from_row(row)
            return registered
        except DuplicateKey:
            time.sleep(0.01 * (attempt + 1))  # another process took that number: try the next
    raise ConflictError(
        f"Could not register environment {name!r}: {_ATTEMPTS} attempts lost the race for the "
        "next version number to other processes.",
        hint="retry the registration; if it keeps failing, check for a runaway script",
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


def get(workspace: Any, name: str, version: str | int | None = None) -> Environment:
    """Version ``version`` of ``name`` (the latest when None); a clear error when missing."""
    from sqlalchemy import select

    from dockyard.store.schema import EnvironmentRow

    number = _parse_version(name, version)
    with _store(workspace).session() as session:
        query = select(EnvironmentRow).where(EnvironmentRow.name == name)
        if number is not None:
            query = query.where(EnvironmentRow.version == number)
        row = session.scalars(query.order_by(EnvironmentRow.version.desc()).limit(1)).first()
        if row is not None:
            return _from_row(row)
        versions = session.scalars(
            select(EnvironmentRow.version)
            .where(EnvironmentRow.name == name)
            .order_by(EnvironmentRow.version)
        ).all()
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
    from sqlalchemy import func, select

    from dockyard.store.schema import EnvironmentRow

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
    with _store(workspace).session() as session:
        return {row.name: _from_row(row) for row in session.scalars(query)}


def list_versions(workspace: Any, name: str | None = None) -> list[Environment]:
    """Every registered version (of ``name``, or of all names), by name then version."""
    from sqlalchemy import select

    from dockyard.store.schema import EnvironmentRow

    query = select(EnvironmentRow).order_by(EnvironmentRow.name, EnvironmentRow.version)
    if name is not None:
        query = query.where(EnvironmentRow.name == name)
    with _store(workspace).session() as session:
        return [_from_row(row) for row in session.scalars(query)]


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
