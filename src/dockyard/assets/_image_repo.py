"""Image rows in the workspace store (``images`` table): versions, state, location, build log.

Versions 1, 2, 3 ... per name are assigned atomically, as for environments: the writer holds the
store's write lock (SQLite) or an advisory lock (PostgreSQL), and the unique constraint on
(name, version) makes a writer that loses a race retry with the next number.

States (Azure's names): ``NotStarted`` -> ``Running`` -> ``Succeeded`` | ``Failed``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dockyard.errors import ConflictError, ImageNotFoundError, ValidationError

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

NOT_STARTED, RUNNING, SUCCEEDED, FAILED = "NotStarted", "Running", "Succeeded", "Failed"
IMAGE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$")
_ATTEMPTS = 8


def check_image_name(name: str) -> str:
    """Azure's rule: 3-32 characters, lowercase letters, digits, '-', '.', '_'."""
    if not isinstance(name, str) or not 3 <= len(name) <= 32 or not IMAGE_NAME.match(name):
        raise ValidationError(
            f"Invalid image name {name!r}: an image name has 3 to 32 characters: lowercase "
            "letters, digits, '-', '.' and '_', starting and ending with a letter or digit",
            hint="pick a name such as 'myimg' or 'diabetes-scoring'",
        )
    return name


@dataclass
class ImageRecord:
    """A plain copy of an image row (safe to use after the session closes)."""

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

    @classmethod
    def from_row(cls, row: Any) -> ImageRecord:
        return cls(
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


def create_version(ws: Workspace, name: str, **values: Any) -> ImageRecord:
    """Insert the next version of ``name`` (state NotStarted) and return it."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import IntegrityError as DuplicateKey

    from dockyard.store.schema import ImageRow

    check_image_name(name)
    for attempt in range(_ATTEMPTS):
        try:
            with ws.store.session(write=True) as session:
                ws.store.lock(session, f"image:{name}")
                latest = session.scalar(
                    select(func.max(ImageRow.version)).where(ImageRow.name == name)
                )
                row = ImageRow(name=name, version=(latest or 0) + 1, state=NOT_STARTED, **values)
                session.add(row)
                session.flush()
                return ImageRecord.from_row(row)
        except DuplicateKey:
            time.sleep(0.01 * (attempt + 1))
    raise ConflictError(
        f"Could not create image {name!r}: {_ATTEMPTS} attempts lost the race for the next "
        "version number to other processes",
        hint="retry; if it keeps failing, check for a runaway script",
    )


def get(ws: Workspace, name: str, version: int | None = None) -> ImageRecord | None:
    from sqlalchemy import select

    from dockyard.store.schema import ImageRow

    query = select(ImageRow).where(ImageRow.name == name)
    if version is not None:
        query = query.where(ImageRow.version == int(version))
    with ws.store.session() as session:
        row = session.scalars(query.order_by(ImageRow.version.desc()).limit(1)).first()
        return ImageRecord.from_row(row) if row else None


def require(ws: Workspace, name: str, version: int | None = None) -> ImageRecord:
    record = get(ws, name, version)
    if record is None:
        known = [r.version for r in list_all(ws, name)]
        what = f"{name}:{version}" if version is not None else name
        detail = f"existing versions: {sorted(known)}" if known else "no image of that name"
        raise ImageNotFoundError(
            f"Image {what!r} not found in workspace {ws.name!r} ({detail})",
            hint="list images with `dockyard image list` or Image.list(ws)",
        )
    return record


def list_all(ws: Workspace, name: str | None = None) -> list[ImageRecord]:
    """Rows by name, newest version first."""
    from sqlalchemy import select

    from dockyard.store.schema import ImageRow

    query = select(ImageRow)
    if name is not None:
        query = query.where(ImageRow.name == name)
    with ws.store.session() as session:
        rows = session.scalars(query.order_by(ImageRow.name, ImageRow.version.desc())).all()
        return [ImageRecord.from_row(row) for row in rows]


def names(ws: Workspace) -> list[str]:
    from sqlalchemy import select

    from dockyard.store.schema import ImageRow

    with ws.store.session() as session:
        return list(session.scalars(select(ImageRow.name).distinct().order_by(ImageRow.name)))


def update(ws: Workspace, record_id: int, **values: Any) -> ImageRecord:
    """Set columns of one row; ``spec`` is merged into the stored spec."""
    from sqlalchemy import select

    from dockyard.store.schema import ImageRow

    with ws.store.session() as session:
        row = session.scalar(select(ImageRow).where(ImageRow.id == record_id))
        if row is None:
            raise ImageNotFoundError(f"Image row {record_id} was deleted while in use")
        spec_update = values.pop("spec", None)
        if spec_update:
            row.spec = {**(row.spec or {}), **spec_update}
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()
        return ImageRecord.from_row(row)


def find_by_content(ws: Workspace, content_hash: str) -> ImageRecord | None:
    """The newest Succeeded image built from exactly this content (see ``content_hash``)."""
    for record in list_all(ws):
        if record.state == SUCCEEDED and record.spec.get("content_hash") == content_hash:
            return record
    return None


def delete(ws: Workspace, record_id: int) -> None:
    from sqlalchemy import select

    from dockyard.store.schema import ImageRow

    with ws.store.session() as session:
        row = session.scalar(select(ImageRow).where(ImageRow.id == record_id))
        if row is not None:
            session.delete(row)
