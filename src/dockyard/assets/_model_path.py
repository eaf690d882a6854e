"""``Model.get_model_path``: where a model's files are, inside a deployment or on this machine.

Inside a deployment (``AZUREML_MODEL_DIR`` or ``AML_APP_ROOT`` set) it follows azureml-core's
rules: ``<app_root>/azureml-models/<name>/<version>/`` (latest version when none is given) must
hold one file or folder, whose path is returned. Outside, the model is laid out read-only from the
workspace's registry: the workspace given, else the one the nearest project config names, opened
through ``store/workspace_storage.py`` (this module never needs the ``Workspace`` class). With logging at DEBUG every candidate path tried is logged; the error names
them and lists what is there.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.assets._model_lookup import registered_path
from dockyard.errors import ModelNotFoundError, ValidationError, WorkspaceNotFoundError
from dockyard.server import contract
from dockyard.store import layout
from dockyard.store.workspace_storage import open_configured

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

log = logging.getLogger("dockyard.assets.model")


def _models_dir() -> Path | None:
    model_dir = os.environ.get(contract.MODEL_DIR_ENV)
    app_root = os.environ.get(contract.APP_ROOT_ENV)
    if app_root:
        return Path(app_root) / "azureml-models"
    if model_dir:
        path = Path(model_dir)
        return path if path.name == "azureml-models" else path.parent.parent
    return None


def _listing(folder: Path) -> str:
    if not folder.is_dir():
        return f"{folder} does not exist"
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))[:50]
    return f"{folder} holds: " + (", ".join(files) if files else "(nothing)")


def _in_layout(models_dir: Path, name: str, version: int | None, tried: list[Path]) -> str | None:
    base = models_dir / name
    tried.append(base)
    log.debug("get_model_path: trying %s", base)
    if not base.is_dir():
        return None
    if version is None:
        versions = [int(p.name) for p in base.iterdir() if p.name.isdigit()]
        if not versions:
            return None
        version = max(versions)
    folder = base / str(version)
    tried.append(folder)
    log.debug("get_model_path: trying %s", folder)
    if not folder.is_dir():
        return None
    entries = sorted(folder.iterdir())
    if len(entries) != 1:
        raise ModelNotFoundError(
            f"Model folder {folder} must hold exactly one file or folder, found {[e.name for e in entries]}.",
            hint="Each registered model version is one file or one folder.",
        )
    return str(entries[0])


def resolve(name: str, version: int | None, workspace: Workspace | None) -> str:
    """The path of model ``name``: in the deployment's layout, else laid out from the registry
    of ``workspace`` or of the workspace the nearest project config names."""
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ValidationError(f"get_model_path: version must be an int, got {version!r}.")
    tried: list[Path] = []
    models_dir = _models_dir()
    if models_dir is not None and workspace is None:
        found = _in_layout(models_dir, name, version, tried)
        if found:
            return found
        raise ModelNotFoundError(
            f"Model {name!r} (version {version or 'latest'}) not found; looked in "
            f"{', '.join(map(str, tried))}. {_listing(models_dir)}",
            hint="Check the model names passed to Model.deploy; set logging to DEBUG to see every path tried.",
        )
    if workspace is None:
        local = Path.cwd() / "azureml-models"
        found = _in_layout(local, name, version, tried) if local.is_dir() else None
        if found:
            return found
        config, _ = layout.find_config(Path.cwd())
        if config is None:
            tried.append(Path.cwd() / name)
            if (Path.cwd() / name).exists():
                return str(Path.cwd() / name)
            raise ModelNotFoundError(
                f"Model {name!r} not found: no workspace was given and none is configured; "
                f"looked in {', '.join(map(str, tried))}.",
                hint="Pass _workspace=ws, or run from a folder with .dockyard/config.json.",
            )
        try:
            configured = open_configured(config)
        except WorkspaceNotFoundError as exc:
            raise ModelNotFoundError(
                f"Model {name!r} not found: {config} names a workspace that does not exist "
                f"on this machine ({exc.message}).",
                hint="Pass _workspace=ws, or point the config at a workspace: ws.write_config().",
            ) from exc
        return registered_path(configured, name, version)
    return registered_path(workspace, name, version)
