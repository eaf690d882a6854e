"""The shared state of the scoring app and the pieces every route answers with.

:class:`Responder` holds what the routes need (settings, the script once loaded, the executor,
the concurrency gate, auth, CORS, request ids) and the small helpers they answer with: sending a
response, the access-log line, the CORS and request-id headers in azmlinfsrv's order, the JSON
error answers and the 431 for over-long request ids. The routes live in
:mod:`dockyard.server.score_route` (``/score``) and :mod:`dockyard.server.app` (the others).
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
from dockyard.server.settings import Settings
from dockyard.server.swagger import Swagger
from dockyard.server.user_script import ScriptLoadError, UserScript

_perf = time.perf_counter
STARTING, READY, FAILED = 0, 1, 2


class Responder:
    """The app's state and answer helpers (the base of :class:`dockyard.server.app.ScoringApp`)."""

    def __init__(self, settings: Settings, executor: Executor | None = None) -> None:
        self.settings = settings
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
        self.auth = KeyAuth(settings.keys_file) if settings.keys_file else None
        self.cors = Cors(settings.cors_origins) if settings.cors_origins else None
        self.ids = wire.RequestIds()
        sv = settings.server_version_header
        self._server_version = (b"x-ms-server-version", sv.encode("latin-1")) if sv else None
        self._limit = settings.max_request_body_bytes
        self._access = settings.access_log
        self._debug = settings.debug
        self._loop_attached = False

    def _not_ready_body(self) -> bytes:
        """The 503 body for a request the script cannot answer yet (starting) or at all (failed)."""
        if self.state == FAILED and self.failure is not None:
            return wire.message_body(
                f"The service failed to start: {self.failure.summary}. "
                "The server's log has the traceback."
            )
        return wire.NOT_READY_BODY

    @staticmethod
    async def _send(
        send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _log(self, scope: dict[str, Any], status: int, start: float, size: int, rid: bytes) -> None:
        """The access line: ``POST /score 200 0.412ms 37 rid=...`` (method, path, status, time, size)."""
        if self._access:
            qs = scope["query_string"]
            SINK.access(
                scope["method"],
                f"{scope['path']}?{qs.decode('latin-1')}" if qs else scope["path"],
                status,
                (_perf() - start) * 1000,
                size,
                rid.decode("latin-1") or "-",
            )

    def _tail(
        self, scope: dict[str, Any], found: list[bytes | None], ids: tuple[bytes, bytes, bytes]
    ) -> list[tuple[bytes, bytes]]:
        """CORS headers then the request-id headers (azmlinfsrv's after-request order)."""
        tail = wire.id_headers(ids[0], ids[1], ids[2], found[3], self._server_version)
        if self.cors is not None:
            text = [None if v is None else v.decode("latin-1") for v in found[7:11]]
            return self.cors.headers(scope["method"], text[0], text[1], text[2], text[3]) + tail
        return tail

    async def _generic(
        self,
        scope: dict[str, Any],
        send: Any,
        status: int,
        body: bytes,
        start: float,
        *extra: tuple[bytes, bytes],
    ) -> None:
        headers = [wire.CT_JSON, wire.content_length(body), wire.RFF_FALSE, *extra]
        await self._send(send, status, headers, body)
        self._log(scope, status, start, len(body), b"")

    async def _preamble(
        self, scope: dict[str, Any], send: Any, start: float
    ) -> tuple[list[bytes | None], tuple[bytes, bytes, bytes]] | None:
        """Request ids (431 when too long). Returns ``None`` when the response was already sent."""
        found = wire.scan_headers(scope["headers"])
        rid, legacy, client, error = wire.resolve_ids(found, self.ids)
        if error is None:
            return found, (rid, legacy, client)
        await self._reject_ids(scope, send, start, found, rid, error)
        return None

    async def _reject_ids(
        self,
        scope: dict[str, Any],
        send: Any,
        start: float,
        found: list[bytes | None],
        rid: bytes,
        error: bytes,
    ) -> None:
        tail = self._tail(scope, found, (rid, b"", b""))
        headers = [wire.CT_JSON, wire.content_length(error), wire.RFF_FALSE, *tail]
        await self._send(send, 431, headers, error)
        self._log(scope, 431, start, len(error), rid)
