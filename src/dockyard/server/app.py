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
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from dockyard.server import wire
from dockyard.server.auth import KeyAuth
from dockyard.server.cors import Cors
from dockyard.server.executor import Executor, RunFailed, RunTimeout
from dockyard.server.inputs import InputError, plain_get_input, plain_post_input
from dockyard.server.limits import ConcurrencyGate, Overloaded
from dockyard.server.logs import SINK, log_directory
from dockyard.server.request import AMLRequest, title_headers
from dockyard.server.responses import dump_output, is_response, response_parts
from dockyard.server.settings import Settings
from dockyard.server.swagger import Swagger, SwaggerError
from dockyard.server.user_script import (
    ScriptLoadError,
    UserScript,
    call_init,
    load_script,
    prepare_sys_path,
)

logger = logging.getLogger("dockyard.server")
_perf = time.perf_counter
_HTML_ALLOW = (b"allow", b"GET, HEAD, OPTIONS")
_STARTING, _READY, _FAILED = 0, 1, 2


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class ScoringApp:
    """The ASGI application serving one score.py (see the module docstring)."""

    def __init__(self, settings: Settings, executor: Executor | None = None) -> None:
        self.settings = settings
        self.state = _STARTING
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
        self._routes = {"/score": self._score, "/": self._root, "/swagger.json": self._swagger}
        self._load_lock: asyncio.Lock | None = None

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
            self.failure, self.state = exc, _FAILED
            raise
        self.script = script
        self.state = _READY
        logger.info(f"Scoring timeout is set to {s.scoring_timeout_ms}")
        logger.info(f"Worker with pid {os.getpid()} ready for serving traffic")

    @property
    def ready(self) -> bool:
        return self.state == _READY

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
                if self.state == _STARTING:
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
    @staticmethod
    async def _send(
        send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _log(
        self, scope: dict[str, Any], status: int, start: float, size: int, rid: bytes | str
    ) -> None:
        """The access line: ``POST /score 200 0.412ms 37 rid=...`` (method, path, status, time, size)."""
        if self._access:
            qs = scope["query_string"]
            path = f"{scope['path']}?{qs.decode('latin-1')}" if qs else scope["path"]
            text = rid.decode("latin-1") if isinstance(rid, bytes) else rid
            ms = (_perf() - start) * 1000
            SINK.access(f"{scope['method']} {path} {status} {ms:.3f}ms {size} rid={text or '-'}")

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
        self._log(scope, status, start, len(body), "")

    async def _other(self, scope: dict[str, Any], send: Any) -> None:
        start = _perf()
        path, method = scope["path"], scope["method"]
        if path in ("/health/ready", "/health/live") and method in ("GET", "HEAD"):
            ok = path == "/health/live" or self.state == _READY
            if ok:
                body = b"Ready" if path == "/health/ready" else b"Healthy"
            elif self.state == _FAILED and self.failure is not None:
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
        if self.swagger is None:
            status, body = 503, wire.NOT_READY_BODY
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
            send, status, [wire.CT_JSON, wire.content_length(body), wire.RFF_FALSE, *tail], body
        )
        self._log(scope, status, start, len(body), ids[0])

    async def _score(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        start = _perf()
        method = scope["method"]
        if method not in ("POST", "GET", "OPTIONS", "HEAD"):
            body = wire.METHOD_NOT_ALLOWED_BODY
            await self._generic(scope, send, 405, body, start, self._score_allow())
            return
        found = wire.scan_headers(scope["headers"])
        rid, legacy, client, error = wire.resolve_ids(found, self.ids)
        if error is not None:
            await self._reject_ids(scope, send, start, found, rid, error)
            return
        ids = (rid, legacy, client)
        script = self.script
        raw_mode = script is not None and script.mode == "raw"
        tail = self._tail(scope, found, ids)

        def reply(
            status: int, body: bytes, *extra: tuple[bytes, bytes], failed: bool = False
        ) -> Any:
            self._log(scope, status, start, len(body), rid)
            rff = wire.RFF_TRUE if failed else wire.RFF_FALSE
            return self._send(
                send, status, [wire.CT_JSON, wire.content_length(body), rff, *extra, *tail], body
            )

        if self.auth is not None:
            preflight = method == "OPTIONS" and (
                not raw_mode or (found[7] is not None and found[8] is not None)
            )
            if not preflight and not self.auth.check(found[6]):
                await reply(401, wire.UNAUTHORIZED_BODY, (b"www-authenticate", b"Bearer"))
                return
        if script is None:
            await reply(503, wire.NOT_READY_BODY, (b"retry-after", b"1"))
            return
        if not raw_mode and method != "GET" and method != "POST":
            if method == "OPTIONS":
                await self._send(
                    send, 200, [wire.CT_HTML, (b"content-length", b"0"), wire.RFF_FALSE, *tail], b""
                )
                self._log(scope, 200, start, 0, rid)
            else:
                await reply(405, wire.SCORE_METHOD_NOT_ALLOWED_BODY, self._score_allow())
            return

        # ----- the request body -----
        body = b""
        if method == "POST" or raw_mode:
            declared = found[5]
            try:
                if declared is not None and declared.isdigit() and int(declared) > self._limit:
                    raise _TooLarge
                body = await self._read_body(receive)
            except _TooLarge:
                message = wire.message_body(
                    f"The request body is larger than the limit of {self._limit} bytes "
                    "(DOCKYARD_MAX_REQUEST_BODY_BYTES); send a smaller body or raise the limit."
                )
                await reply(413, message, wire.CONNECTION_CLOSE)
                return
            except _Disconnected:
                return

        # ----- run() arguments -----
        run = script.run
        args: tuple[Any, ...] = ()
        kwargs: dict[str, Any] = {}
        try:
            if script.mode == "plain":
                value: Any = (
                    plain_post_input(body, found[4])
                    if method == "POST"
                    else plain_get_input(scope["query_string"])
                )
                if script.positional:
                    args = (value,)
                else:
                    kwargs[script.param] = value
            elif script.mode == "schema":
                assert script.schema is not None
                kwargs = (
                    script.schema.from_post(body, found[4])
                    if method == "POST"
                    else script.schema.from_get(scope["query_string"])
                )
            else:
                headers = title_headers(scope["headers"])
                if script.positional:
                    args = (AMLRequest(scope, body, headers),)
                else:
                    kwargs[script.param] = AMLRequest(scope, body, headers)
            if script.wants_headers:
                kwargs["request_headers"] = dict(title_headers(scope["headers"]))
        except InputError as exc:
            await reply(exc.status, wire.message_body(exc.message))
            return
        except Exception:
            logger.exception(
                "Encountered Exception while parsing the request (rid=%s)", rid.decode("latin-1")
            )
            await reply(500, wire.INTERNAL_ERROR_BODY)
            return

        # ----- a slot, then run() -----
        executor = self.executor
        rid_text = rid.decode("latin-1")
        if executor.inline:
            while (
                executor.over_budget()
            ):  # wait a loop turn (not holding a slot) so others get served
                await asyncio.sleep(0)
        gate = self.gate
        if not gate.try_acquire():
            try:
                await gate.acquire()
            except Overloaded as exc:
                message = wire.message_body(
                    f"The service is busy: all {gate.slots} run() slots stayed taken for "
                    f"{self.settings.max_request_wait_time_ms} ms. Retry after {exc.retry_after} s."
                )
                await reply(503, message, (b"retry-after", b"%d" % exc.retry_after))
                return
        keep_slot = False
        try:
            if executor.inline:
                result, elapsed_ms = executor.call_inline(run, args, kwargs, rid_text)
            else:
                result, elapsed_ms = await executor.call_threaded(
                    run, args, kwargs, rid_text, gate.release
                )
        except RunTimeout as exc:
            keep_slot = exc.slot_kept
            if keep_slot:
                logger.error(
                    "Scoring timeout after %d ms (rid=%s): run() could not be interrupted (blocked in native code); "
                    "its slot stays taken until it returns",
                    exc.timeout_ms,
                    rid_text,
                )
            else:
                logger.error("Scoring timeout after %d ms (rid=%s)", exc.timeout_ms, rid_text)
            await reply(
                500, wire.message_body(f"Scoring timeout after {exc.timeout_ms} ms"), failed=True
            )
            return
        except RunFailed as exc:
            logger.error("Encountered Exception (rid=%s): %s", rid_text, exc.traceback_text)
            if self._debug:
                body_out = wire.message_body(
                    wire.RUN_FAILED_MESSAGE,
                    error=f"{type(exc.error).__name__}: {exc.error}",
                    traceback=exc.traceback_text,
                )
            else:
                body_out = wire.RUN_FAILED_BODY
            await reply(500, body_out, failed=True)
            return
        finally:
            if not keep_slot:
                gate.release()
        gate.record(elapsed_ms / 1000)

        # ----- the answer -----
        exec_ms = (b"x-ms-run-fn-exec-ms", b"%.3f" % elapsed_ms)
        if is_response(result):
            await self._send_response_object(scope, send, result, exec_ms, tail, start, rid)
            return
        try:
            out = dump_output(result)
        except Exception:
            logger.exception(
                "Encountered Exception: run() returned a value that is not JSON serializable (rid=%s)",
                rid_text,
            )
            await reply(500, wire.INTERNAL_ERROR_BODY)
            return
        await self._send(
            send, 200, [wire.CT_JSON, wire.content_length(out), wire.RFF_FALSE, exec_ms, *tail], out
        )
        self._log(scope, 200, start, len(out), rid)

    def _score_allow(self) -> tuple[bytes, bytes]:
        """``Allow`` for /score (deliberate difference: azmlinfsrv's 405 has none)."""
        if self.script is not None and self.script.mode == "raw":
            return (b"allow", b"GET, HEAD, OPTIONS, POST")
        return (b"allow", b"GET, OPTIONS, POST")

    async def _read_body(self, receive: Any) -> bytes:
        """The whole request body, never holding more than the limit plus one chunk."""
        message = await receive()
        body = message.get("body", b"")
        if not message.get("more_body", False):
            if len(body) > self._limit:
                raise _TooLarge
            return body
        buffer = bytearray(body)
        while True:
            if len(buffer) > self._limit:
                raise _TooLarge
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            buffer += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if len(buffer) > self._limit:
            raise _TooLarge
        return bytes(buffer)

    async def _send_response_object(
        self,
        scope: dict[str, Any],
        send: Any,
        result: Any,
        exec_ms: tuple[bytes, bytes],
        tail: list[tuple[bytes, bytes]],
        start: float,
        rid: bytes,
    ) -> None:
        """An AMLResponse (or Flask response) from run(): sent as given, plus the server's headers."""
        logger.info("run() output is HTTP Response")
        status, headers, body = response_parts(result)
        if status in (204, 304) or status < 200:
            # werkzeug sends no Content-Length (and no body) on these
            headers = [h for h in headers if h[0].lower() != "content-length"]
            body = b""
        if status >= 500:
            for index, (name, _) in enumerate(headers):
                if name.lower() == "x-ms-run-function-failed":
                    headers[index] = (name, "True")
                    headers[index + 1 :] = [
                        h
                        for h in headers[index + 1 :]
                        if h[0].lower() != "x-ms-run-function-failed"
                    ]
                    break
            else:
                headers.append(("x-ms-run-function-failed", "True"))
        wire_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
        ]
        wire_headers.append(exec_ms)
        if self.cors is not None and any(
            name == b"access-control-allow-origin" for name, _ in wire_headers
        ):
            tail = [h for h in tail if not h[0].startswith(b"access-control-") and h[0] != b"vary"]
        wire_headers.extend(tail)
        await self._send(send, status, wire_headers, body)
        self._log(scope, status, start, len(body), rid)


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
