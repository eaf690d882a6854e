"""Model name rules and the check of tag/property values, for ``Model`` (Azure's tag and
property filters are in :mod:`dockyard.assets.filters`)."""

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


__all__ = ["MODEL_NAME_RE", "check_mapping", "check_model_name"]
