"""Where workspaces live on disk, and how a project's config file points to one.

A workspace is a folder::

    workspace.json   name, id, creation time, where the metadata database is (written once)
    metadata.db      SQLite metadata (absent when the workspace uses PostgreSQL)
    blobs/           content-addressed model files (see store/blobs.py)
    secrets/         the key vault: one owner-only file per secret
    models/          registered models materialized read-only for get_model_path()
    locks/           inter-process lock files

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
#: What a workspace folder holds besides a user's files (a workspace may be a project folder).
WORKSPACE_ENTRIES = frozenset(
    {
        WORKSPACE_FILE,
        "metadata.db",
        "metadata.db-wal",
        "metadata.db-shm",
        "blobs",
        "secrets",
        "models",
        "locks",
        "services",
        "envs",
        "images",
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
    "CONFIG_CANDIDATES",
    "FORMAT",
    "WORKSPACE_FILE",
    "check_workspace_name",
    "default_folder",
    "dockyard_home",
    "find_config",
    "index_add",
    "index_all",
    "index_lookup",
    "missing_config_error",
    "read_config",
    "read_json",
    "write_json_atomic",
]
