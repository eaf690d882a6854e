"""Name the user's own files in text that shows a deployment's copies of them.

A deployment runs copies: a local service runs ``<service folder>/app-<hash>/<source folder
name>/score.py``, a container ``/var/azureml-app/<source folder name>/score.py``. Tracebacks and
errors show those paths, which change on every reload and which the user never edits. These
functions put the user's own paths back (the recorded ``sourceDirectory`` or ``entryScript``)
and shorten the rest of the app root to ``<app root>``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.ops import records
from dockyard.server import contract

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

#: Where a deployment's copy of the user's folder is: a local app root (``.../app-<hex>/``) or
#: the container's (``/var/azureml-app/``).
DEPLOYED_ROOT = r"(?:[^\s\"']*/app-[0-9a-f]+|" + re.escape(contract.CONTAINER_APP_ROOT) + ")"


def inference_of(ws: Workspace, name: str) -> dict[str, Any]:
    """The service's recorded inference config (``inferenceconfig.json``'s keys), or {}."""
    record = records.get(ws, name)
    return dict((record.spec.get("inference") or {}) if record is not None else {})


def user_paths(inference: dict[str, Any], text: str) -> str:
    """``text`` with the deployed copies of the user's files named by their originals."""
    source, script = inference.get("sourceDirectory"), inference.get("entryScript")
    original = source or script
    if original:
        copy = DEPLOYED_ROOT + "/" + re.escape(Path(original).name)
        copy += r"(?=/)" if source else r"\b"
        text = re.sub(copy, lambda _match: str(original), text)
    return re.sub(DEPLOYED_ROOT, "<app root>", text)
