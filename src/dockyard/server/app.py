"""The scoring server as a raw ASGI application (no framework in the hot path).

Routes (azmlinfsrv's, plus readiness):

* ``GET /`` -> 200 ``Healthy`` (liveness; answers during init() too), ``OPTIONS /`` -> 200 + ``Allow``
* ``GET|POST /score`` -> run(); ``OPTIONS /score`` -> 200 (or run() with ``@rawhttp``)
* ``GET /swagger.json?version=2|3|3.1`` -> the OpenAPI document
* ``GET /health/live`` -> 200; ``GET /health/ready`` -> 200 once init() has finished, else 503
* anything else -> 404, other methods -> 405 (JSON ``{"message": ...}`` bodies)

Embedding (the cluster target runs this inside Ray Serve replicas)::

    from dockyard.server.app import create_app
    from dockyard.server.settings import load_settings

    app = create_app(load_settings(["--entry-script", "score.py"]))
    app.load()          # import + init(); raises ScriptLoadError with the traceback text
    # ... hand ``app`` to any ASGI server

Without an explicit ``load()``, the ASGI lifespan ``startup`` event loads the script. Standalone
(``python -m dockyard.server``), :mod:`dockyard.server.serve` runs the event loop in a thread and
run() calls on the main thread (see :mod:`dockyard.server.executor`).

This module has start-up, dispatch and the small routes; ``/score`` (the hot path) is in
:mod:`dockyard.server.score_route`, and the state and answer helpers every route shares are in
:mod:`dockyard.server.replies`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

from dockyard.server import wire
from dockyard.server.executor import Executor
from dockyard.server.logs import SINK, log_directory
from dockyard.server.replies import FAILED, READY, STARTING
from dockyard.server.score_route import ScoreRoute
from dockyard.server.settings import Settings
from dockyard.server.swagger import Swagger, SwaggerError
from dockyard.server.user_script import (
    ScriptLoadError,
    call_init,
    load_script,
    prepare_sys_path,
)

logger = logging.getLogger("dockyard.server")
_perf = time.perf_counter
_HTML_ALLOW = (b"allow", b"GET, HEAD, OPTIONS")


class ScoringApp(ScoreRoute):
    """The ASGI application serving one score.py (see the module docstring)."""

    def __init__(self, settings: Settings, executor: Executor | None = None) -> None:
        super().__init__(settings, executor)
        self._routes = {"/score": self._score, "/": self._root, "/swagger.json": self._swagger}
        self._load_lock: asyncio.Lock | None = None
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
            call_init(script)
            try:
                self.swagger = Swagger(
                    s.app_root, script.run, s.service_name, s.service_version, s.service_path_prefix
                )
            except Exception as exc:
                raise ScriptLoadError(
                    "swagger", f"Building /swagger.json failed: {exc}", f"{exc}\n"
                ) from None
        except ScriptLoadError as exc:
            self.failure = exc
            self._finish_loading(FAILED)
            raise
        self.script = script
        self._finish_loading(READY)
        logger.info(f"Scoring timeout is set to {s.scoring_timeout_ms}")
        logger.info(f"Worker with pid {os.getpid()} ready for serving traffic")

    @property
    def ready(self) -> bool:
        return self.state == READY

    def _finish_loading(self, state: int) -> None:
        """Set the final start-up state and release the requests that waited for it."""
        with self._waiters_lock:
            self.state = state
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
            if self.state != STARTING:
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
            handler = self._routes.get(scope["path"])
            if handler is None and scope["path"].startswith("//"):
                # azmlinfsrv (gunicorn) collapses leading slashes: //score is /score
                scope = dict(scope, path="/" + scope["path"].lstrip("/"))
                handler = self._routes.get(scope["path"])
            if self.state == STARTING and scope["path"] not in _OPEN_DURING_INIT:
                await self._until_loaded()
            if handler is not None:
                await handler(scope, receive, send)
            else:
                await self._other(scope, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.state == STARTING:
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

    # ----- helpers -----
    async def _other(self, scope: dict[str, Any], send: Any) -> None:
        start = _perf()
        path, method = scope["path"], scope["method"]
        if path in ("/health/ready", "/health/live") and method in ("GET", "HEAD"):
            ok = path == "/health/live" or self.state == READY
            if ok:
                body = b"Ready" if path == "/health/ready" else b"Healthy"
            elif self.state == FAILED and self.failure is not None:
                body = f"Not ready: {self.failure.summary}".encode()
            else:
                body = b"Not ready: init() has not finished"
            await self._send(
                send,
                200 if ok else 503,
                [(b"content-type", b"text/plain; charset=utf-8"), wire.content_length(body)],
                body,
            )
            return
        if path in ("/health/ready", "/health/live"):
            body = wire.METHOD_NOT_ALLOWED_BODY
            await self._generic(scope, send, 405, body, start, (b"allow", b"GET, HEAD"))
        else:
            await self._generic(scope, send, 404, wire.NOT_FOUND_BODY, start)

    # ----- routes -----
    async def _root(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        start = _perf()
        method = scope["method"]
        if method not in ("GET", "HEAD", "OPTIONS"):
            body = wire.METHOD_NOT_ALLOWED_BODY
            await self._generic(scope, send, 405, body, start, _HTML_ALLOW)
            return
        pre = await self._preamble(scope, send, start)
        if pre is None:
            return
        tail = self._tail(scope, *pre)
        if method == "OPTIONS":
            await self._send(
                send, 200, [wire.CT_HTML, _HTML_ALLOW, *tail, (b"content-length", b"0")], b""
            )
        else:
            await self._send(
                send, 200, [wire.CT_HTML, (b"content-length", b"7"), *tail], b"Healthy"
            )

    async def _swagger(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        start = _perf()
        method = scope["method"]
        if method not in ("GET", "HEAD", "OPTIONS"):
            body = wire.METHOD_NOT_ALLOWED_BODY
            await self._generic(scope, send, 405, body, start, _HTML_ALLOW)
            return
        pre = await self._preamble(scope, send, start)
        if pre is None:
            return
        found, ids = pre
        tail = self._tail(scope, found, ids)
        if method == "OPTIONS":
            await self._send(
                send, 200, [wire.CT_HTML, _HTML_ALLOW, *tail, (b"content-length", b"0")], b""
            )
            return
        retry: tuple[tuple[bytes, bytes], ...] = ()
        if self.swagger is None:
            status, body, retry = 503, self._not_ready_body(), ((b"retry-after", b"1"),)
        else:
            from dockyard.server.inputs import parse_query_pairs

            version = next(
                (v for k, v in parse_query_pairs(scope["query_string"]) if k == "version"), "2"
            )
            try:
                status, body = 200, self.swagger.get(version)
            except SwaggerError as exc:
                status, body = 404, wire.message_body(exc.message)
        await self._send(
            send,
            status,
            [wire.CT_JSON, wire.content_length(body), wire.RFF_FALSE, *retry, *tail],
            body,
        )
        self._log(scope, status, start, len(body), ids[0])


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


#: Paths answered at once while init() runs (liveness and readiness); the rest wait for it.
_OPEN_DURING_INIT = frozenset({"/", "/health/live", "/health/ready"})


def create_app(settings: Settings, executor: Executor | None = None) -> ScoringApp:
    """The ASGI app for ``settings``; call ``load()`` (or let ASGI lifespan do it) before traffic."""
    return ScoringApp(settings, executor)


def log_load_failure(error: ScriptLoadError, model_dir: str | None) -> None:
    """Log an import/init() failure as azmlinfsrv does: the traceback, then the model folder."""
    if error.phase == "init":
        logger.error("User's init function failed")
        logger.error("Encountered Exception %s", error.traceback_text)
    else:
        logger.error(error.traceback_text.rstrip("\n"))
    logger.error(error.summary)
    log_directory(logger, "Model Directory Contents", model_dir)
