"""The workspace's image settings: the default base image and the container registry.

They are kept in the ``"images"`` section of the workspace's settings file
(:mod:`dockyard.store.settings`). The registry password never goes there: it is the workspace
secret :data:`REGISTRY_PASSWORD_SECRET` (``ws.get_default_keyvault()``); without a password the
engine's own ``docker login`` credentials are used. ``DOCKYARD_CONTAINER_REGISTRY`` overrides the
registry address for one process (CI, tests).

The user objects call these through ``Image.set_container_registry(...)``,
``Image.default_base_image(ws)`` and friends.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import ValidationError
from dockyard.store.settings import read_section, update_section

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

SECTION = "images"
REGISTRY_PASSWORD_SECRET = "container-registry-password"
REGISTRY_ENV = "DOCKYARD_CONTAINER_REGISTRY"


@dataclass(frozen=True)
class RegistrySettings:
    """Where images are pushed: ``address`` (``host:port`` or ``host/prefix``), optional user."""

    address: str
    username: str | None = None


def read(ws: Workspace) -> dict[str, Any]:
    """The ``images`` settings (empty when none were set)."""
    return read_section(Path(ws.path), SECTION)


def update(ws: Workspace, **values: Any) -> dict[str, Any]:
    """Set (or, with None, remove) image settings; returns the new ``images`` settings."""
    return update_section(Path(ws.path), SECTION, **values)


def default_base_image(ws: Workspace) -> str | None:
    """The workspace's default base image (set by ``Image.bootstrap_base_image``), or None."""
    value = read(ws).get("base_image")
    return str(value) if value else None


def set_default_base_image(ws: Workspace, image: str | None) -> None:
    update(ws, base_image=image)


def registry(ws: Workspace) -> RegistrySettings | None:
    """The configured container registry, or None (images then stay in the local engine)."""
    override = os.environ.get(REGISTRY_ENV)
    if override:
        return RegistrySettings(override.rstrip("/"))
    data = read(ws).get("container_registry")
    if not isinstance(data, dict) or not data.get("address"):
        return None
    return RegistrySettings(str(data["address"]).rstrip("/"), data.get("username") or None)


def set_registry(
    ws: Workspace, address: str | None, username: str | None = None, password: str | None = None
) -> None:
    """Configure (or, with ``address=None``, remove) the workspace's container registry."""
    vault = ws.get_default_keyvault()
    if address is None:
        update(ws, container_registry=None)
        if REGISTRY_PASSWORD_SECRET in _names(vault):
            vault.delete_secret(REGISTRY_PASSWORD_SECRET)
        return
    address = address.strip().rstrip("/")
    if not address or "://" in address or " " in address:
        raise ValidationError(
            f"Invalid registry address {address!r}: give host[:port][/prefix], no scheme",
            hint="e.g. 127.0.0.1:5000 or registry.example.com/team",
        )
    update(ws, container_registry={"address": address, "username": username})
    if password is not None:
        vault.set_secret(REGISTRY_PASSWORD_SECRET, password)


def _names(vault: Any) -> set[str]:
    return {item["name"] if isinstance(item, dict) else str(item) for item in vault.list_secrets()}


def auth_config(ws: Workspace, settings: RegistrySettings | None) -> dict[str, str] | None:
    """Credentials for the engine (never logged), or None to use ``docker login``'s."""
    if settings is None or not settings.username:
        return None
    vault = ws.get_default_keyvault()
    if REGISTRY_PASSWORD_SECRET not in _names(vault):
        return None
    return {"username": settings.username, "password": vault.get_secret(REGISTRY_PASSWORD_SECRET)}


__all__ = [
    "REGISTRY_ENV",
    "REGISTRY_PASSWORD_SECRET",
    "RegistrySettings",
    "auth_config",
    "default_base_image",
    "registry",
    "set_default_base_image",
    "set_registry",
]
