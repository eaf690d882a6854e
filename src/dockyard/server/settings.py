"""The scoring server's one settings object, built from flags, environment variables and config.json.

Precedence, highest first: command-line flags, environment variables, then the JSON config file
(``AZUREML_CONFIG_FILE``, else ``config.json`` in the app root or next to the entry script), then
defaults. The names are azmlinfsrv's, so a deployment made for Microsoft's server starts unchanged;
dockyard's own knobs are ``DOCKYARD_*`` variables. Every problem is a :class:`SettingsError` whose
message is one line naming the flag or variable and saying what to do; :mod:`dockyard.server.entry` turns it into
exit code 2 (exit code 3 is reserved for import/``init()`` failures).

The flags are declared in :mod:`dockyard.server.command_line`, config.json is found and read by
:mod:`dockyard.server.config_file`, one raw value becomes a number or a boolean (or a
:class:`SettingsError`) in :mod:`dockyard.server.conversions`, and what the script finds in
``os.environ`` is chosen by :mod:`dockyard.server.script_environment`. These modules use only
the standard library (dataclasses, not pydantic): they run inside every image.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dockyard import __version__
from dockyard.server import contract
from dockyard.server.command_line import build_parser
from dockyard.server.config_file import find_config_file, read_config_file
from dockyard.server.conversions import SettingsError, as_bool, as_float, as_int
from dockyard.server.script_environment import script_environment

DEFAULT_APP_ROOT_IN_CONTAINER = "/var/azureml-app"
DEFAULT_PORT = 5001
DEFAULT_SCORING_TIMEOUT_MS = 3_600_000
DEFAULT_MAX_REQUEST_WAIT_TIME_MS = 60_000
DEFAULT_MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024
#: How long a request that arrives while init() runs waits for it (then 503 with Retry-After).
DEFAULT_STARTUP_REQUEST_WAIT_S = 900.0
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
INLINE_MODES = ("auto", "always", "never")

__all__ = [
    "DEFAULT_APP_ROOT_IN_CONTAINER",
    "DEFAULT_MAX_REQUEST_BODY_BYTES",
    "DEFAULT_MAX_REQUEST_WAIT_TIME_MS",
    "DEFAULT_PORT",
    "DEFAULT_SCORING_TIMEOUT_MS",
    "DEFAULT_STARTUP_REQUEST_WAIT_S",
    "INLINE_MODES",
    "LOG_LEVELS",
    "Settings",
    "SettingsError",
    "export_environment",
    "load_settings",
]


@dataclass(frozen=True)
class Settings:
    """Everything the scoring server needs to know, validated.

    Paths are absolute (resolved for the server's own use: banner, model-folder listing).
    ``entry_script`` is ``None`` only when the azmlinfsrv fallback applies: ``main.py`` imported
    from the app root. ``script_environment`` is what the script finds in ``os.environ`` (see
    :func:`export_environment`): the values as they were given, never the resolved paths.
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
    #: With key auth on: accept tokens for this service instead of keys (token auth).
    token_auth: bool = False
    inline_mode: str = "auto"
    startup_timeout_s: float | None = None
    #: DOCKYARD_STARTUP_REQUEST_WAIT_S: how long a request sent while init() runs waits for it
    #: (azmlinfsrv accepts nothing before then, so the request waits); 0 answers 503 at once.
    startup_request_wait_s: float = DEFAULT_STARTUP_REQUEST_WAIT_S
    access_log: bool = True
    config_file: str | None = None
    config_warnings: tuple[str, ...] = ()
    #: ``(name, value)`` pairs :func:`export_environment` sets for the script, by azmlinfsrv's rules.
    script_environment: tuple[tuple[str, str], ...] = ()

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some fields changed (settings are immutable)."""
        return replace(self, **changes)


def load_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build :class:`Settings` from command-line ``argv`` and ``environ`` (default: ``os.environ``).

    Raises :class:`SettingsError` for anything invalid. ``argparse`` errors (unknown flag) exit with
    code 2 on their own, which is also the bad-settings code.
    """
    env = dict(os.environ if environ is None else environ)
    args = build_parser(DEFAULT_PORT).parse_args(list(argv or []))
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
        config_path = find_config_file(env, app_root, probe_entry)
    file_values: dict[str, str] = {}
    if config_path:
        file_values, file_warnings = read_config_file(config_path)
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
    # For the server's own use only (banner, listing after a failed init()): the script runs in
    # the app root, so a relative value (Azure ML v1's azureml-models/<name>/<version>) is under it.
    model_dir = os.path.normpath(os.path.join(app_root, model_dir_raw)) if model_dir_raw else None

    host = args.host or env.get("DOCKYARD_HOST") or "127.0.0.1"
    port = as_int(
        "--port" if args.port else "DOCKYARD_PORT",
        args.port or env.get("DOCKYARD_PORT") or str(DEFAULT_PORT),
        minimum=1,
        maximum=65535,
        hint="choose a free TCP port, e.g. 5001",
    )
    workers = as_int(
        "--workers" if args.workers else "WORKER_COUNT",
        args.workers or env.get("WORKER_COUNT") or "1",
        minimum=1,
        hint="use the number of processes to run, e.g. 1 or 2",
    )
    timeout_raw = args.scoring_timeout_ms or pick("SCORING_TIMEOUT_MS")
    scoring_timeout_ms = (
        as_int(
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
        as_int(
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
        as_float(
            "DOCKYARD_DEBUGPY_WAIT_S",
            debugpy_wait_raw,
            hint="seconds to wait for a debugger to attach (0: do not wait)",
            zero_ok=True,
        )
        if debugpy_wait_raw
        else 60.0
    )
    debugpy_listen = env.get("DOCKYARD_DEBUGPY_LISTEN") or None
    if debugpy_listen is not None:
        listen_port = debugpy_listen.rpartition(":")[2]
        if not (listen_port.isdigit() and 1 <= int(listen_port) <= 65535):
            raise SettingsError(
                f"DOCKYARD_DEBUGPY_LISTEN={debugpy_listen!r} is not HOST:PORT or PORT; "
                "use e.g. 0.0.0.0:5678 (containers) or 5678 (127.0.0.1)"
            )
    if (debugpy_listen or debug_port) and workers > 1:
        # only the first worker would start debugpy: the IDE would miss the others' requests
        warnings.append(
            f"The debugger (debugpy) is on: running ONE worker instead of {workers}, so that "
            "every request reaches the process the IDE is attached to"
        )
        workers = 1

    def dockyard_int(
        flag_value: str | None, name: str, default: int, minimum: int, hint: str
    ) -> int:
        raw = flag_value or env.get(name)
        return as_int(name, raw, minimum=minimum, hint=hint) if raw else default

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
        as_float(
            "DOCKYARD_STARTUP_TIMEOUT_S", startup_raw, hint="seconds import and init() may take"
        )
        if startup_raw
        else None
    )
    startup_wait_raw = env.get("DOCKYARD_STARTUP_REQUEST_WAIT_S")
    startup_request_wait_s = (
        as_float(
            "DOCKYARD_STARTUP_REQUEST_WAIT_S",
            startup_wait_raw,
            hint="seconds a request sent during init() may wait for it (0: answer 503 at once)",
            zero_ok=True,
        )
        if startup_wait_raw
        else DEFAULT_STARTUP_REQUEST_WAIT_S
    )

    auth_mode = (env.get(contract.AUTH_MODE_ENV) or "key").strip().lower()
    if auth_mode not in ("key", "token"):
        raise SettingsError(f"{contract.AUTH_MODE_ENV}={auth_mode!r}: use key or token")
    token_auth = auth_mode == "token"
    keys_file = args.keys_file or env.get(contract.KEYS_FILE_ENV) or None
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
        else as_bool("DOCKYARD_DEBUG", env.get("DOCKYARD_DEBUG", ""))
    )
    access_log = (
        args.access_log
        if args.access_log is not None
        else as_bool("DOCKYARD_ACCESS_LOG", env.get("DOCKYARD_ACCESS_LOG", "true"))
    )

    version_enabled = env.get("SERVER_VERSION_LOG_RESPONSE_ENABLED")
    if version_enabled is None or version_enabled.lower() == "true":
        server_version_header: str | None = (
            env.get("HTTP_X_MS_SERVER_VERSION") or f"dockyard/{__version__}"
        )
    else:
        server_version_header = env.get("HTTP_X_MS_SERVER_VERSION") or None

    cors = args.cors_origins if args.cors_origins is not None else env.get("AML_CORS_ORIGINS")

    script_env = script_environment(
        args,
        env,
        app_root=app_root,
        entry_script=entry_script,
        workers=workers,
        scoring_timeout_ms=scoring_timeout_ms,
        server_version_header=server_version_header,
        config_path=config_path,
    )

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
        debugpy_listen=debugpy_listen,
        debugpy_wait_s=debugpy_wait_s,
        service_name=pick("SERVICE_NAME") or "ML service",
        service_version=pick("SERVICE_VERSION") or "1.0",
        service_path_prefix=pick("SERVICE_PATH_PREFIX") or "",
        server_version_header=server_version_header,
        max_concurrent_requests=max_concurrent,
        max_request_wait_time_ms=max_wait,
        max_request_body_bytes=max_body,
        keys_file=keys_file,
        token_auth=token_auth,
        inline_mode=inline_mode,
        startup_timeout_s=startup_timeout_s,
        startup_request_wait_s=startup_request_wait_s,
        access_log=access_log,
        config_file=config_path,
        config_warnings=tuple(warnings),
        script_environment=script_env,
    )


def export_environment(settings: Settings, environ: dict[str, str] | None = None) -> None:
    """Publish the settings as the azmlinfsrv environment variables a score.py may read.

    The values are those of :attr:`Settings.script_environment`, chosen by azmlinfsrv's rules
    (see :mod:`dockyard.server.script_environment`). The ``azureml.core.model`` shim reads
    ``AML_APP_ROOT``.
    """
    env = os.environ if environ is None else environ
    for name, value in settings.script_environment:
        env[name] = value
