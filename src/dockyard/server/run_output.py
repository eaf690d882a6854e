"""Responses: the ``AMLResponse`` a script may return, and turning any run() result into bytes.

``AMLResponse(message, status_code, response_headers={}, json_str=False, run_function_failed=False)``
behaves as azmlinfsrv's (a Flask response there): ``json_str=True`` sends ``json.dumps(message)``
as ``application/json``; otherwise ``message`` is sent as given (``text/html; charset=utf-8``
unless ``response_headers`` has ``Content-Type``); ``None`` sends ``{}``; header values containing
commas become repeated headers. The header order is werkzeug's, so answers match byte for byte.

Responses from Flask/werkzeug (the real ``azureml.contrib.services`` AMLResponse is one) are
accepted too, by duck typing: ``status_code``, ``headers`` and ``get_data()``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"


class ResponseHeaders:
    """Ordered, case-insensitive response headers with werkzeug's ``Headers`` methods."""

    def __init__(self, pairs: Iterable[tuple[str, Any]] = ()) -> None:
        self._items: list[tuple[str, str]] = [(str(k), _text(v)) for k, v in pairs]

    def add(self, key: str, value: Any) -> None:
        self._items.append((key, _text(value)))

    add_header = add

    def set(self, key: str, value: Any) -> None:
        """Replace the first ``key`` header in place and drop the others (append if absent)."""
        lowered, text = key.lower(), _text(value)
        for index, (name, _) in enumerate(self._items):
            if name.lower() == lowered:
                self._items[index] = (key, text)
                self._items[index + 1 :] = [
                    item for item in self._items[index + 1 :] if item[0].lower() != lowered
                ]
                return
        self._items.append((key, text))

    __setitem__ = set

    def setdefault(self, key: str, default: Any) -> str:
        existing = self.get(key)
        if existing is not None:
            return existing
        self.add(key, default)
        return _text(default)

    def get(self, key: str, default: Any = None) -> Any:
        lowered = key.lower()
        for name, value in self._items:
            if name.lower() == lowered:
                return value
        return default

    def getlist(self, key: str) -> list[str]:
        lowered = key.lower()
        return [value for name, value in self._items if name.lower() == lowered]

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def remove(self, key: str) -> None:
        lowered = key.lower()
        self._items = [item for item in self._items if item[0].lower() != lowered]

    __delitem__ = remove

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def keys(self) -> list[str]:
        return [name for name, _ in self._items]

    def extend(self, other: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        pairs = other.items() if isinstance(other, Mapping) else other
        for key, value in pairs:
            self.add(key, value)

    def __repr__(self) -> str:
        return f"ResponseHeaders({self._items!r})"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _encode(message: Any) -> bytes:
    if isinstance(message, str):
        return message.encode("utf-8")
    if isinstance(message, (bytes, bytearray, memoryview)):
        return bytes(message)
    # werkzeug treats anything else as an iterable of chunks
    return b"".join(
        item.encode("utf-8") if isinstance(item, str) else bytes(item) for item in message
    )


class AMLResponse:
    """A response a ``run()`` returns to control status, headers and body (azmlinfsrv's API)."""

    def __init__(
        self,
        message: Any,
        status_code: int,
        response_headers: Mapping[str, str] | None = None,
        json_str: bool = False,
        run_function_failed: bool = False,
    ) -> None:
        response_headers = response_headers if response_headers is not None else {}
        self.status_code = int(status_code)
        self.headers = ResponseHeaders()
        if message is not None:
            if json_str:
                self._init_body(json.dumps(message), JSON_TYPE)
            else:
                self._init_body(message, HTML_TYPE)
                if "Content-Type" in response_headers:
                    self.headers.remove("Content-Type")  # the loop below adds the script's one
        else:
            self._init_body(json.dumps({}), JSON_TYPE)
        self.headers["x-ms-run-function-failed"] = run_function_failed
        for header, value in response_headers.items():
            for part in value.split(","):
                self.headers.add_header(header, part.strip())

    def _init_body(self, message: Any, content_type: str) -> None:
        self.headers.add("Content-Type", content_type)
        self._data = _encode(message)
        if isinstance(message, (str, bytes, bytearray, memoryview)):
            self.headers.add("Content-Length", str(len(self._data)))

    @property
    def status(self) -> str:
        try:
            phrase = HTTPStatus(self.status_code).phrase.upper()
        except ValueError:
            phrase = "UNKNOWN"
        return f"{self.status_code} {phrase}"

    def get_data(self, as_text: bool = False) -> Any:
        return self._data.decode("utf-8", "replace") if as_text else self._data

    def set_data(self, value: str | bytes) -> None:
        self._data = _encode(value)
        self.headers["Content-Length"] = str(len(self._data))

    @property
    def data(self) -> bytes:
        return self._data

    @data.setter
    def data(self, value: str | bytes) -> None:
        self.set_data(value)

    @property
    def response(self) -> list[bytes]:
        return [self._data]

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @property
    def mimetype(self) -> str | None:
        value = self.content_type
        return value.split(";")[0].strip().lower() if value else None

    @property
    def is_json(self) -> bool:
        return self.mimetype == JSON_TYPE

    def get_json(self) -> Any:
        return json.loads(self._data)

    def __repr__(self) -> str:
        return f"<AMLResponse {len(self._data)} bytes [{self.status}]>"


_PLAIN = frozenset({dict, list, str, int, float, bool, type(None), tuple})


def is_response(result: Any) -> bool:
    """True for an :class:`AMLResponse` or a Flask/werkzeug response object."""
    if type(result) in _PLAIN:
        return False
    if isinstance(result, AMLResponse):
        return True
    for cls in type(result).__mro__:
        module = getattr(cls, "__module__", "") or ""
        if module.startswith(("werkzeug", "flask")) and cls.__name__ == "Response":
            return True
    return False


def response_parts(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers (in order) and body of a response object."""
    if isinstance(result, AMLResponse):
        return result.status_code, result.headers.items(), result.get_data()
    headers = [(str(k), str(v)) for k, v in result.headers.items()]
    return int(result.status_code), headers, bytes(result.get_data())


def _numpy_default(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dump_output(result: Any) -> bytes:
    """``json.dumps(result)`` as bytes (the oracle's exact bytes; ``None`` gives ``{}`` as there).

    Deliberate difference: numpy arrays and numpy scalars (which make azmlinfsrv answer 500) are
    converted with ``.tolist()``.
    """
    if result is None:
        return b"{}"  # azmlinfsrv: AMLResponse(None) sends an empty JSON object
    try:
        return json.dumps(result).encode()
    except TypeError:
        return json.dumps(result, default=_numpy_default).encode()
