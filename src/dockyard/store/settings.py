"""The workspace's settings file, ``<workspace>/settings.json``: one section per concern.

Only the image settings live there today (section ``"images"``: the default base image and the
container registry, see :mod:`dockyard.ops.images.settings`). A change is a read-modify-write
under the workspace's ``settings`` lock, and the file is replaced atomically, so two processes
never lose each other's change. Secrets never go there: they are in the key vault
(:mod:`dockyard.store.secrets`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from filelock import FileLock

from dockyard.errors import ValidationError
from dockyard.store import layout


def read_section(folder: Path, section: str) -> dict[str, Any]:
    """Section ``section`` of the workspace in ``folder`` (empty when nothing was set)."""
    path = layout.settings_file(folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})",
            hint="fix or delete that file, then set the settings again",
        ) from None
    values = data.get(section) if isinstance(data, dict) else None
    return dict(values) if isinstance(values, dict) else {}


def update_section(folder: Path, section: str, **values: Any) -> dict[str, Any]:
    """Set the given keys of ``section`` (a None value removes the key); returns the section."""
    path = layout.settings_file(folder)
    with FileLock(str(layout.lock_file(folder, "settings"))):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        current = dict(data.get(section) or {})
        for key, value in values.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        data[section] = current
        layout.write_json_atomic(path, data)
    return current


__all__ = ["read_section", "update_section"]
