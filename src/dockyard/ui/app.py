"""The dashboard's ASGI application: the routes behind the access guard."""

from __future__ import annotations

from starlette.applications import Starlette

from dockyard import Workspace
from dockyard.ui.access import AccessGuard, ASGIApp
from dockyard.ui.routes import routes


def create_app(ws: Workspace, token: str, host: str = "127.0.0.1", port: int = 8765) -> ASGIApp:
    """The dashboard of ``ws`` for a browser that holds ``token``, answering only requests
    addressed to ``host:port`` (and loopback names of that port) from its own pages."""
    return AccessGuard(Starlette(routes=routes(ws)), token, host, port)
