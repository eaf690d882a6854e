"""Reading raw setting values: whole numbers, numbers, booleans and azmlinfsrv's config.json.

Every problem is a :class:`SettingsError` whose message is one line naming the flag or variable
and saying what to do (``__main__`` turns it into exit code 2).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

# Keys azmlinfsrv accepts in its config.json (the others are warned about and ignored).
CONFIG_FILE_KEYS = (
    "AZUREML_SOURCE_DIRECTORY",
    "AZUREML_ENTRY_SCRIPT",
    "SERVICE_NAME",
    "WORKSPACE_NAME",
    "SERVICE_PATH_PREFIX",
    "SERVICE_VERSION",
    "SCORING_TIMEOUT_MS",
    "AZUREML_LOG_LEVEL",
    "APP_INSIGHTS_LOG_RESPONSE_ENABLED",
    "AZUREML_MODEL_DIR",
    "HOSTNAME",
    "AZUREML_DEBUG_PORT",
)


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


def find_config_file(env: Mapping[str, str], app_root: str, entry_script: str | None) -> str | None:
    """azmlinfsrv's lookup: AZUREML_CONFIG_FILE, else config.json in the app root or script folder."""
    explicit = env.get("AZUREML_CONFIG_FILE")
    if explicit and os.path.isfile(explicit) and os.path.getsize(explicit) > 0:
        return os.path.abspath(explicit)
    roots = [app_root]
    if entry_script:
        roots.append(os.path.dirname(os.path.abspath(entry_script)))
    for root in roots:
        candidate = os.path.join(root, "config.json")
        if os.path.isfile(candidate) and os.path.getsize(candidate) > 0:
            return candidate
    return None


def read_config_file(path: str) -> tuple[dict[str, str], list[str]]:
    """The known keys of the config file as text, and warnings naming the unknown ones."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise SettingsError(
            f"config file {path} could not be read as JSON ({exc}); fix it or point "
            "AZUREML_CONFIG_FILE / --config-file at a valid file"
        ) from None
    if not isinstance(data, dict):
        raise SettingsError(
            f"config file {path} must hold a JSON object of setting names to values"
        )
    values = {k: str(v) for k, v in data.items() if k in CONFIG_FILE_KEYS and v is not None}
    extra = sorted(k for k in data if k not in CONFIG_FILE_KEYS)
    warnings = []
    if extra:
        warnings.append(f"config file {path} has keys the server does not use, ignored: {extra}")
    return values, warnings
