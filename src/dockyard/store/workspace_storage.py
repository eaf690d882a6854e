"""A workspace's storage opened from its folder: ``workspace.json``, the database, the blobs.

``Workspace`` (the user object) keeps one and hands out its ``store`` and ``blobs``. Code below
the user objects that has to open a workspace by itself (``Model.get_model_path`` run in a
project folder with no workspace given) opens the one a project config names with
:func:`open_configured`, without the ``Workspace`` class and the views it imports.
"""

from __future__ import annotations

import logging
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import WorkspaceNotFoundError
from dockyard.store import layout
from dockyard.store.blobs import BlobStore

if TYPE_CHECKING:
    from dockyard.store.db import Store

log = logging.getLogger(__name__)


class WorkspaceStorage:
    """The folder of a workspace, what its ``workspace.json`` says, its database and blobs."""

    def __init__(self, folder: Path | str) -> None:
        self.path = Path(folder).resolve()
        meta_file = self.path / layout.WORKSPACE_FILE
        if not meta_file.is_file():
            raise WorkspaceNotFoundError(
                f"No dockyard workspace at {self.path} ({layout.WORKSPACE_FILE} is missing).",
                hint="Create it with Workspace.create(NAME, path=...) or `dockyard workspace create NAME --path ...`.",
            )
        self.meta = layout.read_json(meta_file)
        self.name: str = self.meta["name"]

    @property
    def database_url(self) -> str:
        """The recorded database (``DOCKYARD_DATABASE_URL`` may move a PostgreSQL one), else
        the workspace's SQLite file."""
        recorded = (self.meta.get("database") or {}).get("url")
        override = os.environ.get("DOCKYARD_DATABASE_URL")
        if recorded and override and override.startswith("postgres"):
            return override  # same database, new host or credentials
        if override and override != recorded:
            log.debug(
                "DOCKYARD_DATABASE_URL ignored: workspace %s keeps its own database", self.name
            )
        return recorded or layout.sqlite_url(self.path)

    @property
    def database_schema(self) -> str | None:
        """The PostgreSQL schema holding this workspace's tables (None with SQLite)."""
        schema = (self.meta.get("database") or {}).get("schema")
        return schema if isinstance(schema, str) else None

    @cached_property
    def store(self) -> Store:
        """The metadata database (opened and upgraded on first use)."""
        from dockyard.store.db import Store  # keeps `import dockyard.workspace` free of SQLAlchemy

        return Store.open(self.database_url, schema=self.database_schema)

    @cached_property
    def blobs(self) -> BlobStore:
        """The content-addressed file store."""
        return BlobStore(layout.blobs_dir(self.path))


def open_configured(config: Path) -> WorkspaceStorage:
    """The storage of the workspace that project config file ``config`` names
    (WorkspaceNotFoundError when that workspace does not exist on this machine)."""
    data = layout.read_config(config)
    if "path" in data:
        return WorkspaceStorage(data["path"])
    name = layout.check_workspace_name(data["workspace_name"])
    return WorkspaceStorage(layout.named_folder(name))


__all__ = ["WorkspaceStorage", "open_configured"]
