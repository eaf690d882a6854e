"""Byte-level building blocks of responses: header constants, request-id handling, the generic bodies.

Header order follows azmlinfsrv (Flask): the response's own headers, then the CORS headers, then
``x-ms-server-version``, ``x-request-id``, ``x-ms-request-id``, ``x-ms-client-request-id`` and an
echoed ``TraceId``. Names are sent in lower case (HTTP header names are case-insensitive).
"""

from __future__ import annotations

import itertools
import json
import random
import uuid

HEADER_LIMIT = 100

CT_JSON = (b"content-type", b"application/json")
CT_HTML = (b"content-type", b"text/html; charset=utf-8")
RFF_FALSE = (b"x-ms-run-function-failed", b"False")
RFF_TRUE = (b"x-ms-run-function-failed", b"True")
CONNECTION_CLOSE = (b"connection", b"close")

# Where :func:`scan_headers` puts each request header the server reads: name the slot, e.g.
# ``headers[CONTENT_TYPE]`` (plain integers: reading a slot costs no more than ``headers[4]``).
(
    REQUEST_ID,
    MS_REQUEST_ID,
    CLIENT_REQUEST_ID,
    TRACE_ID,
    CONTENT_TYPE,
    CONTENT_LENGTH,
    AUTHORIZATION,
    ORIGIN,
    AC_REQUEST_METHOD,
    AC_REQUEST_HEADERS,
    AC_REQUEST_PRIVATE_NETWORK,
) = range(11)

# request header name -> its slot in the list :func:`scan_headers` returns
INTEREST = {
    b"x-request-id": REQUEST_ID,
    b"x-ms-request-id": MS_REQUEST_ID,
    b"x-ms-client-request-id": CLIENT_REQUEST_ID,
    b"traceid": TRACE_ID,
    b"content-type": CONTENT_TYPE,
    b"content-length": CONTENT_LENGTH,
    b"authorization": AUTHORIZATION,
    b"origin": ORIGIN,
    b"access-control-request-method": AC_REQUEST_METHOD,
    b"access-control-request-headers": AC_REQUEST_HEADERS,
    b"access-control-request-private-network": AC_REQUEST_PRIVATE_NETWORK,
}
NSLOTS = len(INTEREST)


#: What :func:`scan_headers` returns: the value of each header of :data:`INTEREST`, or ``None``.
ScannedHeaders = list[bytes | None]


def scan_headers(raw: list[tuple[bytes, bytes]]) -> ScannedHeaders:
    """One pass over the request headers, keeping those the server reads (repeats joined by ",")."""
    found: ScannedHeaders = [None] * NSLOTS
    get = INTEREST.get
    for name, value in raw:
        slot = get(name)
        if slot is not None:
            previous = found[slot]
            found[slot] = value if previous is None else previous + b"," + value
    return found


def message_body(message: str, **extra: str) -> bytes:
    """``{"message": ...}`` as azmlinfsrv's ErrorResponse serialises it."""
    return json.dumps({"message": message, **extra}).encode()


NOT_FOUND_BODY = message_body(
    "The requested URL was not found on the server. If you entered the URL manually please check your "
    "spelling and try again."
)
METHOD_NOT_ALLOWED_BODY = message_body("The method is not allowed for the requested URL.")
SCORE_METHOD_NOT_ALLOWED_BODY = message_body("Method not allowed")
RUN_FAILED_MESSAGE = "An unexpected error occurred in scoring script. Check the logs for more info."
RUN_FAILED_BODY = message_body(RUN_FAILED_MESSAGE)
INTERNAL_ERROR_BODY = message_body(
    "An unexpected internal error occurred. Check the logs for more info."
)
RID_TOO_LONG_BODY = message_body(f"x-request-id must not exceed {HEADER_LIMIT} characters")
CLIENT_ID_TOO_LONG_BODY = message_body(
    f"x-ms-request-id and x-ms-client-request-id must not exceed {HEADER_LIMIT} characters"
)
UNAUTHORIZED_BODY = message_body(
    "Missing or invalid key: send the header 'Authorization: Bearer <key>' with the service's primary "
    "or secondary key (service.get_keys())."
)
NOT_READY_BODY = message_body(
    "The service is starting: the scoring script's init() has not finished yet. Retry after the "
    "Retry-After seconds (GET /health/ready answers 200 once it is ready)."
)


class RequestIds:
    """Generates request ids: a random UUID4-shaped prefix per process and a counter (unique, cheap)."""

    def __init__(self) -> None:
        self.prefix = str(uuid.uuid4())[:24]
        self._counter = itertools.count(random.getrandbits(40))

    def new(self) -> bytes:
        return f"{self.prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}".encode()


def resolve_ids(found: ScannedHeaders, ids: RequestIds) -> tuple[bytes, bytes, bytes, bytes | None]:
    """azmlinfsrv's request-id rules: returns ``(request_id, legacy_id, client_id, error_body)``.

    ``request_id`` comes from ``x-request-id`` or is generated; ``x-ms-request-id`` (deprecated)
    doubles as the client id; otherwise the legacy id is the client id or the request id. An id
    over 100 characters gives a 431 body (and, for the first check, no request id at all).
    """
    rid = found[REQUEST_ID]
    if rid is None:
        rid = ids.new()
    elif len(rid) > HEADER_LIMIT:
        return b"", b"", b"", RID_TOO_LONG_BODY
    legacy = found[MS_REQUEST_ID] or b""
    client = found[CLIENT_REQUEST_ID] or b""
    if legacy:
        if not client:
            client = legacy
    else:
        legacy = client or rid
    if len(legacy) > HEADER_LIMIT or len(client) > HEADER_LIMIT:
        return rid, b"", b"", CLIENT_ID_TOO_LONG_BODY
    return rid, legacy, client, None


def id_headers(
    rid: bytes,
    legacy: bytes,
    client: bytes,
    trace_id: bytes | None,
    server_version: tuple[bytes, bytes] | None,
) -> list[tuple[bytes, bytes]]:
    """The headers azmlinfsrv's after-request hook appends."""
    out = []
    if server_version is not None:
        out.append(server_version)
    if rid:
        out.append((b"x-request-id", rid))
    if legacy:
        out.append((b"x-ms-request-id", legacy))
    if client:
        out.append((b"x-ms-client-request-id", client))
    if trace_id is not None:
        out.append((b"traceid", trace_id))
    return out


def content_length(body: bytes) -> tuple[bytes, bytes]:
    return (b"content-length", b"%d" % len(body))
