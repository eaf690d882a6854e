"""The ``/score`` route: request ids, auth, the body, run()'s arguments, a slot, run(), the answer.

This is the hot path, measured against a bare ASGI app (``benchmarks/server/``): it does its work
in one coroutine with no per-request indirection beyond what each step needs. Reading the body
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
from dockyard.server.inputs import InputError, plain_get_input, plain_post_input
from dockyard.server.limits import Overloaded
from dockyard.server.replies import Responder
from dockyard.server.request import AMLRequest, title_headers
from dockyard.server.responses import dump_output, is_response, response_parts

logger = logging.getLogger("dockyard.server")
_perf = time.perf_counter


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class ScoreRoute(Responder):
    """``GET|POST|OPTIONS|HEAD /score`` (a base of :class:`dockyard.server.app.ScoringApp`)."""

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
            await reply(503, self._not_ready_body(), (b"retry-after", b"1"))
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
