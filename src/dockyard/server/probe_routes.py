"""The probes: ``/`` (azmlinfsrv's liveness), ``/health/live`` and ``/health/ready``.

All three answer at once, also while ``init()`` runs: ``/`` and ``/health/live`` say the process
is up, ``/health/ready`` says 200 once ``init()`` has finished and 503 (with the reason) before
that or after a failed start. ``/`` carries the request-id headers as azmlinfsrv's does; the
``/health/*`` answers are dockyard's own. Probes come every few seconds, so their answers are
not written to the access log (a 405 or 431 is); every answer is counted in the metrics.
"""

from __future__ import annotations

import time
from typing import Any

from dockyard.server import contract, wire
from dockyard.server.responder import FAILED, READY, Responder

_perf = time.perf_counter
_HTML_ALLOW = (b"allow", b"GET, HEAD, OPTIONS")
_PLAIN_TEXT = (b"content-type", b"text/plain; charset=utf-8")


class RootRoute:
    """``GET|HEAD /`` -> 200 ``Healthy``; ``OPTIONS /`` -> 200 with ``Allow``; others 405."""

    open_during_init = True

    def __init__(self, responder: Responder) -> None:
        self.responder = responder

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        r = self.responder
        start = _perf()
        opened = await r.open_request(scope, send, start, _HTML_ALLOW)
        if opened is None:
            return
        headers = [wire.CT_HTML, (b"content-length", b"7"), *opened[1]]
        await r.send_response(send, 200, headers, b"Healthy")
        r.count(scope, 200, start)


class HealthRoute:
    """``GET|HEAD /health/live`` (always 200) or ``/health/ready`` (200 once init() is done)."""

    open_during_init = True

    def __init__(self, responder: Responder, path: str) -> None:
        self.responder = responder
        self.readiness = path == contract.READINESS_PATH

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        r = self.responder
        start = _perf()
        if scope["method"] not in ("GET", "HEAD"):
            body = wire.METHOD_NOT_ALLOWED_BODY
            await r.send_error(scope, send, 405, body, start, (b"allow", b"GET, HEAD"))
            return
        ok = not self.readiness or r.state == READY
        if ok:
            body = b"Ready" if self.readiness else b"Healthy"
        elif r.state == FAILED and r.failure is not None:
            body = f"Not ready: {r.failure.summary}".encode()
        else:
            body = b"Not ready: init() has not finished"
        headers = [_PLAIN_TEXT, wire.content_length(body)]
        await r.send_response(send, 200 if ok else 503, headers, body)
        r.count(scope, 200 if ok else 503, start)
