"""Which route answers a request: the router (path -> route) and the route every other path gets.

A route is any object (or function) called as ``await route(scope, receive, send)`` for one HTTP
request, with an ``open_during_init`` attribute: ``True`` for the probes, which answer at once while
``init()`` runs; the other routes are called only once ``init()`` has finished (or failed, or the
wait for it has run out; see :meth:`dockyard.server.app.ScoringApp.__call__`). Each route keeps the
app's one :class:`~dockyard.server.responder.Responder` and answers through it.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from dockyard.server import wire
from dockyard.server.responder import Responder

_perf = time.perf_counter


class Route(Protocol):
    """One route: an ASGI callable for HTTP requests on its paths."""

    #: Answered at once while init() runs (liveness, readiness); the others wait for init().
    open_during_init: bool

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None: ...


class Router:
    """Exact paths to routes; any other path gets ``fallback`` (404).

    The app looks a path up in :attr:`routes` itself (one dict lookup on the hot path) and calls
    :meth:`resolve` only for paths not found there.
    """

    def __init__(self, routes: dict[str, Route], fallback: Route) -> None:
        self.routes = routes
        self.fallback = fallback

    def resolve(self, scope: dict[str, Any]) -> tuple[dict[str, Any], Route]:
        """The route for ``scope`` and the scope it gets: ``//score`` is ``/score`` (azmlinfsrv's
        gunicorn collapses leading slashes), and a path with no route gets the fallback."""
        path = scope["path"]
        route = self.routes.get(path)
        if route is None and path.startswith("//"):
            scope = dict(scope, path="/" + path.lstrip("/"))
            route = self.routes.get(scope["path"])
        return scope, self.fallback if route is None else route


class NotFoundRoute:
    """Any path without a route: 404 with azmlinfsrv's JSON body."""

    open_during_init = False

    def __init__(self, responder: Responder) -> None:
        self.responder = responder

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        start = _perf()
        await self.responder.send_error(scope, send, 404, wire.NOT_FOUND_BODY, start)
