"""The scoring server as a raw ASGI application: a router of small routes over one shared responder.

Routes (azmlinfsrv's, plus readiness):

* ``GET /`` -> 200 ``Healthy`` (liveness; answers during init() too), ``OPTIONS /`` -> 200 + ``Allow``
* ``GET|POST /score`` -> run(); ``OPTIONS /score`` -> 200 (or run() with ``@rawhttp``)
* ``GET /swagger.json?version=2|3|3.1`` -> the OpenAPI document
* ``GET /health/live`` -> 200; ``GET /health/ready`` -> 200 once init() has finished, else 503
* ``GET /metrics`` -> the Prometheus metrics (:mod:`dockyard.server.metrics_route`; off with
  ``DOCKYARD_METRICS=0``)
* anything else -> 404, other methods -> 405 (JSON ``{"message": ...}`` bodies)

Embedding (the cluster target runs this inside Ray Serve replicas)::

    from dockyard.server.app import create_app
    from dockyard.server.settings import load_settings

    app = create_app(load_settings(["--entry-script", "score.py"]))
    app.load()          # import + init(); raises ScriptLoadError with the traceback text
    # ... hand ``app`` to any ASGI server

Without an explicit ``load()``, the ASGI lifespan ``startup`` event loads the script. Standalone
(``python -m dockyard.server``), :mod:`dockyard.server.worker` runs the event loop in a thread and
run() calls on the main thread (see :mod:`dockyard.server.executor`).

How a request is answered, file by file: :class:`ScoringApp` (here) holds a
:class:`~dockyard.server.routing.Router` and, while init() runs, holds the requests that must
wait for it; the route for the path answers through the app's one
:class:`~dockyard.server.responder.Responder` (state, settings, executor, gate, auth, CORS,
request ids, send and log helpers): :mod:`dockyard.server.score_route` (``/score``, the hot path),
:mod:`dockyard.server.probe_routes` (``/``, ``/health/*``), :mod:`dockyard.server.swagger_route`
and :class:`~dockyard.server.routing.NotFoundRoute`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

from dockyard.server import contract
from dockyard.server.executor import Executor
from dockyard.server.logs import SINK, log_directory
from dockyard.server.metrics import IN_FLIGHT, Metrics
from dockyard.server.metrics import enabled as metrics_enabled
from dockyard.server.metrics_route import METRICS_PATH, MetricsRoute
from dockyard.server.probe_routes import HealthRoute, RootRoute
from dockyard.server.responder import FAILED, READY, STARTING, Responder
from dockyard.server.routing import NotFoundRoute, Route, Router
from dockyard.server.score_route import ScoreRoute
from dockyard.server.settings import Settings
from dockyard.server.swagger import Swagger
from dockyard.server.swagger_route import SwaggerRoute
from dockyard.server.user_script import (
    ScriptLoadError,
    call_init,
    load_script,
    prepare_sys_path,
)

logger = logging.getLogger("dockyard.server")


class ScoringApp:
    """The ASGI application serving one score.py (see the module docstring)."""

    def __init__(
        self, settings: Settings, executor: Executor | None = None, metrics: Metrics | None = None
    ) -> None:
        self.settings = settings
        if metrics is None and metrics_enabled():
            metrics = Metrics()  # this process's own board (one worker, or a Ray replica)
        self.metrics = metrics
        self.responder = r = Responder(settings, executor, metrics)
        self.executor = r.executor
        routes: dict[str, Route] = {
            contract.SCORE_PATH: ScoreRoute(r),
            "/": RootRoute(r),
            contract.SWAGGER_PATH: SwaggerRoute(r),
            contract.LIVENESS_PATH: HealthRoute(r, contract.LIVENESS_PATH),
            contract.READINESS_PATH: HealthRoute(r, contract.READINESS_PATH),
        }
        if metrics is not None:
            routes[METRICS_PATH] = MetricsRoute(r, metrics)
        # The in-flight gauge of this process's metrics row (None: metrics off).
        self._row = metrics.v if metrics is not None else None
        self.router = Router(routes, fallback=NotFoundRoute(r))
        self._route_for_path = routes.get  # the hot path's one lookup
        self._loop_attached = False
        # Requests that arrived during init() and wait for it: (their loop, a future to resolve).
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._waiters_lock = threading.Lock()

    # ----- start-up -----
    def load(self) -> None:
        """Import the script, call its init() and build the swagger documents (blocking).

        Raises :class:`ScriptLoadError` (traceback text in ``traceback_text``) and leaves the app
        answering 503 on ``/score`` and ``/health/ready``.
        """
        s = self.settings
        prepare_sys_path(s.app_root, s.source_dir, s.entry_script)
        try:
            script = load_script(s.entry_script, s.app_root)
            started = time.perf_counter()
            call_init(script)
            if self.metrics is not None:
                self.metrics.init_done(time.perf_counter() - started)
            try:
                swagger = Swagger(
                    s.app_root, script.run, s.service_name, s.service_version, s.service_path_prefix
                )
            except Exception as exc:
                raise ScriptLoadError(
                    "swagger", f"Building /swagger.json failed: {exc}", f"{exc}\n"
                ) from None
        except ScriptLoadError as exc:
            self.responder.failure = exc
            self._finish_loading(FAILED)
            raise
        self.responder.swagger = swagger
        self.responder.script = script
        self._finish_loading(READY)
        logger.info(f"Scoring timeout is set to {s.scoring_timeout_ms}")
        logger.info(f"Worker with pid {os.getpid()} ready for serving traffic")

    @property
    def ready(self) -> bool:
        return self.responder.state == READY

    def _finish_loading(self, state: int) -> None:
        """Set the final start-up state and release the requests that waited for it."""
        with self._waiters_lock:
            self.responder.state = state
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_resolve, future)

    async def _until_loaded(self) -> None:
        """Hold a request that arrived while init() runs until it has finished.

        azmlinfsrv accepts no connection before init() is done, so a request sent early waits and
        then gets its normal answer; this gives the same answer while liveness keeps answering.
        The wait is bounded by ``DOCKYARD_STARTUP_REQUEST_WAIT_S``; after it (or after a failed
        start) the route answers 503 with ``Retry-After``.
        """
        wait = self.settings.startup_request_wait_s
        if wait <= 0:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._waiters_lock:
            if self.responder.state != STARTING:
                return
            self._waiters.append((loop, future))
        try:
            await asyncio.wait_for(future, wait)
        except TimeoutError:
            with self._waiters_lock:
                if (loop, future) in self._waiters:
                    self._waiters.remove((loop, future))

    # ----- ASGI entry -----
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if not self._loop_attached:
                SINK.attach_loop(asyncio.get_running_loop())
                self._loop_attached = True
            route = self._route_for_path(scope["path"])
            if route is None:  # leading slashes, or no such route (404)
                scope, route = self.router.resolve(scope)
            if self.responder.state == STARTING and not route.open_during_init:
                await self._until_loaded()
            row = self._row
            if row is None:
                await route(scope, receive, send)
                return
            row[IN_FLIGHT] += 1
            try:
                await route(scope, receive, send)
            finally:
                row[IN_FLIGHT] -= 1
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.responder.state == STARTING:
                    try:
                        await asyncio.to_thread(self.load)
                    except ScriptLoadError as exc:
                        await send(
                            {
                                "type": "lifespan.startup.failed",
                                "message": f"{exc.summary}\n{exc.traceback_text}",
                            }
                        )
                        continue
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                SINK.flush()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def create_app(
    settings: Settings, executor: Executor | None = None, metrics: Metrics | None = None
) -> ScoringApp:
    """The ASGI app for ``settings``; call ``load()`` (or let ASGI lifespan do it) before traffic.

    ``metrics``: the recorder of this process's row on a shared board (several workers); by
    default the app counts on a board of its own, unless ``DOCKYARD_METRICS=0``.
    """
    return ScoringApp(settings, executor, metrics)


def log_load_failure(error: ScriptLoadError, model_dir: str | None) -> None:
    """Log an import/init() failure as azmlinfsrv does: the traceback, then the model folder."""
    if error.phase == "init":
        logger.error("User's init function failed")
        logger.error("Encountered Exception %s", error.traceback_text)
    else:
        logger.error(error.traceback_text.rstrip("\n"))
    logger.error(error.summary)
    log_directory(logger, "Model Directory Contents", model_dir)
