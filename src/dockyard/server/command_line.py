"""The scoring server's command line: its flags (``dockyard serve``, ``python -m dockyard.server``).

Each flag has a dockyard spelling and, where azmlinfsrv has one, azmlinfsrv's (``--entry_script``,
``--model_dir``, ``--worker_count``, ...). Flags only collect raw text: validation and precedence
over environment variables and config.json are in :func:`dockyard.server.settings.load_settings`.
"""

from __future__ import annotations

import argparse


def build_parser(default_port: int) -> argparse.ArgumentParser:
    """The ``dockyard serve`` / ``python -m dockyard.server`` flags, azmlinfsrv's spellings included."""
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
    a("--port", default=None, help=f"port to listen on (default {default_port})")
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
