"""SQL for the model registry: versions assigned atomically, files, tags, deletion checks.

``assets/model.py`` (the user-facing ``Model``) calls these functions; nothing else there knows
SQL. Version numbers are assigned inside one short write transaction that holds the database's
write lock (SQLite ``BEGIN IMMEDIATE``) or an advisory lock on the model name (PostgreSQL), so
concurrent registrations of one name get 1, 2, 3 ... with no gap or duplicate. The unique
constraint on (name, version) backs this up: a collision is retried, never stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from dockyard.errors import ConflictError
from dockyard.store.db import Store
from dockyard.store.schema import ModelFileRow, ModelRow, ServiceRow

_FILE_BATCH = 1000
_RETRIES = 5


@dataclass(frozen=True)
class FileEntry:
    """One model file: POSIX path (starting with the model's root name), blob, size."""

    path: str
    sha256: str
    size: int


def register(
    store: Store,
    *,
    name: str,
    root: str,
    is_folder: bool,
    files: Sequence[FileEntry],
    tags: dict[str, Any],
    properties: dict[str, Any],
    description: str | None,
    framework: str | None,
    framework_version: str | None,
) -> ModelRow:
    """Record a new version of model ``name`` (the files' blobs must already be stored)."""
    for attempt in range(_RETRIES):
        try:
            with store.session(write=True) as session:
                store.lock(session, f"model:{name}")
                latest = session.scalar(
                    select(func.max(ModelRow.version)).where(ModelRow.name == name)
                )
                row = ModelRow(
                    name=name,
                    version=(latest or 0) + 1,
                    root=root,
                    is_folder=is_folder,
                    size=sum(f.size for f in files),
                    file_count=len(files),
                    tags=dict(tags),
                    properties=dict(properties),
                    description=description,
                    framework=framework,
                    framework_version=framework_version,
                )
                session.add(row)
                session.flush()
                for start in range(0, len(files), _FILE_BATCH):
                    session.execute(
                        insert(ModelFileRow),
                        [
                            {"model_id": row.id, "path": f.path, "sha256": f.sha256, "size": f.size}
                            for f in files[start : start + _FILE_BATCH]
                        ],
                    )
            return row
        except SQLIntegrityError:
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def get(store: Store, name: str, version: int | None = None) -> ModelRow | None:
    """Model ``name`` at ``version`` (latest when None), or None."""
    with store.session() as session:
        query = select(ModelRow).where(ModelRow.name == name)
        if version is not None:
            query = query.where(ModelRow.version == version)
        return session.scalars(query.order_by(ModelRow.version.desc()).limit(1)).first()


def list_rows(
    store: Store, name: str | None = None, framework: str | None = None
) -> list[ModelRow]:
    """Models ordered by name, then newest version first."""
    with store.session() as session:
        query = select(ModelRow)
        if name is not None:
            query = query.where(ModelRow.name == name)
        if framework is not None:
            query = query.where(ModelRow.framework == framework)
        return list(session.scalars(query.order_by(ModelRow.name, ModelRow.version.desc())))


def versions(store: Store, name: str) -> list[int]:
    with store.session() as session:
        return list(
            session.scalars(
                select(ModelRow.version).where(ModelRow.name == name).order_by(ModelRow.version)
            )
        )


def names(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(ModelRow.name).distinct().order_by(ModelRow.name)))


def files(store: Store, model_id: int) -> list[FileEntry]:
    with store.session() as session:
        rows = session.execute(
            select(ModelFileRow.path, ModelFileRow.sha256, ModelFileRow.size)
            .where(ModelFileRow.model_id == model_id)
            .order_by(ModelFileRow.path)
        )
        return [FileEntry(path, sha, size) for path, sha, size in rows]


def update(
    store: Store, model_id: int, *, tags: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None, description: str | None = None,
) -> None:  # fmt: skip
    with store.session(write=True) as session:
        row = session.get(ModelRow, model_id)
        if row is None:
            return
        if tags is not None:
            row.tags = dict(tags)
        if properties is not None:
            row.properties = dict(properties)
        if description is not None:
            row.description = description


def services_using(store: Store, model_id: str) -> list[str]:
    """Names of the services whose ``model_ids`` contain ``model_id`` ("name:version")."""
    with store.session() as session:
        rows = session.execute(select(ServiceRow.name, ServiceRow.model_ids))
        return sorted(name for name, ids in rows if model_id in (ids or []))


def delete_version(store: Store, name: str, version: int) -> None:
    """Delete one model version, refused while a service uses it (checked under the lock)."""
    model_id = f"{name}:{version}"
    with store.session(write=True) as session:
        store.lock(session, f"model:{name}")
        users = sorted(
            svc
            for svc, ids in session.execute(select(ServiceRow.name, ServiceRow.model_ids))
            if model_id in (ids or [])
        )
        if users:
            raise ConflictError(
                f"Model {model_id} is used by service(s) {', '.join(users)}, so it cannot be deleted.",
                hint="Delete or update those services first (`dockyard service delete NAME`).",
            )
        row = session.scalar(
            select(ModelRow).where(ModelRow.name == name, ModelRow.version == version)
        )
        if row is not None:
            session.execute(delete(ModelFileRow).where(ModelFileRow.model_id == row.id))
            session.execute(delete(ModelRow).where(ModelRow.id == row.id))


def referenced_blobs(store: Store) -> dict[str, int]:
    """Every blob the registry refers to, with its size."""
    with store.session() as session:
        rows = session.execute(select(ModelFileRow.sha256, ModelFileRow.size))
        return {sha: size for sha, size in rows}


__all__ = [
    "FileEntry",
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
