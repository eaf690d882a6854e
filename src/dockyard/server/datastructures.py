"""Small werkzeug-compatible containers for ``@rawhttp`` scripts: MultiDict, Headers, FileStorage.

Scripts written for azmlinfsrv receive a Flask request and call ``request.args.get("k")``,
``request.args.getlist("k")``, ``request.headers.get("X-Foo")``, ``request.files["f"].read()``...
These classes implement those calls (the commonly used part of werkzeug's API) with the standard
library only, so the scoring server does not need Flask.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any


class BadRequestKeyError(KeyError):
    """A missing key in ``request.args``/``form``/``files`` (werkzeug raises a KeyError subclass too)."""


class MultiDict:
    """An ordered mapping where a key may hold several values; ``d[key]`` is the first one."""

    def __init__(self, pairs: Iterable[tuple[str, Any]] = ()) -> None:
        self._data: dict[str, list[Any]] = {}
        for key, value in pairs:
            self._data.setdefault(key, []).append(value)

    def add(self, key: str, value: Any) -> None:
        self._data.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> Any:
        values = self._data.get(key)
        if not values:
            raise BadRequestKeyError(key)
        return values[0]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = [value]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __bool__(self) -> bool:
        return bool(self._data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.items(multi=True))!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MultiDict):
            return self._data == other._data
        if isinstance(other, dict):
            return self.to_dict() == other
        return NotImplemented

    def get(self, key: str, default: Any = None, type: Callable[[Any], Any] | None = None) -> Any:  # noqa: A002
        values = self._data.get(key)
        if not values:
            return default
        if type is None:
            return values[0]
        try:
            return type(values[0])
        except (ValueError, TypeError):
            return default

    def getlist(self, key: str, type: Callable[[Any], Any] | None = None) -> list[Any]:  # noqa: A002
        values = list(self._data.get(key, []))
        if type is None:
            return values
        result = []
        for value in values:
            with contextlib.suppress(ValueError, TypeError):
                result.append(type(value))
        return result

    def keys(self) -> Iterator[str]:
        return iter(self._data)

    def values(self) -> Iterator[Any]:
        return (values[0] for values in self._data.values())

    def items(self, multi: bool = False) -> Iterator[tuple[str, Any]]:
        for key, values in self._data.items():
            if multi:
                for value in values:
                    yield key, value
            else:
                yield key, values[0]

    def lists(self) -> Iterator[tuple[str, list[Any]]]:
        for key, values in self._data.items():
            yield key, list(values)

    def to_dict(self, flat: bool = True) -> dict[str, Any]:
        if flat:
            return {key: values[0] for key, values in self._data.items()}
        return {key: list(values) for key, values in self._data.items()}

    def copy(self) -> MultiDict:
        return type(self)(self.items(multi=True))


class Headers:
    """Case-insensitive, ordered request headers; names are title-cased as WSGI servers give them."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(pairs)

    def get(self, key: str, default: Any = None, type: Callable[[str], Any] | None = None) -> Any:  # noqa: A002
        lowered = key.lower()
        for name, value in self._items:
            if name.lower() == lowered:
                if type is None:
                    return value
                try:
                    return type(value)
                except (ValueError, TypeError):
                    return default
        return default

    def getlist(self, key: str) -> list[str]:
        lowered = key.lower()
        return [value for name, value in self._items if name.lower() == lowered]

    get_all = getlist

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise BadRequestKeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def values(self) -> Iterator[str]:
        return (value for _, value in self._items)

    def items(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def to_wsgi_list(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class FileStorage:
    """One uploaded file of a multipart request (``request.files[name]``)."""

    def __init__(
        self,
        stream: IO[bytes],
        filename: str | None,
        name: str | None,
        content_type: str | None,
        headers: Headers | None = None,
    ) -> None:
        self.stream = stream
        self.filename = filename
        self.name = name
        self.headers = headers or Headers()
        self.content_type = content_type
        self.mimetype = (content_type or "").split(";")[0].strip().lower()
        self.content_length = 0

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self.stream.readline(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.stream)

    def __bool__(self) -> bool:
        return bool(self.filename)

    def save(self, dst: str | os.PathLike[str] | IO[bytes], buffer_size: int = 16384) -> None:
        """Write the file to a path or an open binary file."""
        if isinstance(dst, (str, os.PathLike)):
            with open(dst, "wb") as fh:
                shutil.copyfileobj(self.stream, fh, buffer_size)
        else:
            shutil.copyfileobj(self.stream, dst, buffer_size)

    def close(self) -> None:
        self.stream.close()

    def __repr__(self) -> str:
        return f"<FileStorage: {self.filename!r} ({self.content_type!r})>"


def parse_options_header(value: str) -> tuple[str, dict[str, str]]:
    """Split ``text/plain; charset=utf-8`` into ``("text/plain", {"charset": "utf-8"})``."""
    if not value:
        return "", {}
    parts = _split_semicolons(value)
    main = parts[0].strip().lower()
    params: dict[str, str] = {}
    for part in parts[1:]:
        if "=" not in part:
            continue
        key, _, raw = part.partition("=")
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[key.strip().lower()] = raw
    return main, params


def _split_semicolons(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_multipart(body: bytes, boundary: str) -> tuple[MultiDict, MultiDict]:
    """Parse a ``multipart/form-data`` body into (form fields, files)."""
    form, files = MultiDict(), MultiDict()
    delimiter = b"--" + boundary.encode("latin-1")
    sections = body.split(delimiter)
    for section in sections[1:]:
        if section.startswith(b"--"):
            break  # closing delimiter
        if section.startswith(b"\r\n"):
            section = section[2:]
        elif section.startswith(b"\n"):
            section = section[1:]
        head, sep, content = section.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = section.partition(b"\n\n")
            if not sep:
                continue
        if content.endswith(b"\r\n"):
            content = content[:-2]
        elif content.endswith(b"\n"):
            content = content[:-1]
        header_pairs = []
        for line in head.decode("utf-8", "replace").splitlines():
            name, colon, value = line.partition(":")
            if colon:
                header_pairs.append((name.strip().title(), value.strip()))
        headers = Headers(header_pairs)
        _, disposition = parse_options_header(headers.get("Content-Disposition", ""))
        field = disposition.get("name")
        if field is None:
            continue
        filename = disposition.get("filename")
        content_type = headers.get("Content-Type")
        if filename is not None:
            storage = FileStorage(
                io.BytesIO(content),
                filename,
                field,
                content_type or "application/octet-stream",
                headers,
            )
            storage.content_length = len(content)
            files.add(field, storage)
        else:
            charset = parse_options_header(content_type or "")[1].get("charset", "utf-8")
            form.add(field, content.decode(charset, "replace"))
    return form, files
