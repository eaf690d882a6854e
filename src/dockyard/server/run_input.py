"""How a request becomes the arguments of ``run()``: the three input modes of azmlinfsrv.

* **plain** (undecorated ``run(data)``): POST passes the body as a UTF-8 string (400 if it does not
  decode; form bodies give ``""`` as Flask's ``request.data`` does); GET passes the query
  parameters as a JSON object string, each value parsed as JSON where it parses and repeated keys
  becoming lists.
* **schema** (``@input_schema``): POST needs a JSON content type (415) and a JSON object body (400);
  each parameter of ``run`` is taken from the object by name (400 if one without a default is
  missing); GET takes them from the query parameters.
* **raw** (``@rawhttp``): ``run(request)`` gets an :class:`~dockyard.server.request.AMLRequest`.

Messages are azmlinfsrv's, word for word: clients and tests compare them.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

FORM_MIMETYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")


class InputError(Exception):
    """The request cannot be turned into run() arguments; ``status`` is the HTTP answer."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(InputError):
    status = 400


class UnsupportedInput(InputError):
    status = 415


def parse_query_pairs(query: bytes | str) -> list[tuple[str, str]]:
    """``a=1&b=&a=2`` as ordered pairs (blank values kept, ``+`` is a space, bad escapes kept)."""
    text = query.decode("utf-8", "replace") if isinstance(query, bytes) else query
    if not text:
        return []
    return parse_qsl(text, keep_blank_values=True, errors="replace")


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def query_as_object(query: bytes) -> dict[str, Any]:
    """Query parameters as a JSON-like object: values parsed as JSON where they parse, repeated keys as lists."""
    grouped: dict[str, list[str]] = {}
    for key, value in parse_query_pairs(query):
        grouped.setdefault(key, []).append(value)
    result: dict[str, Any] = {}
    for key, values in grouped.items():
        if len(values) == 1:
            result[key] = _parse_value(values[0])
        else:
            result[key] = [_parse_value(v) for v in values]
    return result


def mimetype_of(content_type: bytes | None) -> bytes:
    """``b"Application/JSON; charset=utf-8"`` -> ``b"application/json"``."""
    if not content_type:
        return b""
    return content_type.split(b";", 1)[0].strip().lower()


def is_json_content_type(content_type: bytes | None) -> bool:
    mimetype = mimetype_of(content_type)
    return mimetype == b"application/json" or (
        mimetype.startswith(b"application/") and mimetype.endswith(b"+json")
    )


def plain_post_input(body: bytes, content_type: bytes | None) -> str:
    """The string an undecorated run() gets for a POST."""
    if (
        content_type is not None
        and b"form" in content_type.lower()
        and mimetype_of(content_type) in FORM_MIMETYPES
    ):
        return ""  # Flask's request.data is empty once a form body has been parsed
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"Input cannot be decoded as UTF-8: {exc}") from None


def plain_get_input(query: bytes) -> str:
    """The string an undecorated run() gets for a GET: the query parameters as a JSON object."""
    return json.dumps(query_as_object(query))


class SchemaParameters:
    """The parameters of an ``@input_schema`` run(), pulled by name out of a JSON object."""

    __slots__ = ("parameters",)

    def __init__(self, parameters: Sequence[inspect.Parameter]) -> None:
        self.parameters = [(p.name, p.default) for p in parameters]

    def extract(self, body: dict[str, Any]) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        for name, default in self.parameters:
            value = body.get(name, default)
            if value is inspect.Parameter.empty:
                raise BadInput(f"A value is not provided for the {name!r} parameter.")
            arguments[name] = value
        return arguments

    def from_post(self, body: bytes, content_type: bytes | None) -> dict[str, Any]:
        if not is_json_content_type(content_type):
            raise UnsupportedInput("Expects Content-Type to be application/json")
        try:
            parsed = json.loads(body)
        except (
            json.JSONDecodeError
        ) as exc:  # (a UnicodeDecodeError is an internal error, as in azmlinfsrv)
            if body:
                raise BadInput(f"POST body could not be decoded as JSON: {exc}") from None
            raise BadInput("POST body is empty. Expecting a JSON dictionary.") from None
        if not isinstance(parsed, dict):
            raise BadInput("POST body should be a JSON dictionary.")
        return self.extract(parsed)

    def from_get(self, query: bytes) -> dict[str, Any]:
        return self.extract(query_as_object(query))
