"""Web services: deployment configurations, the ``Webservice`` classes and their lifecycle.

``webservice/`` was one module in the first design; it is a package so that each target's
user-facing class stays small (config.py, base.py, local.py, deploy.py, records.py, keys.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dockyard.workspace import Workspace


def workspace_view(ws: Workspace) -> Mapping[str, Any]:
    """``ws.webservices``: service name -> Webservice (read-only, always current)."""
    from dockyard.webservice.records import WebservicesView

    return WebservicesView(ws)
