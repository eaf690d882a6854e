"""Image versions as the operations and the user objects read them: the rule for image names,
lookups that say what exists, and what a record's location and build log are.

The rows, their states and version numbers are kept by :mod:`dockyard.store.images`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import ImageNotFoundError, ValidationError
from dockyard.store import images
from dockyard.store.images import FAILED, NOT_STARTED, RUNNING, SUCCEEDED, ImageRecord

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

IMAGE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$")


def check_name(name: str) -> str:
    """Azure's rule: 3-32 characters, lowercase letters, digits, '-', '.', '_'."""
    if not isinstance(name, str) or not 3 <= len(name) <= 32 or not IMAGE_NAME.match(name):
        raise ValidationError(
            f"Invalid image name {name!r}: an image name has 3 to 32 characters: lowercase "
            "letters, digits, '-', '.' and '_', starting and ending with a letter or digit",
            hint="pick a name such as 'myimg' or 'diabetes-scoring'",
        )
    return name


def get(ws: Workspace, name: str, version: int | None = None) -> ImageRecord | None:
    """Image ``name`` at ``version`` (the latest when None), or None."""
    return images.get(ws.store, name, version)


def require(ws: Workspace, name: str, version: int | None = None) -> ImageRecord:
    """Image ``name`` at ``version`` (the latest when None); not found says what exists."""
    record = get(ws, name, version)
    if record is None:
        known = [r.version for r in images.list_all(ws.store, name)]
        what = f"{name}:{version}" if version is not None else name
        detail = f"existing versions: {sorted(known)}" if known else "no image of that name"
        raise ImageNotFoundError(
            f"Image {what!r} not found in workspace {ws.name!r} ({detail})",
            hint="list images with `dockyard image list` or Image.list(ws)",
        )
    return record


def list_all(ws: Workspace, name: str | None = None) -> list[ImageRecord]:
    """Image versions by name, newest version first."""
    return images.list_all(ws.store, name)


def names(ws: Workspace) -> list[str]:
    return images.names(ws.store)


def update(ws: Workspace, record: ImageRecord, **values: object) -> ImageRecord:
    """Set columns of the image's row (``tags``, ``description`` ...); the stored record back."""
    return images.update(ws.store, record.id, **values)


def image_id(record: ImageRecord) -> str:
    """``name:version``."""
    return f"{record.name}:{record.version}"


def location(record: ImageRecord) -> str:
    """``<registry>/<name>:<version>``, or the engine-local tag; known once the build starts."""
    return record.location or str(record.spec.get("planned_location") or "")


def build_log_uri(record: ImageRecord) -> str:
    """``file://`` URI of the full build log kept in the workspace."""
    path = record.build_log_path
    return Path(path).resolve().as_uri() if path else ""


__all__ = [
    "FAILED",
    "IMAGE_NAME",
    "NOT_STARTED",
    "RUNNING",
    "SUCCEEDED",
    "ImageRecord",
    "build_log_uri",
    "check_name",
    "get",
    "image_id",
    "list_all",
    "location",
    "names",
    "require",
    "update",
]
