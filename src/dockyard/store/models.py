"""The ``models`` and ``model_files`` tables: model versions, their files, tags, deletion checks.

``assets/model.py`` (the user-facing ``Model``) calls these functions; they take plain values and
return plain records. Version numbers come from :func:`dockyard.store.versions.allocate`, so
concurrent registrations of one name get 1, 2, 3 ... with no gap or duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from dockyard.errors import ConflictError
from dockyard.store.db import Store
from dockyard.store.schema import ModelFileRow, ModelRow, ServiceRow
from dockyard.store.versions import allocate, lock_key

KIND = "model"
_FILE_BATCH = 1000


@dataclass(frozen=True)
class FileEntry:
    """One model file: POSIX path (starting with the model's root name), blob, size."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelRecord:
    """One registered model version (a plain copy of its row)."""

    id: int
    name: str
    version: int
    root: str
    is_folder: bool
    size: int
    file_count: int
    created_at: datetime
    description: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    framework: str | None = None
    framework_version: str | None = None


def _record(row: ModelRow) -> ModelRecord:
    return ModelRecord(
        id=row.id,
        name=row.name,
        version=row.version,
        root=row.root,
        is_folder=bool(row.is_folder),
        size=row.size or 0,
        file_count=row.file_count or 0,
        description=row.description,
        tags=dict(row.tags or {}),
        properties=dict(row.properties or {}),
        framework=row.framework,
        framework_version=row.framework_version,
        created_at=row.created_at,
    )


def add_version(
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
) -> ModelRecord:
    """Record the next version of model ``name`` (the files' blobs must already be stored)."""

    def add(session: Session, version: int) -> ModelRecord:
        row = ModelRow(
            name=name,
            version=version,
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
        return _record(row)

    return allocate(store, ModelRow, KIND, name, add)


def get(store: Store, name: str, version: int | None = None) -> ModelRecord | None:
    """Model ``name`` at ``version`` (latest when None), or None."""
    with store.session() as session:
        query = select(ModelRow).where(ModelRow.name == name)
        if version is not None:
            query = query.where(ModelRow.version == version)
        row = session.scalars(query.order_by(ModelRow.version.desc()).limit(1)).first()
        return _record(row) if row is not None else None


def list_all(
    store: Store, name: str | None = None, framework: str | None = None
) -> list[ModelRecord]:
    """Models ordered by name, then newest version first."""
    with store.session() as session:
        query = select(ModelRow)
        if name is not None:
            query = query.where(ModelRow.name == name)
        if framework is not None:
            query = query.where(ModelRow.framework == framework)
        rows = session.scalars(query.order_by(ModelRow.name, ModelRow.version.desc()))
        return [_record(row) for row in rows]


def versions(store: Store, name: str) -> list[int]:
    """The versions of model ``name``, oldest first."""
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
        return _services_using(session, model_id)


def _services_using(session: Session, model_id: str) -> list[str]:
    rows = session.execute(select(ServiceRow.name, ServiceRow.model_ids))
    return sorted(name for name, ids in rows if model_id in (ids or []))


def delete_version(store: Store, name: str, version: int) -> None:
    """Delete one model version, refused while a service uses it (checked under the lock)."""
    model_id = f"{name}:{version}"
    with store.session(write=True) as session:
        store.lock(session, lock_key(KIND, name))
        users = _services_using(session, model_id)
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
    """Every blob the model files refer to, with its size."""
    with store.session() as session:
        rows = session.execute(select(ModelFileRow.sha256, ModelFileRow.size))
        return {sha: size for sha, size in rows}


__all__ = [
    "FileEntry",
    "ModelRecord",
    "add_version",
    "delete_version",
    "files",
    "get",
    "list_all",
    "names",
    "referenced_blobs",
    "services_using",
    "update",
    "versions",
]
