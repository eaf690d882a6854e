"""One raw setting value (text from a flag, a variable or config.json) to a number or a boolean.

Every problem is a :class:`SettingsError` whose message is one line naming the flag or variable
and saying what to do (:mod:`dockyard.server.entry` turns it into exit code 2).
"""

from __future__ import annotations


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it and says how to fix it."""


def as_int(name: str, raw: str, *, minimum: int, maximum: int | None = None, hint: str) -> int:
    """``raw`` as a whole number within the bounds, else a SettingsError naming ``name``."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number; {hint}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise SettingsError(f"{name}={raw!r} is out of range: it must be {bound}; {hint}")
    return value


def as_float(name: str, raw: str, *, hint: str, zero_ok: bool = False) -> float:
    """``raw`` as a number greater than zero (or zero with ``zero_ok``), else a SettingsError."""
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number; {hint}") from None
    if value < 0 or (value == 0 and not zero_ok) or value != value:
        least = "zero or more" if zero_ok else "greater than zero"
        raise SettingsError(f"{name}={raw!r} must be {least}; {hint}")
    return value


def as_bool(name: str, raw: str) -> bool:
    """``raw`` as a boolean (true/false, 1/0, yes/no, on/off; empty is false)."""
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean; use true or false")
