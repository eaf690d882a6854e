"""Who may use the dashboard: a request from this machine's browser that holds the token.

The token is printed when ``dockyard ui`` starts (``http://127.0.0.1:PORT/?token=...``, as Jupyter
does). A request that carries it in ``?token=`` gets it as a cookie (HttpOnly, SameSite=Strict)
and is sent on to the same address without it; later requests carry the cookie, or the header
``Authorization: token <token>`` (scripts). Every request is also checked for

* its ``Host``: only the address the dashboard listens on (and ``localhost``/``127.0.0.1`` of its
  port), which defeats DNS rebinding;
* its ``Origin`` (when the browser sends one): only the dashboard's own; no CORS header is ever
  sent, so another site's page can neither read nor change anything.

A refusal is 403 (wrong host or origin) or 401 (no token), with a text that says what to do.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Headers of every answer: no framing, no sniffing, no referrer (the URL may hold the token),
#: and only the dashboard's own scripts, styles and connections.
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"cache-control", b"no-store"),
]


def new_token() -> str:
    return secrets.token_urlsafe(24)


#: Addresses that listen on every interface: the machine's names are not known in advance.
WILDCARDS = ("0.0.0.0", "::", "")


def allowed_hosts(host: str, port: int) -> frozenset[str] | None:
    """The ``Host`` values a request may carry: the address listened on and loopback names
    (None for a wildcard address: any host, the token and the origin rule still apply)."""
    if host in WILDCARDS:
        return None
    names = {host, "127.0.0.1", "localhost", "[::1]"}
    if ":" in host and not host.startswith("["):
        names.add(f"[{host}]")
    return frozenset(f"{name}:{port}" for name in names)


class AccessGuard:
    """ASGI middleware: refuses other hosts and origins, and requests without the token."""

    def __init__(self, app: ASGIApp, token: str, host: str, port: int) -> None:
        self.app = app
        self.token = token
        self.hosts = allowed_hosts(host, port)
        self.cookie = f"dockyard_ui_{port}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if self.hosts is not None and host not in self.hosts:
            await _refuse(send, 403, f"Host {host!r} is not this dashboard's address; open "
                          f"http://{sorted(self.hosts)[0]}/ as `dockyard ui` printed it.\n")  # fmt: skip
            return
        origin = headers.get("origin")
        if origin is not None and origin != f"http://{host}":  # only its own pages
            await _refuse(send, 403, f"Requests from origin {origin!r} are refused: the "
                          "dashboard answers only its own pages.\n")  # fmt: skip
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if self._matches(query.get("token")):
            if scope["method"] in ("GET", "HEAD"):
                await self._redirect_with_cookie(scope, send, query)
                return
        elif not (self._matches(_cookie(headers, self.cookie)) or self._matches(_bearer(headers))):
            await _refuse(send, 401, "This dashboard needs its access token: open the URL that "
                          "`dockyard ui` printed (it ends with ?token=...), or start it again "
                          "to get a new one.\n")  # fmt: skip
            return
        await self.app(scope, receive, _with_headers(send))

    def _matches(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(str(candidate), self.token)

    async def _redirect_with_cookie(self, scope: Scope, send: Send, query: dict[str, str]) -> None:
        """Store the token in a cookie and go to the same address without it in the URL."""
        rest = urlencode({k: v for k, v in query.items() if k != "token"})
        location = scope.get("path", "/") + (f"?{rest}" if rest else "")
        cookie = f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict"
        await send({"type": "http.response.start", "status": 303, "headers": [
            (b"location", location.encode("latin-1")), (b"set-cookie", cookie.encode("latin-1")),
            (b"content-length", b"0"), *SECURITY_HEADERS]})  # fmt: skip
        await send({"type": "http.response.body", "body": b""})


def _cookie(headers: dict[str, str], name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header holds no token
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def _bearer(headers: dict[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() in ("token", "bearer") else None


def _with_headers(send: Send) -> Send:
    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
        await send(message)

    return sender


async def _refuse(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
