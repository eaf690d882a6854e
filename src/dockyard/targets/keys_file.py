"""The keys file a scoring server reads (``DOCKYARD_KEYS_FILE``): owner-only, replaced atomically.

The server re-reads it when it changes, so a regenerated key takes effect without a restart.
Keys never appear in command lines, environment variables, logs or ``docker inspect``.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

KEYS_FILE = "keys.json"


def write_keys_file(path: Path, primary: str, secondary: str) -> None:
    """Write ``{"primaryKey": ..., "secondaryKey": ...}`` to ``path`` (mode 0600, atomic)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"primaryKey": primary, "secondaryKey": secondary}, handle)
    os.replace(tmp, path)
