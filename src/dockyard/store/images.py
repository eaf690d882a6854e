"""The ``images`` table: image versions, their build state, location and build log.

Version numbers come from :func:`dockyard.store.versions.allocate`. States (Azure's names):
``NotStarted`` -> ``Running`` -> ``Succeeded`` | ``Failed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.errors import ImageNotFoundError
from dockyard.store.db import Store
from dockyard.store.schema import ImageRow
from dockyard.store.versions import allocate

KIND = "image"
NOT_STARTED, RUNNING, SUCCEEDED, FAILED = "NotStarted", "Running", "Succeeded", "Failed"


@dataclass
class ImageRecord:
    """One image version (a plain copy of its row)."""

    id: int
    name: str
    version: int
    state: str
    location: str | None
    build_log_path: str | None
    model_ids: list[str]
    environment_build_hash: str | None
    spec: dict[str, Any]
    description: str | None
    tags: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


def _record(row: ImageRow) -> ImageRecord:
    return ImageRecord(
        id=row.id,
        name=row.name,
        version=row.version,
        state=row.state,
        location=row.location,
        build_log_path=row.build_log_path,
        model_ids=list(row.model_ids or []),
        environment_build_hash=row.environment_build_hash,
        spec=dict(row.spec or {}),
        description=row.description,
        tags=dict(row.tags or {}),
        properties=dict(row.properties or {}),
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def add_version(store: Store, name: str, **values: Any) -> ImageRecord:
    """Insert the next version of ``name`` (state NotStarted) with the columns ``values``."""

    def add(session: Session, version: int) -> ImageRecord:
        row = ImageRow(name=name, version=version, state=NOT_STARTED, **values)
        session.add(row)
        session.flush()
        return _record(row)

    return allocate(store, ImageRow, KIND, name, add)


def get(store: Store, name: str, version: int | None = None) -> ImageRecord | None:
    """Image ``name`` at ``version`` (the latest when None), or None."""
    query = select(ImageRow).where(ImageRow.name == name)
    if version is not None:
        query = query.where(ImageRow.version == int(version))
    with store.session() as session:
        row = session.scalars(query.order_by(ImageRow.version.desc()).limit(1)).first()
        return _record(row) if row is not None else None


def list_all(store: Store, name: str | None = None) -> list[ImageRecord]:
    """Images by name, newest version first."""
    query = select(ImageRow)
    if name is not None:
        query = query.where(ImageRow.name == name)
    with store.session() as session:
        rows = session.scalars(query.order_by(ImageRow.name, ImageRow.version.desc())).all()
        return [_record(row) for row in rows]


def names(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(ImageRow.name).distinct().order_by(ImageRow.name)))


def update(store: Store, image_id: int, **values: Any) -> ImageRecord:
    """Set columns of one image; ``spec`` is merged into the stored spec."""
    with store.session(write=True) as session:
        row = session.get(ImageRow, image_id)
        if row is None:
            raise ImageNotFoundError(f"Image row {image_id} was deleted while in use")
        spec_update = values.pop("spec", None)
        if spec_update:
            row.spec = {**(row.spec or {}), **spec_update}
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()
        return _record(row)


def find_by_content(store: Store, content_hash: str) -> ImageRecord | None:
    """The newest Succeeded image built from exactly this content (``spec["content_hash"]``)."""
    for record in list_all(store):
        if record.state == SUCCEEDED and record.spec.get("content_hash") == content_hash:
            return record
    return None


def delete(store: Store, image_id: int) -> None:
    with store.session(write=True) as session:
        row = session.get(ImageRow, image_id)
        if row is not None:
            session.delete(row)


__all__ = [
    "FAILED",
    "NOT_STARTED",
    "RUNNING",
    "SUCCEEDED",
    "ImageRecord",
    "add_version",
    "delete",
    "find_by_content",
    "get",
    "list_all",
    "names",
    "update",
]
