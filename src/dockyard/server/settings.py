"""The scoring server's one settings object, built from flags, environment variables and config.json.

Precedence, highest first: command-line flags, environment variables, then the JSON config file
(``AZUREML_CONFIG_FILE``, else ``config.json`` in the app root or next to the entry script), then
defaults. The names are azmlinfsrv's, so a deployment made for Microsoft's server starts unchanged;
dockyard's own knobs are ``DOCKYARD_*`` variables. Every problem is a :class:`SettingsError` whose
message is one line naming the flag or variable and saying what to do; ``__main__`` turns it into
exit code 2 (exit code 3 is reserved for import/``init()`` failures).

This module uses only the standard library (dataclasses, not pydantic): it runs inside every image.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_APP_ROOT_IN_CONTAINER = "/var/azureml-app"
DEFAULT_PORT = 5001
DEFAULT_SCORING_TIMEOUT_MS = 3_600_000
DEFAULT_MAX_REQUEST_WAIT_TIME_MS = 60_000
DEFAULT_MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024

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
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
INLINE_MODES = ("auto", "always", "never")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it and says how to fix it."""


@dataclass(frozen=True)
class Settings:
    """Everything the scoring server needs to know, validated.

    Paths are absolute. ``entry_script`` is ``None`` only when the azmlinfsrv fallback applies:
    ``main.py`` imported from the app root.
    """

    entry_script: str | None = None
    model_dir: str | None = None
    app_root: str = field(default_factory=os.getcwd)
    source_dir: str | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    debug: bool = False
    scoring_timeout_ms: int = DEFAULT_SCORING_TIMEOUT_MS
    cors_origins: str | None = None
    log_level: str = "INFO"
    debug_port: int | None = None  # AZUREML_DEBUG_PORT: debugpy dials out to a listening IDE
    debugpy_listen: str | None = None  # DOCKYARD_DEBUGPY_LISTEN: debugpy listens, the IDE attaches
    debugpy_wait_s: float = 60.0
    service_name: str = "ML service"
    service_version: str = "1.0"
    service_path_prefix: str = ""
    server_version_header: str | None = None
    max_concurrent_requests: int = 1
    max_request_wait_time_ms: int = DEFAULT_MAX_REQUEST_WAIT_TIME_MS
    max_request_body_bytes: int = DEFAULT_MAX_REQUEST_BODY_BYTES
    keys_file: str | None = None
    inline_mode: str = "auto"
    startup_timeout_s: float | None = None
    access_log: bool = True
    config_file: str | None = None
    config_warnings: tuple[str, ...] = ()

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some fields changed (settings are immutable)."""
        return replace(self, **changes)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dockyard serve",
        description="Run the scoring server for a score.py (init() once, run() per request).",
        allow_abbrev=False,
    )
    a = p.add_argument
    a(
        "--entry-script",
        "--entry_script",
        dest="entry_script",
        help="path to score.py (init() and run())",
    )
    a(
        "--model-dir",
        "--model_dir",
        dest="model_dir",
        help="model directory, exported as AZUREML_MODEL_DIR",
    )
    a("--source-dir", "--source_dir", dest="source_dir", help="source directory added to sys.path")
    a(
        "--app-root",
        "--app_root",
        dest="app_root",
        help="app root (working directory); default: cwd",
    )
    a("--host", default=None, help="address to listen on (default 127.0.0.1)")
    a("--port", default=None, help=f"port to listen on (default {DEFAULT_PORT})")
    a(
        "--workers",
        "--worker-count",
        "--worker_count",
        dest="workers",
        help="processes (WORKER_COUNT)",
    )
    a("--debug", action="store_true", default=None, help="put error details in HTTP responses")
    a("--config-file", "--config_file", dest="config_file", help="azmlinfsrv config.json")
    a(
        "--access-control-allow-origins",
        "--access_control_allow_origins",
        dest="cors_origins",
        help="comma-separated CORS origins (AML_CORS_ORIGINS)",
    )
    a("--scoring-timeout-ms", dest="scoring_timeout_ms", help="SCORING_TIMEOUT_MS")
    a(
        "--max-concurrent-requests",
        dest="max_concurrent_requests",
        help="run() calls at once per process",
    )
    a(
        "--max-request-wait-time-ms",
        dest="max_request_wait_time_ms",
        help="wait for a slot, then 503",
    )
    a("--max-request-body-bytes", dest="max_request_body_bytes", help="larger bodies get 413")
    a(
        "--keys-file",
        dest="keys_file",
        help='JSON {"primaryKey": ..., "secondaryKey": ...}: key auth',
    )
    a("--log-level", dest="log_level", help="AZUREML_LOG_LEVEL")
    a(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        default=None,
        help="no per-request log",
    )
    return p


def _int(name: str, raw: str, *, minimum: int, maximum: int | None = None, hint: str) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number; {hint}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise SettingsError(f"{name}={raw!r} is out of range: it must be {bound}; {hint}")
    return value


def _float(name: str, raw: str, *, hint: str) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number; {hint}") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} must be greater than zero; {hint}")
    return value


def _bool(name: str, raw: str) -> bool:
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean; use true or false")


def _find_config_file(
    env: Mapping[str, str], app_root: str, entry_script: str | None
) -> str | None:
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


def _read_config_file(path: str) -> tuple[dict[str, str], list[str]]:
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


def load_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build :class:`Settings` from command-line ``argv`` and ``environ`` (default: ``os.environ``).

    Raises :class:`SettingsError` for anything invalid. ``argparse`` errors (unknown flag) exit with
    code 2 on their own, which is also the bad-settings code.
    """
    env = dict(os.environ if environ is None else environ)
    args = _parser().parse_args(list(argv or []))
    warnings: list[str] = []

    app_root_raw = args.app_root or env.get("AML_APP_ROOT") or os.getcwd()
    app_root = os.path.abspath(app_root_raw)
    if not os.path.isdir(app_root):
        name = "--app-root" if args.app_root else "AML_APP_ROOT"
        raise SettingsError(
            f"{name}={app_root_raw!r} is not a directory; create it or point it elsewhere"
        )

    # The entry script: a flag is relative to the current directory (azmlinfsrv takes its realpath);
    # AZUREML_ENTRY_SCRIPT is relative to the app root (azmlinfsrv joins the two).
    entry_from_flag = args.entry_script
    config_path = args.config_file or None
    if config_path:
        if not os.path.isfile(config_path):
            raise SettingsError(
                f"--config-file {config_path!r} does not exist; give the path of a config.json"
            )
        config_path = os.path.abspath(config_path)
    else:
        probe_entry = entry_from_flag or (
            os.path.join(app_root, env["AZUREML_ENTRY_SCRIPT"])
            if env.get("AZUREML_ENTRY_SCRIPT")
            else None
        )
        config_path = _find_config_file(env, app_root, probe_entry)
    file_values: dict[str, str] = {}
    if config_path:
        file_values, file_warnings = _read_config_file(config_path)
        warnings.extend(file_warnings)

    def pick(env_name: str) -> str | None:
        value = env.get(env_name)
        if value is None or value == "":
            value = file_values.get(env_name)
        return value

    source_dir_raw = args.source_dir or pick("AZUREML_SOURCE_DIRECTORY")
    source_dir = os.path.join(app_root, source_dir_raw) if source_dir_raw else None
    if source_dir is not None and not os.path.isdir(source_dir):
        raise SettingsError(
            f"source directory {source_dir!r} (AZUREML_SOURCE_DIRECTORY/--source-dir) is not a directory"
        )

    entry_script: str | None
    if entry_from_flag:
        entry_script = os.path.realpath(entry_from_flag)
        entry_name = "--entry-script"
    elif pick("AZUREML_ENTRY_SCRIPT"):
        raw = pick("AZUREML_ENTRY_SCRIPT") or ""
        entry_script = os.path.join(app_root, raw)
        # dockyard extension: an entry script given relative to the source directory also works.
        if (
            not os.path.isfile(entry_script)
            and source_dir
            and os.path.isfile(os.path.join(source_dir, raw))
        ):
            entry_script = os.path.join(source_dir, raw)
        entry_name = "AZUREML_ENTRY_SCRIPT"
    else:
        entry_script = None
        entry_name = ""
    if entry_script is not None and not os.path.isfile(entry_script):
        raise SettingsError(
            f"{entry_name}: the entry script {entry_script} does not exist; "
            "give the path of your score.py (relative paths in AZUREML_ENTRY_SCRIPT are under the app root)"
        )
    if entry_script is None and not os.path.isfile(os.path.join(app_root, "main.py")):
        raise SettingsError(
            "no entry script: pass --entry-script score.py or set AZUREML_ENTRY_SCRIPT "
            f"(or put a main.py in the app root {app_root})"
        )

    model_dir_raw = args.model_dir or pick("AZUREML_MODEL_DIR")
    model_dir = os.path.abspath(model_dir_raw) if model_dir_raw else None

    host = args.host or env.get("DOCKYARD_HOST") or "127.0.0.1"
    port = _int(
        "--port" if args.port else "DOCKYARD_PORT",
        args.port or env.get("DOCKYARD_PORT") or str(DEFAULT_PORT),
        minimum=1,
        maximum=65535,
        hint="choose a free TCP port, e.g. 5001",
    )
    workers = _int(
        "--workers" if args.workers else "WORKER_COUNT",
        args.workers or env.get("WORKER_COUNT") or "1",
        minimum=1,
        hint="use the number of processes to run, e.g. 1 or 2",
    )
    timeout_raw = args.scoring_timeout_ms or pick("SCORING_TIMEOUT_MS")
    scoring_timeout_ms = (
        _int(
            "SCORING_TIMEOUT_MS",
            timeout_raw,
            minimum=1,
            hint="give the scoring timeout in milliseconds, e.g. 60000",
        )
        if timeout_raw
        else DEFAULT_SCORING_TIMEOUT_MS
    )
    log_level = (args.log_level or pick("AZUREML_LOG_LEVEL") or "INFO").strip().upper()
    if log_level == "WARN":
        log_level = "WARNING"
    if log_level not in LOG_LEVELS:
        raise SettingsError(
            f"AZUREML_LOG_LEVEL={log_level!r} is not a log level; use one of {', '.join(LOG_LEVELS)}"
        )

    debug_port_raw = pick("AZUREML_DEBUG_PORT")
    debug_port = (
        _int(
            "AZUREML_DEBUG_PORT",
            debug_port_raw,
            minimum=1,
            maximum=65535,
            hint="give the IDE's debugpy port",
        )
        if debug_port_raw
        else None
    )
    debugpy_wait_raw = env.get("DOCKYARD_DEBUGPY_WAIT_S")
    debugpy_wait_s = (
        _float(
            "DOCKYARD_DEBUGPY_WAIT_S",
            debugpy_wait_raw,
            hint="seconds to wait for a debugger to attach",
        )
        if debugpy_wait_raw
        else 60.0
    )

    def dockyard_int(
        flag_value: str | None, name: str, default: int, minimum: int, hint: str
    ) -> int:
        raw = flag_value or env.get(name)
        return _int(name, raw, minimum=minimum, hint=hint) if raw else default

    max_concurrent = dockyard_int(
        args.max_concurrent_requests,
        "DOCKYARD_MAX_CONCURRENT_REQUESTS",
        1,
        1,
        "give how many run() calls may run at once in one process (1 for scripts that are not thread-safe)",
    )
    max_wait = dockyard_int(
        args.max_request_wait_time_ms,
        "DOCKYARD_MAX_REQUEST_WAIT_TIME_MS",
        DEFAULT_MAX_REQUEST_WAIT_TIME_MS,
        0,
        "give how long a request may wait for a free slot, in milliseconds",
    )
    max_body = dockyard_int(
        args.max_request_body_bytes,
        "DOCKYARD_MAX_REQUEST_BODY_BYTES",
        DEFAULT_MAX_REQUEST_BODY_BYTES,
        1,
        "give the largest accepted request body in bytes",
    )
    inline_mode = (env.get("DOCKYARD_RUN_INLINE") or "auto").strip().lower()
    if inline_mode not in INLINE_MODES:
        raise SettingsError(
            f"DOCKYARD_RUN_INLINE={inline_mode!r} is not valid; use one of {', '.join(INLINE_MODES)}"
        )
    startup_raw = env.get("DOCKYARD_STARTUP_TIMEOUT_S")
    startup_timeout_s = (
        _float("DOCKYARD_STARTUP_TIMEOUT_S", startup_raw, hint="seconds import and init() may take")
        if startup_raw
        else None
    )

    keys_file = args.keys_file or env.get("DOCKYARD_KEYS_FILE") or None
    if keys_file:
        keys_file = os.path.abspath(keys_file)
        if not os.path.isfile(keys_file):
            raise SettingsError(
                f"DOCKYARD_KEYS_FILE/--keys-file {keys_file!r} does not exist; write "
                '{"primaryKey": "...", "secondaryKey": "..."} there or unset it to turn key auth off'
            )

    debug = (
        bool(args.debug)
        if args.debug is not None
        else _bool("DOCKYARD_DEBUG", env.get("DOCKYARD_DEBUG", ""))
    )
    access_log = (
        args.access_log
        if args.access_log is not None
        else _bool("DOCKYARD_ACCESS_LOG", env.get("DOCKYARD_ACCESS_LOG", "true"))
    )

    version_enabled = env.get("SERVER_VERSION_LOG_RESPONSE_ENABLED")
    if version_enabled is None or version_enabled.lower() == "true":
        from dockyard import __version__

        server_version_header: str | None = (
            env.get("HTTP_X_MS_SERVER_VERSION") or f"dockyard/{__version__}"
        )
    else:
        server_version_header = env.get("HTTP_X_MS_SERVER_VERSION") or None

    cors = args.cors_origins if args.cors_origins is not None else env.get("AML_CORS_ORIGINS")

    return Settings(
        entry_script=entry_script,
        model_dir=model_dir,
        app_root=app_root,
        source_dir=source_dir,
        host=host,
        port=port,
        workers=workers,
        debug=debug,
        scoring_timeout_ms=scoring_timeout_ms,
        cors_origins=cors or None,
        log_level=log_level,
        debug_port=debug_port,
        debugpy_listen=env.get("DOCKYARD_DEBUGPY_LISTEN") or None,
        debugpy_wait_s=debugpy_wait_s,
        service_name=pick("SERVICE_NAME") or "ML service",
        service_version=pick("SERVICE_VERSION") or "1.0",
        service_path_prefix=pick("SERVICE_PATH_PREFIX") or "",
        server_version_header=server_version_header,
        max_concurrent_requests=max_concurrent,
        max_request_wait_time_ms=max_wait,
        max_request_body_bytes=max_body,
        keys_file=keys_file,
        inline_mode=inline_mode,
        startup_timeout_s=startup_timeout_s,
        access_log=access_log,
        config_file=config_path,
        config_warnings=tuple(warnings),
    )


def export_environment(settings: Settings, environ: dict[str, str] | None = None) -> None:
    """Publish the resolved settings as the azmlinfsrv environment variables a score.py may read.

    Scripts read ``AZUREML_MODEL_DIR`` (``os.getenv('AZUREML_MODEL_DIR')``) and ``AML_APP_ROOT``;
    the ``azureml.core.model`` shim reads ``AML_APP_ROOT``.
    """
    env = os.environ if environ is None else environ
    env["AML_APP_ROOT"] = settings.app_root
    if settings.model_dir:
        env["AZUREML_MODEL_DIR"] = settings.model_dir
    if settings.entry_script:
        env["AZUREML_ENTRY_SCRIPT"] = settings.entry_script
    env["WORKER_COUNT"] = str(settings.workers)
    env["SCORING_TIMEOUT_MS"] = str(settings.scoring_timeout_ms)
    if settings.server_version_header:
        env["HTTP_X_MS_SERVER_VERSION"] = settings.server_version_header
