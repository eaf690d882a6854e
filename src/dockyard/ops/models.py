"""Registered models as the operations need them: plain :class:`ModelSpec` s by id.

The deploy flow and image builds take models as ``"name:version"`` ids (what records keep) and
need every file with the path of its stored blob; this reads both from the store, so that
nothing below the user objects needs the ``Model`` class.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from dockyard.builders.specs import ModelFileSpec, ModelSpec
from dockyard.errors import ModelNotFoundError, ValidationError
from dockyard.store import models

if TYPE_CHECKING:
    from dockyard.workspace import Workspace


def spec(ws: Workspace, model_id: str) -> ModelSpec:
    """The spec of registered model ``model_id`` (``"name:version"``)."""
    name, sep, version = model_id.rpartition(":")
    if not sep or not name or not version.isdigit():
        raise ValidationError(
            f"Invalid model id {model_id!r}: expected 'name:version', e.g. 'diabetes:3'.",
        )
    record = models.get(ws.store, name, int(version))
    if record is None:
        known = models.versions(ws.store, name)
        detail = f"existing versions: {known}" if known else "no model of that name is registered"
        raise ModelNotFoundError(
            f"Model {model_id!r} not found in workspace {ws.name!r} ({detail}).",
            hint="List models with `dockyard model list` or Model.list(ws).",
        )
    files = tuple(
        ModelFileSpec(
            relative_path=f.path,
            blob_path=ws.blobs.blob_path(f.sha256),
            sha256=f.sha256,
            size=f.size,
        )
        for f in models.files(ws.store, record.id)
    )
    return ModelSpec(name=record.name, version=record.version, files=files)


def specs(ws: Workspace, model_ids: Iterable[str]) -> list[ModelSpec]:
    """The specs of ``model_ids``, in order."""
    return [spec(ws, model_id) for model_id in model_ids]


__all__ = ["spec", "specs"]
