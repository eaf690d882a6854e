"""``GET /metrics``: the server's metrics in the Prometheus text format (a dockyard addition).

azmlinfsrv answers 404 here (tests/compat/MISMATCHES.md, D5). The route answers during ``init()``
too (a scrape then shows the server starting). With key auth on, it asks for the same
``Authorization: Bearer <key>`` as ``/score`` (a Prometheus scrape config passes it with
``authorization: {credentials: <key>}``, see docs/metrics.md); without a valid key: 401.
With ``DOCKYARD_METRICS=0`` the app has no such route (404).
"""

from __future__ import annotations

import time
from typing import Any

from dockyard.server import wire
from dockyard.server.metrics import Metrics
from dockyard.server.metrics_text import CONTENT_TYPE, render
from dockyard.server.responder import Responder

_perf = time.perf_counter
#: The route's path (tell the lead: it belongs in contract.py beside the other routes).
METRICS_PATH = "/metrics"
_ALLOW = (b"allow", b"GET, HEAD, OPTIONS")
_AUTHORIZATION = b"authorization"


class MetricsRoute:
    """``GET|HEAD /metrics`` -> 200 with the metrics; ``OPTIONS`` -> 200 with ``Allow``."""

    open_during_init = True

    def __init__(self, responder: Responder, metrics: Metrics) -> None:
        self.responder = responder
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        start = _perf()
        r = self.responder
        opened = await r.open_request(scope, send, start, _ALLOW)
        if opened is None:
            return
        ids, tail = opened
        auth = r.auth
        if auth is not None:
            given = next((v for k, v in scope["headers"] if k.lower() == _AUTHORIZATION), None)
            if not auth.check(given):
                body = wire.UNAUTHORIZED_BODY
                headers = [wire.CT_JSON, wire.content_length(body), wire.RFF_FALSE]
                headers += [(b"www-authenticate", b"Bearer"), *tail]
                await r.send_response(send, 401, headers, body)
                r.log_access(scope, 401, start, len(body), ids[0])
                return
        settings = r.settings
        body = render(self.metrics.board, settings.workers, settings.service_name or "")
        headers = [(b"content-type", CONTENT_TYPE), wire.content_length(body), *tail]
        await r.send_response(send, 200, headers, b"" if scope["method"] == "HEAD" else body)
        r.count(scope, 200, start)  # scrapes come every few seconds: no access line
