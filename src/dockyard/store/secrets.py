"""The workspace's secret store (``Keyvault``, re-exported by ``dockyard.workspace``): one owner-only (0600) file per secret in ``secrets/`` (0700).

Values never pass through logs: this module logs names only. Writes are atomic (temporary file
created 0600, flushed, renamed), so a crash never leaves a half-written secret.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets as _random
from pathlib import Path
from typing import Any

from dockyard.errors import DockyardError, SecretNotFoundError, ValidationError
from dockyard.store.layout import secrets_dir

log = logging.getLogger(__name__)

#: Azure Key Vault's rule: 1-127 letters, digits and '-'.
SECRET_NAME_RE = re.compile(r"^[0-9A-Za-z-]{1,127}$")


def check_secret_name(name: object) -> str:
    if not isinstance(name, str) or not SECRET_NAME_RE.match(name):
        raise ValidationError(
            f"Invalid secret name {name!r}: use 1 to 127 letters, digits or '-' (Azure Key Vault's rule).",
            hint="Pick a name such as 'registry-password'.",
        )
    return name


class SecretFiles:
    """Secrets kept as files under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def ensure(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)

    def _path(self, name: str) -> Path:
        return self.folder / check_secret_name(name)

    def set(self, name: str, value: str) -> None:
        if not isinstance(value, str):
            raise ValidationError(
                f"The value of secret {name!r} must be a string, not {type(value).__name__}."
            )
        target = self._path(name)
        self.ensure()
        tmp = self.folder / f".{name}.{_random.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(value)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def get(self, name: str) -> str:
        try:
            return self._path(name).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SecretNotFoundError(
                f"Secret {name!r} does not exist in {self.folder}.",
                hint="List the names with `dockyard secret list`; set it with `dockyard secret set NAME`.",
            ) from None

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(
            p.name for p in self.folder.iterdir() if p.is_file() and SECRET_NAME_RE.match(p.name)
        )

    def delete(self, name: str) -> None:
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            raise SecretNotFoundError(
                f"Secret {name!r} does not exist in {self.folder}, so it cannot be deleted.",
                hint="List the names with `dockyard secret list`.",
            ) from None


class Keyvault:
    """The workspace's secrets (Azure ML v1's ``Keyvault`` API), kept in owner-only files."""

    def __init__(self, workspace: Any) -> None:
        self.workspace = workspace
        self._files = SecretFiles(secrets_dir(workspace.path))

    def set_secret(self, name: str, value: str, content_type: Any = None) -> None:
        self._files.set(name, value)
        log.debug("secret %s set", name)

    def set_secrets(self, secrets_batch: dict[str, str]) -> None:
        for name in secrets_batch:
            check_secret_name(name)
        for name, value in secrets_batch.items():
            self.set_secret(name, value)

    def get_secret(self, name: str) -> str:
        return self._files.get(name)

    def get_secrets(self, secrets: list[str]) -> dict[str, str | None]:
        """Values by name; a name that is not set maps to None (as in azureml.core)."""
        result: dict[str, str | None] = {}
        for name in secrets:
            try:
                result[name] = self._files.get(name)
            except DockyardError:
                result[name] = None
        return result

    def delete_secret(self, name: str) -> None:
        self._files.delete(name)
        log.debug("secret %s deleted", name)

    def delete_secrets(self, secrets: list[str]) -> None:
        for name in secrets:
            self.delete_secret(name)

    def list_secrets(self) -> list[dict[str, str]]:
        """Secret names (never values), as ``[{"name": ...}]``."""
        return [{"name": name} for name in self._files.names()]

    def __repr__(self) -> str:
        return f"Keyvault(workspace={self.workspace.name!r})"


__all__ = ["SECRET_NAME_RE", "Keyvault", "SecretFiles", "check_secret_name"]
