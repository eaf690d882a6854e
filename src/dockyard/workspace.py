"""Workspaces (a folder holding the model registry, metadata and secrets) and their key vault.

The API is Azure ML v1's ``azureml.core.Workspace``; cloud-only arguments (subscription, resource
group, location, auth, SKU...) are accepted so that ported code runs, and ignored with a debug log
line. Where a workspace lives on disk is described in ``dockyard/store/layout.py``.

``ws.models``, ``ws.environments``, ``ws.images`` and ``ws.webservices`` are dict-like views
(latest version by name) defined beside the asset they list. The folder, its database and blob
store are opened by ``store/workspace_storage.py``, which ``Model.get_model_path`` also uses to
open a configured workspace without this class.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import ConflictError, WorkspaceNotFoundError
from dockyard.store import layout
from dockyard.store.blobs import BlobStore, VerifyReport
from dockyard.store.secrets import Keyvault, SecretFiles
from dockyard.store.workspace_storage import WorkspaceStorage

if TYPE_CHECKING:
    from dockyard.assets.environment import EnvironmentsView
    from dockyard.assets.image import ImagesView
    from dockyard.assets.model import ModelsView
    from dockyard.compute import ComputeTarget
    from dockyard.store.db import Store
    from dockyard.webservice import WebservicesView

log = logging.getLogger(__name__)

DEFAULT_WORKSPACE = "default"


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
            _folder = layout.named_folder(layout.check_workspace_name(workspace_name))
        self._storage = WorkspaceStorage(_folder)
        self.path = self._storage.path
        self.name: str = self._storage.name
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
        folder = layout.named_folder(layout.check_workspace_name(name))
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
    @property
    def store(self) -> Store:
        """The metadata database (opened and upgraded on first use)."""
        return self._storage.store

    @property
    def database_url(self) -> str:
        return self._storage.database_url

    @property
    def blobs(self) -> BlobStore:
        """The content-addressed file store of this workspace."""
        return self._storage.blobs

    @property
    def id(self) -> str:
        return str(self._storage.meta.get("id", ""))

    def get_default_keyvault(self) -> Keyvault:
        return Keyvault(self)

    def verify(self, *, full: bool = True) -> VerifyReport:
        """Check every blob the registered models refer to: damaged or missing ones make ``ok``
        False."""
        from dockyard.store import models  # keeps `import dockyard.workspace` free of SQLAlchemy

        return self.blobs.verify(models.referenced_blobs(self.store), full=full)

    def get_details(self) -> dict[str, Any]:
        from dockyard.store.db import redact  # keeps `import dockyard.workspace` free of SQLAlchemy

        return {
            "name": self.name,
            "id": self.id,
            "path": str(self.path),
            "created_at": self._storage.meta.get("created_at"),
            "database": redact(self.database_url),
            "database_schema": self._storage.database_schema,
        }

    # --- views --------------------------------------------------------------------------------
    @property
    def models(self) -> ModelsView:
        """Latest registered version of each model, by name."""
        from dockyard.assets.model import ModelsView  # keeps `import dockyard.workspace` light

        return ModelsView(self)

    @property
    def environments(self) -> EnvironmentsView:
        """Latest registered version of each environment, by name."""
        from dockyard.assets.environment import EnvironmentsView  # keeps the import light

        return EnvironmentsView(self)

    @property
    def images(self) -> ImagesView:
        """Latest version of each image, by name (any state)."""
        from dockyard.assets.image import ImagesView  # keeps `import dockyard.workspace` light

        return ImagesView(self)

    @property
    def webservices(self) -> WebservicesView:
        """Every service of this workspace, by name (always current)."""
        from dockyard.webservice import WebservicesView  # keeps `import dockyard.workspace` light

        return WebservicesView(self)

    @property
    def compute_targets(self) -> dict[str, ComputeTarget]:
        """The workspace's compute targets (Ray clusters, created or attached), by name."""
        from dockyard.compute import compute_targets  # keeps `import dockyard.workspace` light

        return compute_targets(self)

    def __repr__(self) -> str:
        return f"Workspace.create(name={self.name!r}, path={str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)


__all__ = ["DEFAULT_WORKSPACE", "Keyvault", "Workspace"]
