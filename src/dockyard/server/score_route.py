"""The ``/score`` route: request ids, admission, the body, run()'s arguments, a slot, run(), the answer.

:meth:`ScoreRoute.__call__` reads as those steps, in order. Each step that refuses the request
raises :class:`EarlyAnswer` (401, 503, 405, 413, 400/415, 500) and the route sends it with the
request's headers, so the happy path carries no status checks between the steps.

This is the hot path, measured against a bare ASGI app (``benchmarks/server/``): the steps that
wait (the body, a slot, run() on a runner thread) are awaited in the one coroutine, the others
are plain calls; no per-request object is built beyond what a step needs. Reading the body
enforces the size limit (413, chunked bodies too, never holding more than the limit plus one
chunk); :meth:`ScoreRoute._send_response_object` sends an ``AMLResponse`` returned by run().
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from dockyard.server import wire
from dockyard.server.executor import RunFailed, RunTimeout
from dockyard.server.limits import Overloaded
from dockyard.server.request import AMLRequest, title_headers
from dockyard.server.responder import Header, Responder
from dockyard.server.run_input import InputError, plain_get_input, plain_post_input
from dockyard.server.run_output import dump_output, is_response, response_parts
from dockyard.server.user_script import UserScript
from dockyard.server.wire import (
    AC_REQUEST_METHOD,
    AUTHORIZATION,
    CONTENT_LENGTH,
    CONTENT_TYPE,
    ORIGIN,
    ScannedHeaders,
    resolve_ids,
    scan_headers,
)

logger = logging.getLogger("dockyard.server")
_perf = time.perf_counter
_METHODS = frozenset({"POST", "GET", "OPTIONS", "HEAD"})


class EarlyAnswer(Exception):
    """The answer to a request that does not get run()'s: status, body and extra headers."""

    def __init__(
        self,
        status: int,
        body: bytes,
        *extra: Header,
        failed: bool = False,
        content_type: Header = wire.CT_JSON,
    ) -> None:
        super().__init__(status)
        self.status, self.body, self.extra = status, body, extra
        self.failed, self.content_type = failed, content_type


class _Disconnected(Exception):
    """The client went away while sending the body: nothing to answer."""


class ScoreRoute:
    """``GET|POST|OPTIONS|HEAD /score``: run() for one request."""

    open_during_init = False

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        # Fixed for the app's life: read once here, not per request.
        self.auth, self.executor, self.gate = responder.auth, responder.executor, responder.gate
        self.limit = responder.settings.max_request_body_bytes
        self.debug = responder.settings.debug
        self.max_wait_ms = responder.settings.max_request_wait_time_ms
        self.metrics = responder.metrics  # None when metrics are off

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        start = _perf()
        r = self.responder
        method = scope["method"]
        if method not in _METHODS:
            await r.send_error(scope, send, 405, wire.METHOD_NOT_ALLOWED_BODY, start, self._allow())
            return
        # 1. The headers the server reads, and the request ids (431 when one is too long).
        headers = scan_headers(scope["headers"])
        rid, legacy, client, error = resolve_ids(headers, r.ids)
        if error is not None:
            await r.reject_ids(scope, send, start, headers, rid, error)
            return
        tail = r.after_request_headers(scope, headers, (rid, legacy, client))
        rid_text = rid.decode("latin-1")
        try:
            # 2. May it call run()? (the key, the script loaded, the method)
            script = self._admit(method, headers)
            # 3. The body (413 past the limit).
            body = b""
            if method == "POST" or script.mode == "raw":
                body = await self._read_body(receive, headers[CONTENT_LENGTH])
            # 4. run()'s arguments (400/415 for input run() cannot take).
            args, kwargs = self._arguments(script, scope, method, body, headers, rid_text)
            # 5. A slot (503 when none frees in time), then run() (500 when it fails).
            executor, gate = self.executor, self.gate
            if executor.inline:
                while executor.over_budget():  # wait a loop turn (holding no slot): others go first
                    await asyncio.sleep(0)
            if not gate.try_acquire():
                await self._wait_for_slot()
            keep_slot = False
            try:
                if executor.inline:
                    result, elapsed_ms = executor.call_inline(script.run, args, kwargs, rid_text)
                else:
                    result, elapsed_ms = await executor.call_threaded(
                        script.run, args, kwargs, rid_text, gate.release
                    )
            except (RunTimeout, RunFailed) as exc:
                keep_slot = isinstance(exc, RunTimeout) and exc.slot_kept
                await self._send_early(
                    scope, send, self._run_failed(exc, rid_text), tail, start, rid
                )
                return
            finally:
                if not keep_slot:
                    gate.release()
            gate.record(elapsed_ms / 1000)
            if self.metrics is not None:
                self.metrics.run(elapsed_ms / 1000)
            # 6. The answer: a response object as given, any other value as JSON.
            exec_ms = (b"x-ms-run-fn-exec-ms", b"%.3f" % elapsed_ms)
            if is_response(result):
                await self._send_response_object(scope, send, result, exec_ms, tail, start, rid)
                return
            out = self._serialise(result, rid_text)
        except EarlyAnswer as answer:
            await self._send_early(scope, send, answer, tail, start, rid)
            return
        except _Disconnected:
            return
        await r.send_response(
            send, 200, [wire.CT_JSON, wire.content_length(out), wire.RFF_FALSE, exec_ms, *tail], out
        )
        r.log_access(scope, 200, start, len(out), rid)

    # ----- the steps -----
    def _admit(self, method: str, headers: ScannedHeaders) -> UserScript:
        """The loaded script, if this request may call its run(); else raises EarlyAnswer."""
        script = self.responder.script
        raw_mode = script is not None and script.mode == "raw"
        if self.auth is not None:
            preflight = method == "OPTIONS" and (
                not raw_mode
                or (headers[ORIGIN] is not None and headers[AC_REQUEST_METHOD] is not None)
            )
            if not preflight and not self.auth.check(headers[AUTHORIZATION]):
                raise EarlyAnswer(401, wire.UNAUTHORIZED_BODY, (b"www-authenticate", b"Bearer"))
        if script is None:
            if self.metrics is not None:
                self.metrics.rejected("starting")
            raise EarlyAnswer(503, self.responder.not_ready_body(), (b"retry-after", b"1"))
        if not raw_mode and method != "GET" and method != "POST":
            if method == "OPTIONS":
                raise EarlyAnswer(200, b"", content_type=wire.CT_HTML)
            raise EarlyAnswer(405, wire.SCORE_METHOD_NOT_ALLOWED_BODY, self._allow())
        return script

    async def _read_body(self, receive: Any, declared: bytes | None) -> bytes:
        """The whole request body, never holding more than the limit plus one chunk."""
        limit = self.limit
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise self._too_large()
        message = await receive()
        body = message.get("body", b"")
        if not message.get("more_body", False):
            if len(body) > limit:
                raise self._too_large()
            return body
        buffer = bytearray(body)
        while True:
            if len(buffer) > limit:
                raise self._too_large()
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            buffer += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if len(buffer) > limit:
            raise self._too_large()
        return bytes(buffer)

    def _arguments(
        self,
        script: UserScript,
        scope: dict[str, Any],
        method: str,
        body: bytes,
        headers: ScannedHeaders,
        rid_text: str,
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """run()'s positional and keyword arguments, by the script's input mode."""
        args: tuple[Any, ...] = ()
        kwargs: dict[str, Any] = {}
        try:
            if script.mode == "plain":
                value: Any = (
                    plain_post_input(body, headers[CONTENT_TYPE])
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
                    script.schema.from_post(body, headers[CONTENT_TYPE])
                    if method == "POST"
                    else script.schema.from_get(scope["query_string"])
                )
            else:
                request = AMLRequest(scope, body, title_headers(scope["headers"]))
                if script.positional:
                    args = (request,)
                else:
                    kwargs[script.param] = request
            if script.wants_headers:
                kwargs["request_headers"] = dict(title_headers(scope["headers"]))
        except InputError as exc:
            raise EarlyAnswer(exc.status, wire.message_body(exc.message)) from None
        except Exception:
            logger.exception("Encountered Exception while parsing the request (rid=%s)", rid_text)
            raise EarlyAnswer(500, wire.INTERNAL_ERROR_BODY) from None
        return args, kwargs

    async def _wait_for_slot(self) -> None:
        """Queue for a run() slot; past ``max_request_wait_time_ms``, raises EarlyAnswer (503)."""
        gate, metrics = self.gate, self.metrics
        start = _perf()
        try:
            await gate.acquire()
        except Overloaded as exc:
            if metrics is not None:
                metrics.waited(_perf() - start)
                metrics.rejected("overload")
            message = wire.message_body(
                f"The service is busy: all {gate.slots} run() slots stayed taken for "
                f"{self.max_wait_ms} ms. Retry after {exc.retry_after} s."
            )
            raise EarlyAnswer(503, message, (b"retry-after", b"%d" % exc.retry_after)) from None
        if metrics is not None:
            metrics.waited(_perf() - start)

    def _run_failed(self, exc: RunTimeout | RunFailed, rid_text: str) -> EarlyAnswer:
        """Log (and count) a run() that timed out or raised; the 500 to answer with."""
        if self.metrics is not None:
            if isinstance(exc, RunTimeout):
                self.metrics.timed_out()
            else:
                self.metrics.run_failed()
        if isinstance(exc, RunTimeout):
            if exc.slot_kept:
                logger.error(
                    "Scoring timeout after %d ms (rid=%s): run() could not be interrupted "
                    "(blocked in native code); its slot stays taken until it returns",
                    exc.timeout_ms,
                    rid_text,
                )
            else:
                logger.error("Scoring timeout after %d ms (rid=%s)", exc.timeout_ms, rid_text)
            body = wire.message_body(f"Scoring timeout after {exc.timeout_ms} ms")
            return EarlyAnswer(500, body, failed=True)
        logger.error("Encountered Exception (rid=%s): %s", rid_text, exc.traceback_text)
        if self.debug:
            body = wire.message_body(
                wire.RUN_FAILED_MESSAGE,
                error=f"{type(exc.error).__name__}: {exc.error}",
                traceback=exc.traceback_text,
            )
        else:
            body = wire.RUN_FAILED_BODY
        return EarlyAnswer(500, body, failed=True)

    @staticmethod
    def _serialise(result: Any, rid_text: str) -> bytes:
        """run()'s value as JSON bytes; raises EarlyAnswer (500) when it is not serialisable."""
        try:
            return dump_output(result)
        except Exception:
            logger.exception(
                "Encountered Exception: run() returned a value that is not JSON serializable (rid=%s)",
                rid_text,
            )
            raise EarlyAnswer(500, wire.INTERNAL_ERROR_BODY) from None

    # ----- answers -----
    async def _send_early(
        self,
        scope: dict[str, Any],
        send: Any,
        answer: EarlyAnswer,
        tail: list[Header],
        start: float,
        rid: bytes,
    ) -> None:
        r = self.responder
        r.log_access(scope, answer.status, start, len(answer.body), rid)
        rff = wire.RFF_TRUE if answer.failed else wire.RFF_FALSE
        headers = [answer.content_type, wire.content_length(answer.body), rff, *answer.extra]
        await r.send_response(send, answer.status, [*headers, *tail], answer.body)

    def _allow(self) -> Header:
        """``Allow`` for /score (deliberate difference: azmlinfsrv's 405 has none)."""
        script = self.responder.script
        if script is not None and script.mode == "raw":
            return (b"allow", b"GET, HEAD, OPTIONS, POST")
        return (b"allow", b"GET, OPTIONS, POST")

    def _too_large(self) -> EarlyAnswer:
        message = wire.message_body(
            f"The request body is larger than the limit of {self.limit} bytes "
            "(DOCKYARD_MAX_REQUEST_BODY_BYTES); send a smaller body or raise the limit."
        )
        return EarlyAnswer(413, message, wire.CONNECTION_CLOSE)

    async def _send_response_object(
        self,
        scope: dict[str, Any],
        send: Any,
        result: Any,
        exec_ms: Header,
        tail: list[Header],
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
        if self.responder.cors is not None and any(
            name == b"access-control-allow-origin" for name, _ in wire_headers
        ):
            tail = [h for h in tail if not h[0].startswith(b"access-control-") and h[0] != b"vary"]
        wire_headers.extend(tail)
        r = self.responder
        await r.send_response(send, status, wire_headers, body)
        r.log_access(scope, status, start, len(body), rid)
