"""Workspaces (a folder holding the model registry, metadata and secrets) and their key vault.

The API is Azure ML v1's ``azureml.core.Workspace``; cloud-only arguments (subscription, resource
group, location, auth, SKU...) are accepted so that ported code runs, and ignored with a debug log
line. Where a workspace lives on disk is described in ``dockyard/store/layout.py``.

``ws.models`` is a dict-like view (latest version by name). The other views (``ws.environments``,
``ws.images``, ``ws.webservices``) come from the module that owns the asset: such a module defines
``workspace_view(ws) -> Mapping`` and is listed in ``_VIEWS`` below.
"""

from __future__ import annotations

import importlib
import logging
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import ConflictError, DockyardError, WorkspaceNotFoundError
from dockyard.store import layout
from dockyard.store.blobs import BlobStore, VerifyReport
from dockyard.store.secrets import Keyvault, SecretFiles

if TYPE_CHECKING:
    from dockyard.store.db import Store

log = logging.getLogger(__name__)

DEFAULT_WORKSPACE = "default"
# attribute -> module defining workspace_view(ws)
_VIEWS = {
    "models": "dockyard.assets.model",
    "environments": "dockyard.assets.environment",
    "images": "dockyard.assets.image",
    "webservices": "dockyard.webservice",
}


def _ignored(**cloud_args: Any) -> None:
    given = {k: v for k, v in cloud_args.items() if v not in (None, False, "basic", "AzureCloud")}
    if given:
        log.debug("ignoring cloud-only workspace arguments: %s", ", ".join(sorted(given)))


class Workspace:
    """A dockyard workspace: model registry, environments, images, services and secrets.

    ``Workspace(subscription_id, resource_group, workspace_name)`` opens the workspace named
    ``workspace_name`` (the two cloud arguments are ignored), as azureml.core does.
    """

    def __init__(
        self,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        auth: Any = None,
        _location: str | None = None,
        _disable_service_check: bool = False,
        _workspace_id: str | None = None,
        sku: str = "basic",
        tags: dict[str, str] | None = None,
        _cloud: str = "AzureCloud",
        *,
        _folder: Path | str | None = None,
    ) -> None:
        _ignored(auth=auth, location=_location, sku=sku, tags=tags, cloud=_cloud)
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        if _folder is None:
            if workspace_name is None:
                raise WorkspaceNotFoundError(
                    "Workspace() needs a workspace_name.",
                    hint="Use Workspace.get(NAME), Workspace.from_config() or Workspace.create(NAME).",
                )
            _folder = _named_folder(layout.check_workspace_name(workspace_name))
        self.path = Path(_folder).resolve()
        meta_file = self.path / layout.WORKSPACE_FILE
        if not meta_file.is_file():
            raise WorkspaceNotFoundError(
                f"No dockyard workspace at {self.path} ({layout.WORKSPACE_FILE} is missing).",
                hint="Create it with Workspace.create(NAME, path=...) or `dockyard workspace create NAME --path ...`.",
            )
        self._meta = layout.read_json(meta_file)
        self.name: str = self._meta["name"]
        self.location = _location

    # --- construction ------------------------------------------------------------------------
    @staticmethod
    def create(
        name: str,
        path: str | Path | None = None,
        exist_ok: bool = True,
        *,
        database_url: str | None = None,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        create_resource_group: bool = True,
        sku: str = "basic",
        tags: dict[str, str] | None = None,
        friendly_name: str | None = None,
        storage_account: str | None = None,
        key_vault: str | None = None,
        app_insights: str | None = None,
        container_registry: str | None = None,
        show_output: bool = True,
        **cloud_only: Any,
    ) -> Workspace:
        """Create workspace ``name`` in ``path`` (default ``$DOCKYARD_HOME/workspaces/NAME``).

        Creating one that exists returns it (``exist_ok=True``) and never rewrites its data, keys
        or secrets; with ``exist_ok=False`` it raises ConflictError. ``database_url`` (else
        ``DOCKYARD_DATABASE_URL``) keeps the metadata in PostgreSQL instead of SQLite.
        """
        _ignored(
            auth=auth, location=location, sku=sku, tags=tags, friendly_name=friendly_name,
            storage_account=storage_account, key_vault=key_vault, app_insights=app_insights,
            container_registry=container_registry, **cloud_only,
        )  # fmt: skip
        from filelock import FileLock

        from dockyard.store.db import Store  # keeps `import dockyard.workspace` free of SQLAlchemy

        layout.check_workspace_name(name)
        known = layout.index_lookup(name)
        folder = (
            Path(path).expanduser().resolve() if path else (known or layout.default_folder(name))
        )
        if known and known != folder and (known / layout.WORKSPACE_FILE).is_file():
            raise ConflictError(
                f"Workspace name {name!r} is already used by the workspace at {known}; cannot create another at {folder}.",
                hint="Pick another name, or open the existing one with Workspace.get(NAME).",
            )
        with FileLock(str(layout.lock_file(folder, "workspace"))):
            meta_file = folder / layout.WORKSPACE_FILE
            if meta_file.is_file():
                existing = layout.read_json(meta_file).get("name")
                if existing != name:
                    raise ConflictError(
                        f"{folder} already holds workspace {existing!r}, not {name!r}.",
                        hint="Choose another path, or open it with Workspace.from_path(PATH).",
                    )
                if not exist_ok:
                    raise ConflictError(
                        f"Workspace {name!r} already exists at {folder}.",
                        hint="Pass exist_ok=True to open it (nothing is changed or deleted).",
                    )
                log.debug("workspace %s exists at %s: opening it unchanged", name, folder)
            else:
                url = database_url or os.environ.get("DOCKYARD_DATABASE_URL") or None
                ws_id = uuid.uuid4().hex
                schema = f"dy_{name.lower().replace('-', '_')}_{ws_id[:8]}" if url else None
                BlobStore(layout.blobs_dir(folder)).ensure()
                SecretFiles(layout.secrets_dir(folder)).ensure()
                store = Store.open(url or layout.sqlite_url(folder), schema=schema)
                store.dispose()
                meta = {
                    "format": layout.FORMAT,
                    "name": name,
                    "id": ws_id,
                    "created_at": datetime.now(UTC).isoformat(),
                    "database": {"url": url, "schema": schema},
                }
                layout.write_json_atomic(meta_file, meta, mode=0o600 if url else 0o644)
        layout.index_add(name, folder)
        ws = Workspace(subscription_id, resource_group, _folder=folder, _location=location)
        ws.store  # noqa: B018 - open now: upgrades an older schema, surfaces database errors
        return ws

    @staticmethod
    def get(
        name: str,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        cloud: str = "AzureCloud",
        id: str | None = None,
    ) -> Workspace:
        """Open the existing workspace ``name`` (WorkspaceNotFoundError if there is none)."""
        _ignored(auth=auth, location=location, cloud=cloud, id=id)
        folder = _named_folder(layout.check_workspace_name(name))
        return Workspace(subscription_id, resource_group, _folder=folder, _location=location)

    @staticmethod
    def from_path(path: str | Path) -> Workspace:
        """Open the workspace folder ``path``, or the one named by a config file at/above ``path``."""
        target = Path(path).expanduser().resolve()
        if (target / layout.WORKSPACE_FILE).is_file():
            return Workspace(_folder=target)
        if target.is_file() or target.is_dir():
            return Workspace.from_config(target)
        raise WorkspaceNotFoundError(
            f"Workspace path {target} does not exist.",
            hint="Pass a workspace folder (it holds workspace.json) or a project folder with .dockyard/config.json.",
        )

    @staticmethod
    def from_config(
        path: str | Path | None = None,
        auth: Any = None,
        _logger: logging.Logger | None = None,
        _file_name: str | None = None,
    ) -> Workspace:
        """Open the workspace named by the nearest config file (Azure ML v1 behaviour).

        ``path`` is a config file, or the folder to start from (default: the current folder).
        Looks for .dockyard/config.json, .azureml/config.json, aml_config/config.json and
        config.json in that folder and every parent. A v1 config naming a workspace that does not
        exist here yet creates it (under DOCKYARD_HOME), so ported scripts run as they are.
        """
        _ignored(auth=auth)
        start = Path(path).expanduser().resolve() if path is not None else Path.cwd()
        if start.is_file():
            found: Path | None = start
        elif _file_name and (start / _file_name).is_file():
            found = start / _file_name
        else:
            found, looked = layout.find_config(start)
            if found is None:
                raise layout.missing_config_error(looked)
        assert found is not None
        config = layout.read_config(found)
        (_logger or log).info("Found the config file in: %s", found)
        name = layout.check_workspace_name(config["workspace_name"])
        sub, group = config.get("subscription_id"), config.get("resource_group")
        if "path" in config:
            return Workspace(sub, group, _folder=config["path"])
        try:
            return Workspace.get(name, subscription_id=sub, resource_group=group)
        except WorkspaceNotFoundError:
            log.warning(
                "%s names workspace %r, which does not exist here: creating it", found, name
            )
            return Workspace.create(name, subscription_id=sub, resource_group=group)

    @staticmethod
    def find_config(path: str | Path | None = None) -> Path | None:
        """The config file :meth:`from_config` would read: the nearest one from ``path`` (default:
        the current folder) upward, or None when there is none."""
        start = Path(path).expanduser().resolve() if path is not None else Path.cwd()
        return layout.find_config(start)[0]

    @staticmethod
    def from_config_or_default() -> Workspace:
        """The workspace of the nearest config file, else the default workspace (created once)."""
        found, _ = layout.find_config(Path.cwd())
        if found is not None:
            return Workspace.from_config(found)
        return Workspace.create(DEFAULT_WORKSPACE, exist_ok=True)

    @staticmethod
    def list(
        subscription_id: str | None = None, auth: Any = None, resource_group: str | None = None
    ) -> dict[str, list[Workspace]]:
        """Every named workspace on this machine, as ``{name: [Workspace]}`` (Azure's shape)."""
        result: dict[str, list[Workspace]] = {}
        for name, folder in sorted(layout.index_all().items()):
            if (Path(folder) / layout.WORKSPACE_FILE).is_file():
                result[name] = [Workspace(subscription_id, resource_group, _folder=folder)]
        return result

    def write_config(self, path: str | Path | None = None, file_name: str | None = None) -> Path:
        """Write ``.dockyard/config.json`` in ``path`` (default: the current folder).

        ``Workspace.from_config()`` run from that folder or below then opens this workspace.
        """
        project = Path(path).expanduser().resolve() if path is not None else Path.cwd()
        name = file_name or "config.json"
        if not name.endswith(".json"):
            name += ".json"
        target = project / ".dockyard" / name
        try:
            folder = (
                os.path.relpath(self.path, project)
                if self.path.is_relative_to(project)
                else str(self.path)
            )
        except ValueError:
            folder = str(self.path)
        data = {
            "workspace_name": self.name,
            "path": folder,
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
        }
        layout.write_json_atomic(target, {k: v for k, v in data.items() if v is not None})
        return target

    # --- storage ------------------------------------------------------------------------------
    @cached_property
    def store(self) -> Store:
        """The metadata database (opened and upgraded on first use)."""
        from dockyard.store.db import Store  # keeps `import dockyard.workspace` free of SQLAlchemy

        url, schema = self.database_url, self._meta.get("database", {}).get("schema")
        return Store.open(url, schema=schema)

    @property
    def database_url(self) -> str:
        recorded = (self._meta.get("database") or {}).get("url")
        override = os.environ.get("DOCKYARD_DATABASE_URL")
        if recorded and override and override.startswith("postgres"):
            return override  # same database, new host or credentials
        if override and override != recorded:
            log.debug(
                "DOCKYARD_DATABASE_URL ignored: workspace %s keeps its own database", self.name
            )
        return recorded or layout.sqlite_url(self.path)

    @cached_property
    def blobs(self) -> BlobStore:
        """The content-addressed file store of this workspace."""
        return BlobStore(layout.blobs_dir(self.path))

    @property
    def id(self) -> str:
        return str(self._meta.get("id", ""))

    def get_default_keyvault(self) -> Keyvault:
        return Keyvault(self)

    def verify(self, *, full: bool = True) -> VerifyReport:
        """Check every blob the registered models refer to: damaged or missing ones make ``ok``
        False."""
        from dockyard.store import models  # keeps `import dockyard.workspace` free of SQLAlchemy

        return self.blobs.verify(models.referenced_blobs(self.store), full=full)

    def get_details(self) -> dict[str, Any]:
        db = self._meta.get("database") or {}
        from dockyard.store.db import redact  # keeps `import dockyard.workspace` free of SQLAlchemy

        return {
            "name": self.name,
            "id": self.id,
            "path": str(self.path),
            "created_at": self._meta.get("created_at"),
            "database": redact(self.database_url),
            "database_schema": db.get("schema"),
        }

    # --- views --------------------------------------------------------------------------------
    def _view(self, attribute: str) -> Mapping[str, Any]:
        module_name = _VIEWS[attribute]
        try:
            module = importlib.import_module(module_name)
            factory = module.workspace_view
        except (ModuleNotFoundError, AttributeError):
            raise DockyardError(
                f"ws.{attribute} is not available in this dockyard build ({module_name}.workspace_view is missing).",
                hint="Upgrade dockyard.",
            ) from None
        return factory(self)  # type: ignore[no-any-return]

    @property
    def models(self) -> Mapping[str, Any]:
        """Latest registered version of each model, by name."""
        return self._view("models")

    @property
    def environments(self) -> Mapping[str, Any]:
        return self._view("environments")

    @property
    def images(self) -> Mapping[str, Any]:
        return self._view("images")

    @property
    def webservices(self) -> Mapping[str, Any]:
        return self._view("webservices")

    def __repr__(self) -> str:
        return f"Workspace.create(name={self.name!r}, path={str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)


def _named_folder(name: str) -> Path:
    folder = layout.index_lookup(name) or layout.default_folder(name)
    if not (folder / layout.WORKSPACE_FILE).is_file():
        raise WorkspaceNotFoundError(
            f"Workspace {name!r} does not exist (looked in {folder}).",
            hint=f"Create it with Workspace.create({name!r}) or `dockyard workspace create {name}`.",
        )
    return folder


__all__ = ["DEFAULT_WORKSPACE", "Keyvault", "Workspace"]
