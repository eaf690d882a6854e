"""``GET /swagger.json?version=2|3|3.1``: the OpenAPI document built at start-up.

The documents themselves are built by :mod:`dockyard.server.swagger`; this route picks the
version (2 when none is asked for), answers 404 for an unknown or unsupported one and 503 while
the script is not loaded. ``OPTIONS`` answers 200 with ``Allow``; other methods 405.
"""

from __future__ import annotations

import time
from typing import Any

from dockyard.server import wire
from dockyard.server.responder import Responder
from dockyard.server.run_input import parse_query_pairs
from dockyard.server.swagger import SwaggerError

_perf = time.perf_counter
_HTML_ALLOW = (b"allow", b"GET, HEAD, OPTIONS")


class SwaggerRoute:
    """``GET|HEAD|OPTIONS /swagger.json`` (waits for init() like ``/score``)."""

    open_during_init = False

    def __init__(self, responder: Responder) -> None:
        self.responder = responder

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        start = _perf()
        r = self.responder
        opened = await r.open_request(scope, send, start, _HTML_ALLOW)
        if opened is None:
            return
        ids, tail = opened
        retry: tuple[tuple[bytes, bytes], ...] = ()
        if r.swagger is None:
            status, body, retry = 503, r.not_ready_body(), ((b"retry-after", b"1"),)
        else:
            query = parse_query_pairs(scope["query_string"])
            version = next((v for k, v in query if k == "version"), "2")
            try:
                status, body = 200, r.swagger.get(version)
            except SwaggerError as exc:
                status, body = 404, wire.message_body(exc.message)
        await r.send_response(
            send,
            status,
            [wire.CT_JSON, wire.content_length(body), wire.RFF_FALSE, *retry, *tail],
            body,
        )
        r.log_access(scope, status, start, len(body), ids[0])
