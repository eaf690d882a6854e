"""azmlinfsrv's config.json: where it is found and which of its keys the server reads.

Its values rank below flags and environment variables (see :func:`dockyard.server.settings.load_settings`)
and are never exported to the script's environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from dockyard.server.conversions import SettingsError

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
