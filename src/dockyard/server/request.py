"""The request object an ``@rawhttp`` run() receives: the commonly used part of Flask's API.

azmlinfsrv hands ``@rawhttp`` scripts a ``flask.Request``. :class:`AMLRequest` offers the same
attributes and methods (``method``, ``path``, ``full_path``, ``url``, ``args``, ``headers``,
``get_data()``, ``data``, ``json``/``get_json()``, ``form``, ``files``, ``values``, ``content_type``,
``mimetype``, ``is_json``, ``remote_addr``, ``environ``...) built from the ASGI request, with the
same quirks: ``data`` is empty for form bodies, ``get_data(as_text=True)`` replaces undecodable
bytes, ``json`` on a non-JSON content type raises (werkzeug answers 415 there).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from dockyard.server.datastructures import (
    FileStorage,
    Headers,
    MultiDict,
    parse_multipart,
    parse_options_header,
)
from dockyard.server.run_input import parse_query_pairs

FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class HTTPError(Exception):
    """An HTTP-level error raised by a request accessor (werkzeug raises HTTPException there)."""

    code = 400
    description = "Bad Request"

    def __init__(self, description: str | None = None) -> None:
        if description is not None:
            self.description = description
        super().__init__(f"{self.code} {type(self).__name__}: {self.description}")


class BadRequest(HTTPError):
    code = 400


class UnsupportedMediaType(HTTPError):
    code = 415


def is_json_mimetype(mimetype: str) -> bool:
    """werkzeug's rule: ``application/json`` or ``application/<anything>+json``."""
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def title_headers(raw: Sequence[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """ASGI headers as a WSGI app sees them: ``X-Foo`` names, repeated headers joined by commas."""
    merged: dict[str, str] = {}
    for name, value in raw:
        if b"_" in name:
            continue  # gunicorn drops these (they would collide with dash names in a WSGI environ)
        key = name.decode("latin-1").title()
        text = value.decode("latin-1")
        merged[key] = f"{merged[key]},{text}" if key in merged else text
    return list(merged.items())


class AMLRequest:
    """An HTTP request, as ``@rawhttp`` ``run(request)`` receives it (Flask-compatible subset)."""

    def __init__(
        self, scope: dict[str, Any], body: bytes, headers: list[tuple[str, str]] | None = None
    ) -> None:
        self.scope = scope
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.root_path: str = scope.get("root_path", "")
        self.script_root = self.root_path
        self.query_string: bytes = scope.get("query_string", b"")
        self.headers = Headers(headers if headers is not None else title_headers(scope["headers"]))
        self.scheme: str = scope.get("scheme", "http")
        client = scope.get("client")
        self.remote_addr: str | None = client[0] if client else None
        self._body = body
        self._cached: bytes | None = None  # what get_data() returns once called (werkzeug caches)
        self.stream = io.BytesIO(body)
        self.input_stream = self.stream

    # ----- URL -----
    @property
    def full_path(self) -> str:
        return f"{self.path}?{self.query_string.decode('latin-1')}"

    @property
    def host(self) -> str:
        host = self.headers.get("Host")
        if host:
            return host
        server = self.scope.get("server")
        if server:
            return f"{server[0]}:{server[1]}"
        return "localhost"

    @property
    def host_url(self) -> str:
        return f"{self.scheme}://{self.host}/"

    @property
    def url_root(self) -> str:
        return f"{self.scheme}://{self.host}{self.root_path}/"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}{self.root_path}{self.path}"

    @property
    def url(self) -> str:
        qs = self.query_string.decode("latin-1")
        return f"{self.base_url}?{qs}" if qs else self.base_url

    @property
    def is_secure(self) -> bool:
        return self.scheme in {"https", "wss"}

    @property
    def access_route(self) -> list[str]:
        forwarded = self.headers.get("X-Forwarded-For")
        if forwarded:
            return [part.strip() for part in forwarded.split(",")]
        return [self.remote_addr] if self.remote_addr else []

    @cached_property
    def args(self) -> MultiDict:
        return MultiDict(parse_query_pairs(self.query_string))

    # ----- body -----
    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @property
    def mimetype(self) -> str:
        return parse_options_header(self.content_type or "")[0]

    @property
    def mimetype_params(self) -> dict[str, str]:
        return parse_options_header(self.content_type or "")[1]

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    @property
    def content_encoding(self) -> str | None:
        return self.headers.get("Content-Encoding")

    @property
    def user_agent(self) -> str:
        return self.headers.get("User-Agent", "")

    @property
    def is_json(self) -> bool:
        return is_json_mimetype(self.mimetype)

    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> Any:
        """The raw body (bytes), or text with ``as_text=True`` (undecodable bytes replaced).

        As in werkzeug, a form body that was parsed (``form``/``files``) before the first call
        has been consumed: ``get_data()`` then returns ``b""``.
        """
        if parse_form_data:
            self._form_and_files  # noqa: B018 - parses, consuming a form body
        if self._cached is None:
            self._cached = self._body
        return self._cached.decode("utf-8", "replace") if as_text else self._cached

    @property
    def data(self) -> bytes:
        """The body, except for form bodies (parsed into ``form``/``files``), which give ``b""``."""
        return self.get_data(parse_form_data=True)

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """The body parsed as JSON; ``None`` with ``silent=True`` when it is not JSON."""
        if not (force or self.is_json):
            if silent:
                return None
            raise UnsupportedMediaType(
                "Did not attempt to load JSON data because the request Content-Type was not 'application/json'."
            )
        try:
            return json.loads(self.get_data())
        except ValueError as exc:
            if silent:
                return None
            raise BadRequest(f"Failed to decode JSON object: {exc}") from None

    @property
    def json(self) -> Any:
        return self.get_json()

    @cached_property
    def _form_and_files(self) -> tuple[MultiDict, MultiDict]:
        mimetype, params = parse_options_header(self.content_type or "")
        if mimetype in FORM_MIMETYPES and self._cached is None:
            self._cached = b""  # the stream is consumed by the form parser
        if mimetype == "application/x-www-form-urlencoded":
            return MultiDict(parse_query_pairs(self._body)), MultiDict()
        if mimetype == "multipart/form-data" and params.get("boundary"):
            return parse_multipart(self._body, params["boundary"])
        return MultiDict(), MultiDict()

    @property
    def form(self) -> MultiDict:
        return self._form_and_files[0]

    @property
    def files(self) -> MultiDict:
        return self._form_and_files[1]

    @property
    def values(self) -> MultiDict:
        combined = MultiDict(self.args.items(multi=True))
        if self.method != "GET":
            for key, value in self.form.items(multi=True):
                combined.add(key, value)
        return combined

    @cached_property
    def cookies(self) -> MultiDict:
        pairs = []
        for chunk in self.headers.getlist("Cookie"):
            for part in chunk.split(";"):
                name, eq, value = part.strip().partition("=")
                if eq:
                    pairs.append((name, value))
        return MultiDict(pairs)

    @cached_property
    def environ(self) -> dict[str, Any]:
        """A WSGI-style environ for scripts that read it directly."""
        server = self.scope.get("server") or ("localhost", 80)
        env: dict[str, Any] = {
            "REQUEST_METHOD": self.method,
            "SCRIPT_NAME": self.root_path,
            "PATH_INFO": self.path,
            "QUERY_STRING": self.query_string.decode("latin-1"),
            "SERVER_NAME": str(server[0]),
            "SERVER_PORT": str(server[1]),
            "SERVER_PROTOCOL": f"HTTP/{self.scope.get('http_version', '1.1')}",
            "REMOTE_ADDR": self.remote_addr or "",
            "wsgi.url_scheme": self.scheme,
            "wsgi.input": self.stream,
        }
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key in {"CONTENT_TYPE", "CONTENT_LENGTH"}:
                env[key] = value
            else:
                env[f"HTTP_{key}"] = value
        return env

    def close(self) -> None:
        for _, storage in self.files.items(multi=True):
            if isinstance(storage, FileStorage):
                storage.close()

    def __repr__(self) -> str:
        return f"<AMLRequest '{self.url}' [{self.method}]>"
