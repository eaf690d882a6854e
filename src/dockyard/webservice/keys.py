"""Service keys: generated once, kept in the workspace's secrets, handed to the server in a file.

The server reads ``keys.json`` (mode 0600, in the service's folder) and re-reads it when it
changes, so ``regen_key`` takes effect without a restart; keys never appear in command lines,
environment variables, logs or ``docker inspect``. ``update()`` keeps a service's keys.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import ValidationError

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

KEYS_FILE = "keys.json"


def _secret_names(service: str) -> tuple[str, str]:
    return f"service-{service}-primary-key", f"service-{service}-secondary-key"


def ensure(
    ws: Workspace, service: str, primary: str | None = None, secondary: str | None = None
) -> tuple[str, str]:
    """The service's keys, created (or set from the given values) when missing."""
    vault = ws.get_default_keyvault()
    names = _secret_names(service)
    existing = {item["name"] for item in vault.list_secrets()}
    values = []
    for name, given in zip(names, (primary, secondary), strict=True):
        if given:
            vault.set_secret(name, given)
            values.append(given)
        elif name in existing:
            values.append(vault.get_secret(name))
        else:
            value = secrets.token_urlsafe(32)
            vault.set_secret(name, value)
            values.append(value)
    return values[0], values[1]


def get(ws: Workspace, service: str) -> tuple[str, str]:
    vault = ws.get_default_keyvault()
    primary, secondary = _secret_names(service)
    return vault.get_secret(primary), vault.get_secret(secondary)


def regenerate(
    ws: Workspace, service: str, which: str, value: str | None, keys_file: Path | None
) -> tuple[str, str]:
    kind = str(which).strip().lower()
    if kind not in {"primary", "secondary"}:
        raise ValidationError(
            f"regen_key: unknown key {which!r}", hint='use "Primary" or "Secondary"'
        )
    primary, secondary = get(ws, service)
    new = value or secrets.token_urlsafe(32)
    if kind == "primary":
        primary = new
    else:
        secondary = new
    ensure(ws, service, primary, secondary)
    if keys_file is not None and keys_file.parent.exists():
        write_file(keys_file, primary, secondary)
    return primary, secondary


def write_file(path: Path, primary: str, secondary: str) -> None:
    """Write the keys file the server reads: owner-only, replaced atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"primaryKey": primary, "secondaryKey": secondary}, handle)
    os.replace(tmp, path)


def forget(ws: Workspace, service: str) -> None:
    vault = ws.get_default_keyvault()
    existing = {item["name"] for item in vault.list_secrets()}
    for name in _secret_names(service):
        if name in existing:
            vault.delete_secret(name)
