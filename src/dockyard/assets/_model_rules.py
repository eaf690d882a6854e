"""Model name rules and Azure's tag/property filter forms, shared by ``Model`` and the CLI."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dockyard.errors import ValidationError

MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
_MODEL_NAME_RULE = "letters, digits, '-', '_' and '.', at most 255, starting with a letter or digit"


def check_model_name(name: object) -> str:
    if not isinstance(name, str) or not MODEL_NAME_RE.match(name):
        raise ValidationError(
            f"Invalid model name {name!r}: use {_MODEL_NAME_RULE}.",
            hint="Pick a name such as 'sklearn-regression.v2'.",
        )
    return name


def check_mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValidationError(
            f"{what} must be a dict of string keys, got {value!r}.",
            hint=f'Pass e.g. {what}={{"area": "diabetes"}}.',
        )
    return {
        k: v if isinstance(v, str | int | float | bool) or v is None else str(v)
        for k, v in value.items()
    }


def filters(value: Any, what: str) -> list[tuple[str, str | None]]:
    """Azure's filter forms: ``["k", ["k2", "v2"]]``, or a dict ``{"k": "v"}``."""
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
    return all(k in values and (v is None or str(values[k]) == v) for k, v in wanted)


__all__ = ["MODEL_NAME_RE", "check_mapping", "check_model_name", "filters", "matches"]
