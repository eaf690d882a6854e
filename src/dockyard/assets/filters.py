"""Azure's tag and property filters, as ``Model.list``, ``Image.list`` and ``Webservice.list``
read them::

    wanted = filters(["stage", ["area", "diabetes"]], "tags")   # or {"area": "diabetes"}
    matches({"stage": "prod", "area": "diabetes"}, wanted)      # True

A filter is a key (``"stage"``: the key is present, any value) or a key and a value
(``["area", "diabetes"]``: present with that value); all of them must match.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dockyard.errors import ValidationError


def filters(value: Any, what: str) -> list[tuple[str, str | None]]:
    """Azure's filter forms: ``["k", ["k2", "v2"]]``, or a dict ``{"k": "v"}``, as
    ``(key, value or None)`` pairs; ``what`` ("tags", "properties") names them in errors."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [(str(k), None if v is None else str(v)) for k, v in value.items()]
    if isinstance(value, str):
        value = [value]
    result: list[tuple[str, str | None]] = []
    for item in value:
        if isinstance(item, str):
            result.append((item, None))
        elif isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str):
            result.append((item[0], str(item[1])))
        else:
            raise ValidationError(
                f"Invalid {what} filter {item!r}: use 'key' or ['key', 'value'] (or a dict).",
                hint=f'Example: Model.list(ws, {what}=["stage", ["area", "diabetes"]]).',
            )
    return result


def matches(values: Mapping[str, Any], wanted: list[tuple[str, str | None]]) -> bool:
    """True when ``values`` (an object's tags or properties) has every key of ``wanted``, with
    the value asked for where one is given."""
    return all(k in values and (v is None or str(values[k]) == v) for k, v in wanted)


__all__ = ["filters", "matches"]
