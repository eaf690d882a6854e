"""What the scoring script finds in ``os.environ``: azmlinfsrv's rules for which values it exports.

A value given in the environment is passed on exactly as given (MLOpsPython's score.py takes
``AZUREML_MODEL_DIR.split('/')[1]`` as the model name); a flag's value is exported; values read
from config.json are not exported (azmlinfsrv does not either). Variable by variable:

* ``AML_APP_ROOT``: as given; else the app root (``--app-root``, else the working directory).
  A relative value other than ``.`` becomes absolute: the script runs in the app root.
* ``AZUREML_ENTRY_SCRIPT``: as given (relative to the app root, as Azure ML sets it); with
  ``--entry-script``, that file's real path (azmlinfsrv's ``os.path.realpath``).
* ``AZUREML_MODEL_DIR``: as given, relative or not (Azure ML v1 sets
  ``azureml-models/<name>/<version>``, or ``azureml-models`` for several models, and starts
  the server in the app root); ``--model-dir``'s value verbatim.
* ``WORKER_COUNT``: as given, else the worker count; ``SCORING_TIMEOUT_MS``: as given or from
  ``--scoring-timeout-ms`` (a value from config.json or the default is not exported);
  ``HTTP_X_MS_SERVER_VERSION``: the server-version header, when it is on.
* ``AML_CORS_ORIGINS`` and ``AZUREML_CONFIG_FILE`` (a real path) when given as flags.

:func:`dockyard.server.settings.export_environment` sets them when the server starts.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping


def script_environment(
    args: argparse.Namespace,
    env: Mapping[str, str],
    *,
    app_root: str,
    entry_script: str | None,
    workers: int,
    scoring_timeout_ms: int,
    server_version_header: str | None,
    config_path: str | None,
) -> tuple[tuple[str, str], ...]:
    """``(name, value)`` pairs to export, from the flags (``args``), the environment and the
    values :func:`dockyard.server.settings.load_settings` resolved."""
    entry_from_flag = args.entry_script
    script_env: dict[str, str] = {}
    given_root = env.get("AML_APP_ROOT") or ""
    # The server runs in the app root (azmlinfsrv does not change directory): a relative
    # AML_APP_ROOT other than "." would name another folder from there, so it is made absolute.
    same_root = os.path.normpath(os.path.join(app_root, given_root)) == app_root
    script_env["AML_APP_ROOT"] = (
        given_root if given_root and same_root and not args.app_root else app_root
    )
    if entry_from_flag and entry_script:
        script_env["AZUREML_ENTRY_SCRIPT"] = entry_script
    elif env.get("AZUREML_ENTRY_SCRIPT"):
        script_env["AZUREML_ENTRY_SCRIPT"] = env["AZUREML_ENTRY_SCRIPT"]
    if args.model_dir:
        script_env["AZUREML_MODEL_DIR"] = args.model_dir
    elif env.get("AZUREML_MODEL_DIR"):
        script_env["AZUREML_MODEL_DIR"] = env["AZUREML_MODEL_DIR"]
    script_env["WORKER_COUNT"] = (
        str(workers) if args.workers else env.get("WORKER_COUNT") or str(workers)
    )
    if args.scoring_timeout_ms:
        script_env["SCORING_TIMEOUT_MS"] = str(scoring_timeout_ms)
    elif env.get("SCORING_TIMEOUT_MS"):
        script_env["SCORING_TIMEOUT_MS"] = env["SCORING_TIMEOUT_MS"]
    if server_version_header:
        script_env["HTTP_X_MS_SERVER_VERSION"] = server_version_header
    if args.cors_origins is not None:  # azmlinfsrv exports its --access_control_allow_origins
        script_env["AML_CORS_ORIGINS"] = args.cors_origins
    if args.config_file and config_path:  # ... and its --config_file, as a real path
        script_env["AZUREML_CONFIG_FILE"] = os.path.realpath(config_path)
    return tuple(script_env.items())
