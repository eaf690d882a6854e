"""The one object every route answers through: the app's shared state and its answer helpers.

:class:`Responder` holds what the routes share (settings, the script once loaded, the start-up
state, the executor, the concurrency gate, auth, CORS, request ids, the metrics recorder) and
the small helpers they answer with: sending a response, the access-log line (which also counts
the answer in the metrics), the after-request headers (CORS, then the
request ids, in azmlinfsrv's order), the JSON error answers, the 431 for over-long request ids,
and :meth:`Responder.open_request`, the start of every ``GET|HEAD|OPTIONS`` route but ``/score``
(which spells its own out, on the measured path).
The app (:mod:`dockyard.server.app`) creates one and hands it to each route
(:mod:`dockyard.server.score_route`, :mod:`dockyard.server.probe_routes`,
:mod:`dockyard.server.swagger_route`, :mod:`dockyard.server.routing`).
"""

from __future__ import annotations

import time
from typing import Any

from dockyard.server import wire
from dockyard.server.auth import KeyAuth
from dockyard.server.cors import Cors
from dockyard.server.executor import Executor
from dockyard.server.limits import ConcurrencyGate
from dockyard.server.logs import SINK
from dockyard.server.metrics import Metrics
from dockyard.server.settings import Settings
from dockyard.server.swagger import Swagger
from dockyard.server.user_script import ScriptLoadError, UserScript
from dockyard.server.wire import (
    AC_REQUEST_HEADERS,
    AC_REQUEST_METHOD,
    AC_REQUEST_PRIVATE_NETWORK,
    ORIGIN,
    TRACE_ID,
    ScannedHeaders,
)

_perf = time.perf_counter
#: The start-up states: ``init()`` running, done, failed.
STARTING, READY, FAILED = 0, 1, 2
#: The request ids of one request: ``(request id, legacy id, client id)``.
RequestIdTriple = tuple[bytes, bytes, bytes]
Header = tuple[bytes, bytes]
_READ_METHODS = ("GET", "HEAD", "OPTIONS")
_NO_BODY = (b"content-length", b"0")


class Responder:
    """The app's shared state and answer helpers (one per app, shared by all its routes)."""

    def __init__(
        self,
        settings: Settings,
        executor: Executor | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        #: The recorder of this process's metrics row; None when metrics are off.
        self.metrics = metrics
        self.state = STARTING
        self.failure: ScriptLoadError | None = None
        self.script: UserScript | None = None
        self.swagger: Swagger | None = None
        self.executor = executor or Executor(
            settings.scoring_timeout_ms, settings.inline_mode, settings.max_concurrent_requests
        )
        self.gate = ConcurrencyGate(
            settings.max_concurrent_requests, settings.max_request_wait_time_ms
        )
        self.auth = (
            KeyAuth(settings.keys_file, settings.service_name if settings.token_auth else None)
            if settings.keys_file
            else None
        )
        self.cors = Cors(settings.cors_origins) if settings.cors_origins else None
        self.ids = wire.RequestIds()
        sv = settings.server_version_header
        self._server_version = (b"x-ms-server-version", sv.encode("latin-1")) if sv else None
        self._access = settings.access_log

    def not_ready_body(self) -> bytes:
        """The 503 body for a request the script cannot answer yet (starting) or at all (failed)."""
        if self.state == FAILED and self.failure is not None:
            return wire.message_body(
                f"The service failed to start: {self.failure.summary}. "
                "The server's log has the traceback."
            )
        return wire.NOT_READY_BODY

    @staticmethod
    async def send_response(send: Any, status: int, headers: list[Header], body: bytes) -> None:
        """Send one whole response (start, then the body) on the ASGI ``send``."""
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def log_access(
        self, scope: dict[str, Any], status: int, start: float, size: int, rid: bytes
    ) -> None:
        """Count the answer in the metrics and write the access line: ``POST /score 200 0.412ms
        37 rid=...`` (method, path, status, time, size)."""
        if self.metrics is None and not self._access:
            return
        seconds = _perf() - start
        if self.metrics is not None:
            self.metrics.request(scope["path"], status, seconds)
        if self._access:
            qs = scope["query_string"]
            SINK.access(
                scope["method"],
                f"{scope['path']}?{qs.decode('latin-1')}" if qs else scope["path"],
                status,
                seconds * 1000,
                size,
                rid.decode("latin-1") or "-",
            )

    def count(self, scope: dict[str, Any], status: int, start: float) -> None:
        """Count an answer in the metrics without an access line (probes, scrapes)."""
        if self.metrics is not None:
            self.metrics.request(scope["path"], status, _perf() - start)

    def after_request_headers(
        self, scope: dict[str, Any], headers: ScannedHeaders, ids: RequestIdTriple
    ) -> list[Header]:
        """CORS headers then the request-id headers (azmlinfsrv's after-request order)."""
        tail = wire.id_headers(ids[0], ids[1], ids[2], headers[TRACE_ID], self._server_version)
        if self.cors is not None:
            return (
                self.cors.headers(
                    scope["method"],
                    _text(headers[ORIGIN]),
                    _text(headers[AC_REQUEST_METHOD]),
                    _text(headers[AC_REQUEST_HEADERS]),
                    _text(headers[AC_REQUEST_PRIVATE_NETWORK]),
                )
                + tail
            )
        return tail

    async def send_error(
        self,
        scope: dict[str, Any],
        send: Any,
        status: int,
        body: bytes,
        start: float,
        *extra: Header,
    ) -> None:
        """A JSON error answered before the request ids are read (404, 405): no id headers."""
        headers = [wire.CT_JSON, wire.content_length(body), wire.RFF_FALSE, *extra]
        await self.send_response(send, status, headers, body)
        self.log_access(scope, status, start, len(body), b"")

    async def open_request(
        self, scope: dict[str, Any], send: Any, start: float, allow: Header
    ) -> tuple[RequestIdTriple, list[Header]] | None:
        """The start of a route that answers ``GET``, ``HEAD`` and ``OPTIONS`` (``allow`` is its
        ``Allow`` header): 405 for another method; the request ids (431 when one is too long);
        for ``OPTIONS``, 200 with ``Allow`` and the after-request headers. Returns the request
        ids and the after-request headers of a ``GET`` or ``HEAD``; ``None`` once answered."""
        method = scope["method"]
        if method not in _READ_METHODS:
            await self.send_error(scope, send, 405, wire.METHOD_NOT_ALLOWED_BODY, start, allow)
            return None
        headers = wire.scan_headers(scope["headers"])
        rid, legacy, client, error = wire.resolve_ids(headers, self.ids)
        if error is not None:
            await self.reject_ids(scope, send, start, headers, rid, error)
            return None
        ids = (rid, legacy, client)
        tail = self.after_request_headers(scope, headers, ids)
        if method == "OPTIONS":
            await self.send_response(send, 200, [wire.CT_HTML, allow, *tail, _NO_BODY], b"")
            return None
        return ids, tail

    async def reject_ids(
        self,
        scope: dict[str, Any],
        send: Any,
        start: float,
        headers: ScannedHeaders,
        rid: bytes,
        error: bytes,
    ) -> None:
        """431: a request id is longer than azmlinfsrv allows (``error`` is the body)."""
        tail = self.after_request_headers(scope, headers, (rid, b"", b""))
        response_headers = [wire.CT_JSON, wire.content_length(error), wire.RFF_FALSE, *tail]
        await self.send_response(send, 431, response_headers, error)
        self.log_access(scope, 431, start, len(error), rid)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")
