"""Finding registered models for ``Model``: by name, id (``name:version``), version, tags,
properties and framework, and laying a version's files out read-only on this machine
(``Model.local_path`` and ``Model.get_model_path`` outside a deployment).

``home`` is a ``Workspace`` or, for ``get_model_path`` with no workspace given, the storage of the
configured one (``store/workspace_storage.py``): both have ``name``, ``path``, ``store`` and
``blobs``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dockyard.assets._model_rules import check_model_name
from dockyard.assets.filters import filters, matches
from dockyard.errors import ModelNotFoundError, ValidationError
from dockyard.store import layout, model_files
from dockyard.store import models as model_store

if TYPE_CHECKING:
    from dockyard.store.models import FileEntry, ModelRecord
    from dockyard.store.workspace_storage import WorkspaceStorage
    from dockyard.workspace import Workspace

log = logging.getLogger("dockyard.assets.model")


def matching(
    home: Workspace | WorkspaceStorage, name: str | None, tags: Any, properties: Any,
    framework: str | None, latest: bool = False,
) -> list[ModelRecord]:  # fmt: skip
    """Versions matching every filter, by name then newest version first (``latest``: only the
    newest matching version of each name)."""
    tag_filter, prop_filter = filters(tags, "tags"), filters(properties, "properties")
    result, seen = [], set()
    for row in model_store.list_all(home.store, name=name, framework=framework):
        if latest and row.name in seen:
            continue
        if matches(row.tags or {}, tag_filter) and matches(row.properties or {}, prop_filter):
            seen.add(row.name)
            result.append(row)
    return result


def find(
    home: Workspace | WorkspaceStorage, name: str | None, model_id: str | None, tags: Any,
    properties: Any, version: int | None, framework: str | None,
) -> ModelRecord:  # fmt: skip
    """The one version ``Model(ws, name, id, ...)`` names: the newest that matches."""
    if model_id:
        name, sep, ver = model_id.rpartition(":")
        if not sep or not ver.isdigit():
            raise ValidationError(
                f"Invalid model id {model_id!r}: expected 'name:version', e.g. 'diabetes:3'.",
            )
        version = int(ver)
    if not name:
        raise ValidationError("Model() needs a name or an id ('name:version').")
    check_model_name(name)
    row: ModelRecord | None
    if version is not None and not tags and not properties and not framework:
        row = model_store.get(home.store, name, int(version))
    else:
        found = matching(home, name, tags, properties, framework)
        found = [r for r in found if version is None or r.version == int(version)]
        row = found[0] if found else None
    if row is None:
        raise not_found(home, name, version)
    return row


def not_found(
    home: Workspace | WorkspaceStorage, name: str, version: int | None
) -> ModelNotFoundError:
    known = model_store.versions(home.store, name)
    what = f"{name}:{version}" if version is not None else name
    detail = f"existing versions: {known}" if known else "no model of that name is registered"
    return ModelNotFoundError(
        f"Model {what!r} not found in workspace {home.name!r} ({detail}).",
        hint="List models with `dockyard model list` or Model.list(ws).",
    )


def lay_out(
    home: Workspace | WorkspaceStorage, row: ModelRecord, files: Sequence[FileEntry]
) -> str:
    """Version ``row``'s files, laid out read-only under the workspace; their path."""
    folder = layout.model_dir(home.path, row.name, row.version)
    model_files.materialize(home.blobs, files, folder)
    return str(folder / row.root)


def registered_path(home: Workspace | WorkspaceStorage, name: str, version: int | None) -> str:
    """Where registered model ``name`` (latest version when ``version`` is None) is laid out
    on this machine."""
    check_model_name(name)
    row = model_store.get(home.store, name, version)
    if row is None:
        raise not_found(home, name, version)
    path = lay_out(home, row, model_store.files(home.store, row.id))
    log.debug("get_model_path: %s:%s is at %s", row.name, row.version, path)
    return path
