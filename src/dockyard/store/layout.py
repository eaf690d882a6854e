"""Where workspaces live on disk, and how a project's config file points to one.

A workspace is a folder::

    workspace.json   name, id, creation time, where the metadata database is (written once)
    metadata.db      SQLite metadata (absent when the workspace uses PostgreSQL)
    blobs/           content-addressed model files (see store/blobs.py)
    secrets/         the key vault: one owner-only file per secret
    models/          registered models materialized read-only for get_model_path()
    locks/           inter-process lock files
    services/NAME/   one folder per service: app roots, logs, runtime files
    envs/            built Python environments (DOCKYARD_ENV_CACHE moves them elsewhere)
    images/NAME/V/   an image version's build context and build log
    packages/        Model.package() outputs
    settings.json    workspace settings (image registry, base image)

The functions under "the folders of a workspace" below are the only place that spells these
names; everything else asks them for a path.

Named workspaces are listed in ``$DOCKYARD_HOME/workspaces.json`` (name -> folder); a workspace
created without a path lives in ``$DOCKYARD_HOME/workspaces/<name>``. ``DOCKYARD_HOME`` defaults to
``~/.dockyard``. A project points to its workspace with ``.dockyard/config.json`` (or Azure ML v1's
``.azureml/config.json`` / ``config.json``); files inside ``DOCKYARD_HOME`` are never taken for a
project config.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from dockyard.errors import ValidationError, WorkspaceNotFoundError

WORKSPACE_FILE = "workspace.json"
METADATA_DB = "metadata.db"
BLOBS, SECRETS, MODELS, LOCKS = "blobs", "secrets", "models", "locks"
SERVICES, ENVS, IMAGES, PACKAGES = "services", "envs", "images", "packages"
#: Created compute targets (a local Ray cluster's record and pids): ``computes/NAME``.
COMPUTES = "computes"
SETTINGS_FILE = "settings.json"
#: Where built environments go instead of ``<workspace>/envs`` (shared between workspaces).
ENV_CACHE_VAR = "DOCKYARD_ENV_CACHE"
#: What a workspace folder holds besides a user's files (a workspace may be a project folder).
WORKSPACE_ENTRIES = frozenset(
    {
        WORKSPACE_FILE,
        METADATA_DB,
        f"{METADATA_DB}-wal",
        f"{METADATA_DB}-shm",
        BLOBS,
        SECRETS,
        MODELS,
        LOCKS,
        SERVICES,
        COMPUTES,
        ENVS,
        IMAGES,
    }
)
FORMAT = 1
#: Azure's workspace name rule: 2-33 characters, letters, digits, '-' and '_', starting alphanumeric.
WORKSPACE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,32}$")
#: Config files looked for in each folder, nearest folder first, in this order.
CONFIG_CANDIDATES = (
    ".dockyard/config.json",
    ".azureml/config.json",
    "aml_config/config.json",
    "config.json",
)


def dockyard_home() -> Path:
    """``$DOCKYARD_HOME``, default ``~/.dockyard`` (absolute, not created here)."""
    raw = os.environ.get("DOCKYARD_HOME")
    return Path(raw).expanduser().resolve() if raw else (Path.home() / ".dockyard").resolve()


def check_workspace_name(name: object) -> str:
    if not isinstance(name, str) or not WORKSPACE_NAME_RE.match(name):
        raise ValidationError(
            f"Invalid workspace name {name!r}: use 2 to 33 letters, digits, '-' or '_', "
            "starting with a letter or digit.",
            hint="Pick a name such as 'my-workspace'.",
        )
    return name


def default_folder(name: str) -> Path:
    return dockyard_home() / "workspaces" / name


def write_json_atomic(path: Path, data: Any, *, mode: int = 0o644) -> None:
    """Write JSON to ``path`` through a temporary file, flushed, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).",
            hint="Fix or remove the file.",
        ) from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{path} must hold a JSON object, found {type(data).__name__}.")
    return data


# --- the folders of a workspace -----------------------------------------------------------------
def metadata_db(folder: Path) -> Path:
    """The SQLite metadata database (used when the workspace has no database URL)."""
    return Path(folder) / METADATA_DB


def sqlite_url(folder: Path) -> str:
    """The SQLAlchemy URL of the workspace's SQLite metadata database."""
    return f"sqlite:///{metadata_db(folder)}"


def blobs_dir(folder: Path) -> Path:
    """The content-addressed file store."""
    return Path(folder) / BLOBS


def secrets_dir(folder: Path) -> Path:
    """The key vault's owner-only files."""
    return Path(folder) / SECRETS


def model_dir(folder: Path, name: str, version: int) -> Path:
    """Where model ``name`` version ``version`` is materialized read-only."""
    return Path(folder) / MODELS / name / str(version)


def locks_dir(folder: Path) -> Path:
    """The inter-process lock files."""
    return Path(folder) / LOCKS


def lock_file(folder: Path, name: str) -> Path:
    """The lock file ``name`` (``workspace``, ``settings`` ...), its folder created."""
    locks = locks_dir(folder)
    locks.mkdir(parents=True, exist_ok=True)
    return locks / f"{name}.lock"


def services_dir(folder: Path) -> Path:
    """The folder holding one folder per service."""
    return Path(folder) / SERVICES


def service_dir(folder: Path, name: str) -> Path:
    """Service ``name``'s folder: app roots, logs, runtime files."""
    return services_dir(folder) / name


#: A service folder's metrics history (ring files the server and the SDK sample into).
SERVICE_METRICS_DIR = "metrics"
#: The ring the server itself samples into (``DOCKYARD_METRICS_HISTORY``).
SERVER_HISTORY_RING = "history.ring"


def metrics_history_file(service_folder: Path) -> Path:
    """Where a local service's server keeps its metrics history (the server creates it)."""
    return Path(service_folder) / SERVICE_METRICS_DIR / SERVER_HISTORY_RING


def environments_cache(folder: Path) -> Path:
    """Where built environments live: ``$DOCKYARD_ENV_CACHE`` when set, else ``<workspace>/envs``."""
    override = os.environ.get(ENV_CACHE_VAR)
    return Path(override) if override else Path(folder) / ENVS


def image_dir(folder: Path, name: str, version: int) -> Path:
    """Image ``name`` version ``version``'s build context and build log."""
    return Path(folder) / IMAGES / name / str(version)


def packages_dir(folder: Path) -> Path:
    """Where ``Model.package()`` writes its outputs."""
    return Path(folder) / PACKAGES


def settings_file(folder: Path) -> Path:
    """The workspace's settings (image registry, base image)."""
    return Path(folder) / SETTINGS_FILE


# --- the index of named workspaces --------------------------------------------------------------
def _index_path() -> Path:
    return dockyard_home() / "workspaces.json"


def index_lookup(name: str) -> Path | None:
    path = _index_path()
    if not path.is_file():
        return None
    entry = read_json(path).get(name)
    return Path(entry) if isinstance(entry, str) else None


def index_add(name: str, folder: Path) -> None:
    """Record ``name -> folder`` in the index (under a lock; the file is replaced atomically)."""
    from filelock import FileLock

    path = _index_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        data = read_json(path) if path.is_file() else {}
        if data.get(name) != str(folder):
            data[name] = str(folder)
            write_json_atomic(path, data)


def named_folder(name: str) -> Path:
    """The folder of the existing workspace ``name`` (from the index, else the default folder)."""
    folder = index_lookup(name) or default_folder(name)
    if not (folder / WORKSPACE_FILE).is_file():
        raise WorkspaceNotFoundError(
            f"Workspace {name!r} does not exist (looked in {folder}).",
            hint=f"Create it with Workspace.create({name!r}) or `dockyard workspace create {name}`.",
        )
    return folder


def index_all() -> dict[str, str]:
    path = _index_path()
    data = read_json(path) if path.is_file() else {}
    return {k: v for k, v in data.items() if isinstance(v, str)}


# --- project config lookup ----------------------------------------------------------------------
def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
    except ValueError:
        return False
    return True


def find_config(start: Path) -> tuple[Path | None, list[Path]]:
    """The nearest project config from ``start`` upward, and every folder looked in.

    Returns ``(None, folders)`` when nothing is found. A plain ``config.json`` counts only when it
    names a workspace (``workspace_name``), so an unrelated ``config.json`` is passed over.
    """
    home = dockyard_home()
    looked: list[Path] = []
    folder = start.resolve()
    while True:
        looked.append(folder)
        for relative in CONFIG_CANDIDATES:
            candidate = folder / relative
            if not candidate.is_file() or _inside(candidate, home):
                continue
            if relative == "config.json" and not _names_workspace(candidate):
                continue
            return candidate, looked
        if folder.parent == folder:
            return None, looked
        folder = folder.parent


def _names_workspace(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("workspace_name"), str)


def read_config(path: Path) -> dict[str, Any]:
    """Read a project config: ``workspace_name`` and optionally ``path`` (made absolute)."""
    data = read_json(path)
    name = data.get("workspace_name")
    if not isinstance(name, str):
        raise ValidationError(
            f"{path} has no 'workspace_name' string, so dockyard cannot tell which workspace it names.",
            hint='Write {"workspace_name": "NAME"} into it, or recreate it with ws.write_config().',
        )
    folder = data.get("path")
    if isinstance(folder, str):
        base = (
            path.parent.parent
            if path.parent.name in {".dockyard", ".azureml", "aml_config"}
            else path.parent
        )
        data["path"] = str((base / folder).resolve())
    return data


def missing_config_error(looked: list[Path]) -> WorkspaceNotFoundError:
    folders = "\n    ".join(str(p) for p in looked)
    names = ", ".join(CONFIG_CANDIDATES)
    return WorkspaceNotFoundError(
        f"No workspace config ({names}) was found in these folders:\n    {folders}",
        hint="Run `dockyard workspace create NAME` and then ws.write_config() in your project "
        "folder, or pass the config file's path: Workspace.from_config(path=...).",
    )


__all__ = [
    "BLOBS",
    "CONFIG_CANDIDATES",
    "ENVS",
    "ENV_CACHE_VAR",
    "SERVER_HISTORY_RING",
    "SERVICE_METRICS_DIR",
    "FORMAT",
    "IMAGES",
    "LOCKS",
    "METADATA_DB",
    "MODELS",
    "PACKAGES",
    "SECRETS",
    "SERVICES",
    "SETTINGS_FILE",
    "WORKSPACE_ENTRIES",
    "WORKSPACE_FILE",
    "blobs_dir",
    "check_workspace_name",
    "default_folder",
    "dockyard_home",
    "environments_cache",
    "find_config",
    "image_dir",
    "index_add",
    "index_all",
    "index_lookup",
    "lock_file",
    "locks_dir",
    "metadata_db",
    "missing_config_error",
    "model_dir",
    "named_folder",
    "packages_dir",
    "read_config",
    "read_json",
    "secrets_dir",
    "service_dir",
    "services_dir",
    "settings_file",
    "sqlite_url",
    "write_json_atomic",
]
