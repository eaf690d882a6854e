"""Image versions in the workspace: the rules for image names, and the user-facing lookups.

The rows, their states and version numbers are kept by :mod:`dockyard.store.images`; the
functions here keep their names and take the workspace, until the callers call the store
directly (``create_version`` is ``images.add_version``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dockyard.errors import ImageNotFoundError, ValidationError
from dockyard.store import images
from dockyard.store.images import FAILED, NOT_STARTED, RUNNING, SUCCEEDED, ImageRecord

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

IMAGE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$")


def check_image_name(name: str) -> str:
    """Azure's rule: 3-32 characters, lowercase letters, digits, '-', '.', '_'."""
    if not isinstance(name, str) or not 3 <= len(name) <= 32 or not IMAGE_NAME.match(name):
        raise ValidationError(
            f"Invalid image name {name!r}: an image name has 3 to 32 characters: lowercase "
            "letters, digits, '-', '.' and '_', starting and ending with a letter or digit",
            hint="pick a name such as 'myimg' or 'diabetes-scoring'",
        )
    return name


def create_version(ws: Workspace, name: str, **values: Any) -> ImageRecord:
    """Insert the next version of ``name`` (state NotStarted) and return it."""
    return images.add_version(ws.store, check_image_name(name), **values)


def get(ws: Workspace, name: str, version: int | None = None) -> ImageRecord | None:
    return images.get(ws.store, name, version)


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
    return images.list_all(ws.store, name)


def names(ws: Workspace) -> list[str]:
    return images.names(ws.store)


def update(ws: Workspace, record_id: int, **values: Any) -> ImageRecord:
    """Set columns of one row; ``spec`` is merged into the stored spec."""
    return images.update(ws.store, record_id, **values)


def find_by_content(ws: Workspace, content_hash: str) -> ImageRecord | None:
    """The newest Succeeded image built from exactly this content (see ``content_hash``)."""
    return images.find_by_content(ws.store, content_hash)


def delete(ws: Workspace, record_id: int) -> None:
    images.delete(ws.store, record_id)


__all__ = [
    "FAILED",
    "IMAGE_NAME",
    "NOT_STARTED",
    "RUNNING",
    "SUCCEEDED",
    "ImageRecord",
    "check_image_name",
    "create_version",
    "delete",
    "find_by_content",
    "get",
    "list_all",
    "names",
    "require",
    "update",
]
