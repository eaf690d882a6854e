"""The start-up banner: what is about to run (versions, script, model folder, limits, routes).

Logged once per server start, before the script is imported; a target that reports a failed
start skips it (see :mod:`dockyard.server.failure_report`).
"""

from __future__ import annotations

import logging
import os
import sys
from importlib import metadata

from dockyard import __version__
from dockyard.server.settings import Settings

logger = logging.getLogger("dockyard.server")

_BANNER_PACKAGES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "torch",
    "tensorflow",
    "onnxruntime",
    "xgboost",
    "lightgbm",
    "joblib",
    "inference-schema",
    "azureml-core",
    "azureml-contrib-services",
)


def package_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def banner(settings: Settings) -> None:
    """Log what is about to run: versions, script, model folder, limits and routes."""
    stack = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("uvicorn", "httptools", "uvloop")
        if package_version(name)
    )
    logger.info(f"dockyard scoring server {__version__} (Python {sys.version.split()[0]}; {stack})")
    if not settings.model_dir:
        logger.warning(
            "The environment variable 'AZUREML_MODEL_DIR' has not been set. Use --model-dir to set it."
        )
    installed = [f"{name} {v}" for name in _BANNER_PACKAGES if (v := package_version(name))]
    auth = f"keys from {settings.keys_file}" if settings.keys_file else "off"
    debuggers = []
    if settings.debug_port:
        debuggers.append(f"connects to 127.0.0.1:{settings.debug_port} (AZUREML_DEBUG_PORT)")
    if settings.debugpy_listen:
        debuggers.append(
            f"listens on {settings.debugpy_listen} (DOCKYARD_DEBUGPY_LISTEN), "
            f"waits up to {settings.debugpy_wait_s:g} s"
        )
    lines = [
        f"Entry script:        {settings.entry_script or os.path.join(settings.app_root, 'main.py')}",
        f"Model directory:     {settings.model_dir or 'not set'}",
        f"App root:            {settings.app_root}",
        f"Source directory:    {settings.source_dir or 'not set'}",
        f"Config file:         {settings.config_file or 'none'}",
        f"Workers:             {settings.workers}"
        + (" (the debugger is on: one worker)" if debuggers else ""),
        f"Concurrent run():    {settings.max_concurrent_requests} per worker, wait for a slot at most "
        f"{settings.max_request_wait_time_ms} ms",
        f"Scoring timeout:     {settings.scoring_timeout_ms} ms",
        f"Request body limit:  {settings.max_request_body_bytes} bytes",
        f"Key auth:            {auth}",
        f"CORS origins:        {settings.cors_origins or 'none'}",
        f"Debug responses:     {'on' if settings.debug else 'off'} (error details in 500 answers; not the debugger)",
        f"Debugger (debugpy):  {'; '.join(debuggers) or 'off'}",
        f"User packages:       {', '.join(installed) or 'none of the common ML packages'}",
    ]
    for line in lines:
        logger.info(line)
    for warning in settings.config_warnings:
        logger.warning(warning)
    base = f"http://{settings.host}:{settings.port}"
    logger.info("Server routes:")
    logger.info(f"  Liveness probe:  GET   {base}/")
    logger.info(f"  Readiness probe: GET   {base}/health/ready")
    logger.info(f"  Score:           POST  {base}/score")
    logger.info(f"  Swagger:         GET   {base}/swagger.json")
