"""Service keys: generated once and kept in the workspace's secrets (the key vault).

The target hands them to the server (``Target.write_keys``); the server re-reads its keys file
when it changes, so a regenerated key takes effect without a restart. ``update()`` keeps a
service's keys.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING

from dockyard.errors import ValidationError
from dockyard.server.auth import make_token

if TYPE_CHECKING:
    from dockyard.workspace import Workspace


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
    ws: Workspace, service: str, which: str, value: str | None = None
) -> tuple[str, str]:
    """A new "Primary" or "Secondary" key (``value``, else a random one); returns both keys."""
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
    return ensure(ws, service, primary, secondary)


def forget(ws: Workspace, service: str) -> None:
    vault = ws.get_default_keyvault()
    existing = {item["name"] for item in vault.list_secrets()}
    for name in _secret_names(service):
        if name in existing:
            vault.delete_secret(name)


#: Lifetime of an access token (Azure's AKS tokens live about an hour) and when to renew it.
TOKEN_LIFETIME_S = 3600
TOKEN_REFRESH_S = 1800


def access_token(ws: Workspace, service: str, now: float | None = None) -> tuple[str, int, int]:
    """A token for ``service`` (token auth): ``(token, expiry_on, refresh_after)`` in epoch
    seconds. It is signed with the service's primary key, so regenerating that key revokes it."""
    issued = int(time.time() if now is None else now)
    primary, _secondary = get(ws, service)
    expiry = issued + TOKEN_LIFETIME_S
    return make_token(primary, service, expiry), expiry, issued + TOKEN_REFRESH_S
