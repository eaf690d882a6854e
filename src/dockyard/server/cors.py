"""CORS from ``AML_CORS_ORIGINS``, with the headers azmlinfsrv (flask-cors) sends, in the same order.

azmlinfsrv calls ``flask_cors.CORS(blueprint, methods=["GET", "POST"], origins=[...])``. What that
does, reproduced here:

* Origins are the comma-separated entries, stripped. ``*`` allows any origin; an entry with regex
  characters (``*\\]?$^[]()``) is a case-insensitive regex matched at the start; others compare
  case-insensitively.
* A request whose ``Origin`` matches gets ``Access-Control-Allow-Origin: <its origin>``; a
  non-matching one gets no CORS headers; a request *without* ``Origin`` still gets
  ``Access-Control-Allow-Origin`` (``*`` if allowed, else the alphabetically first literal origin).
* A preflight (``OPTIONS`` with ``Access-Control-Request-Method`` GET or POST) also gets
  ``Access-Control-Allow-Headers`` (the requested ones, sorted) and
  ``Access-Control-Allow-Methods: GET, POST``.
* ``Vary: Origin`` unless the answer is ``*`` or there is a single literal origin.
* A response that already carries ``Access-Control-Allow-Origin`` (set by run()) is left alone.
"""

from __future__ import annotations

import re

_REGEX_HINTS = frozenset("*\\]?$^[]()")
_METHODS = "GET, POST"


class Cors:
    """The CORS policy for one ``AML_CORS_ORIGINS`` value."""

    def __init__(self, origins: str) -> None:
        entries = [".*" if o.strip() == "*" else o.strip() for o in origins.split(",")]
        self.allow_all = ".*" in entries
        self.patterns: list[str | re.Pattern[str]] = [
            re.compile(e, re.IGNORECASE) if not _REGEX_HINTS.isdisjoint(e) else e for e in entries
        ]
        self.has_regex = any(isinstance(p, re.Pattern) for p in self.patterns)
        self.literals = sorted(p for p in self.patterns if isinstance(p, str))
        self.origin_list = [p.pattern if isinstance(p, re.Pattern) else p for p in self.patterns]

    def _matches(self, origin: str) -> bool:
        folded = origin.casefold()
        for pattern in self.patterns:
            if isinstance(pattern, re.Pattern):
                if pattern.match(origin):
                    return True
            elif pattern.casefold() == folded:
                return True
        return False

    def headers(
        self,
        method: str,
        origin: str | None,
        request_method: str | None,
        request_headers: str | None,
        private_network: str | None,
    ) -> list[tuple[bytes, bytes]]:
        """The CORS response headers for a request (empty when CORS does not apply)."""
        if origin:
            if not self._matches(origin):
                return []
            allow_origin = origin
        elif self.allow_all:
            allow_origin = "*"
        elif self.literals:
            allow_origin = self.literals[0]
        else:
            return []
        out = [(b"access-control-allow-origin", allow_origin.encode("latin-1"))]
        if private_network is not None and private_network == "true":
            out.append((b"access-control-allow-private-network", b"false"))
        if method == "OPTIONS":
            wanted = (request_method or "").upper()
            if wanted and wanted in _METHODS:
                if request_headers:
                    allowed = ", ".join(sorted(h.strip() for h in request_headers.split(",")))
                    if allowed:
                        out.append((b"access-control-allow-headers", allowed.encode("latin-1")))
                out.append((b"access-control-allow-methods", _METHODS.encode()))
        if allow_origin != "*" and (len(self.patterns) > 1 or self.has_regex):
            out.append((b"vary", b"Origin"))
        return out
