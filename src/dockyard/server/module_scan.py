"""Which installed packages this process imported: what a warm parent should preload.

A server started with ``DOCKYARD_READY_FILE`` lists them in that file once it is ready; the local
supervisor passes the list to the service's warm parent (:mod:`dockyard.server.zygote`), which
imports them before forking the next server. Modules from the app root or the source directory
are never listed: edited user code is always read fresh.
"""

from __future__ import annotations

import os
import sys


def third_party_modules(app_root: str) -> list[str]:
    """Top-level modules this process imported from installed packages (not from the app root),
    i.e. what a zygote should preload for the next server of the same environment."""
    roots = [
        p for p in sys.path if p and ("-packages" in p or "dockyard-runtime" in p or "runtime" in p)
    ]
    app_root = os.path.abspath(app_root)
    names = []
    for name, module in list(sys.modules.items()):
        if "." in name or name.startswith("_") or name in {"dockyard", "azureml", "__main__"}:
            continue
        path = getattr(module, "__file__", None)
        if not path or os.path.abspath(path).startswith(app_root):
            continue
        if any(os.path.abspath(path).startswith(os.path.abspath(root)) for root in roots):
            names.append(name)
    return sorted(names)
