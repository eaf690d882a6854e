"""Attaching a debugger (debugpy) to the scoring server, in either direction.

* ``AZUREML_DEBUG_PORT=5678`` (azmlinfsrv's setting): the server *connects out* to an IDE that
  listens on that port (VS Code "Python: Remote Attach" in listen mode) and waits for it.
* ``DOCKYARD_DEBUGPY_LISTEN=0.0.0.0:5678`` (or just ``5678``, meaning 127.0.0.1): the server
  *listens* and the IDE attaches, the seed's ptvsd recipe; it waits at most
  ``DOCKYARD_DEBUGPY_WAIT_S`` seconds (default 60) for the IDE, then starts anyway.

Both happen before the script is imported, so breakpoints in ``init()`` are hit. Neither belongs
in production. Neither is ``debug=True`` / ``DOCKYARD_DEBUG`` (error details in 500 answers).
The deployment option ``debugger_port`` (``dockyard model deploy --debugger``) sets
``DOCKYARD_DEBUGPY_LISTEN`` and ``DOCKYARD_DEBUGPY_WAIT_S``; debugpy comes with dockyard's server
runtime, and a server with a debugger runs one worker (:mod:`dockyard.server.settings`). Each logs the VS Code ``launch.json`` configuration that matches it, with
``pathMappings`` from ``${workspaceFolder}`` to the server's app root (``/var/azureml-app`` in
containers), so that breakpoints set in the local copy of score.py bind in the server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from typing import Any

from dockyard.server import contract

logger = logging.getLogger("dockyard.server.debug")


class DebuggerError(RuntimeError):
    """debugpy is missing or could not connect/listen; the message says what to do."""


def _debugpy():  # type: ignore[no-untyped-def]
    try:
        import debugpy
    except ModuleNotFoundError:
        raise DebuggerError(
            "a debugger was requested (AZUREML_DEBUG_PORT or DOCKYARD_DEBUGPY_LISTEN, that is "
            "debugger_port; not debug=True) but debugpy cannot be imported: it comes with "
            "dockyard's server runtime, so rebuild the environment or image with this dockyard "
            "(or add debugpy to the environment's pip packages), or deploy without debugger_port"
        ) from None
    return debugpy


def parse_listen(value: str) -> tuple[str, int]:
    """``"5678"`` -> ``("127.0.0.1", 5678)``; ``"0.0.0.0:5678"`` -> ``("0.0.0.0", 5678)``."""
    host, _, port = value.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise DebuggerError(
            f"DOCKYARD_DEBUGPY_LISTEN={value!r} is not HOST:PORT or PORT, e.g. 0.0.0.0:5678"
        ) from None
    return host or "127.0.0.1", number


def vscode_launch_config(mode: str, host: str, port: int, app_root: str) -> dict[str, Any]:
    """The VS Code ``launch.json`` configuration for a debugger session with this server.

    ``mode`` is ``"listen"`` when the IDE listens and the server dials out (``AZUREML_DEBUG_PORT``)
    and ``"connect"`` when the server listens and the IDE attaches (``DOCKYARD_DEBUGPY_LISTEN``).
    """
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"  # the IDE reaches a wildcard listener (or a published port) here
    return {
        "name": "Attach to the dockyard scoring server",
        "type": "debugpy",
        "request": "attach",
        mode: {"host": host, "port": port},
        "pathMappings": [{"localRoot": "${workspaceFolder}", "remoteRoot": app_root}],
    }


def _log_launch_config(mode: str, host: str, port: int, app_root: str) -> None:
    config = json.dumps(vscode_launch_config(mode, host, port, app_root), indent=2)
    logger.info(f'VS Code launch.json configuration (add it to "configurations"):\n{config}')


def connect_to_ide(port: int, app_root: str) -> None:
    """azmlinfsrv's mode: dial out to an IDE listening on 127.0.0.1:``port`` and wait for it."""
    logger.warning(
        "!! Starting the inference server in DEBUGGING mode because AZUREML_DEBUG_PORT is set."
    )
    logger.warning("!! This environment variable should not be set in a production environment.")
    debugpy = _debugpy()
    _log_launch_config("listen", "127.0.0.1", port, app_root)
    logger.info(f"** Connecting to debugger at port {port}...")
    try:
        debugpy.connect(port)
    except Exception as exc:
        raise DebuggerError(
            f"cannot connect to a debugger on port {port} ({exc}); start the IDE's debugpy listener first "
            "or unset AZUREML_DEBUG_PORT"
        ) from None
    debugpy.wait_for_client()


def _check_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def listen_for_ide(listen: str, wait_s: float, app_root: str) -> None:
    """The seed's mode: listen on ``listen`` and wait up to ``wait_s`` seconds for an IDE to attach."""
    host, port = parse_listen(listen)
    # (the frozen-modules note concerns breakpoints in the standard library only)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    debugpy = _debugpy()
    try:
        _check_free(host, port)  # in-process, debugpy binds on a thread: its error would be lost
        # in-process: the server itself holds the port, so it is free the moment the server
        # stops (a separate adapter would outlive it and keep the port a reload needs)
        debugpy.listen((host, port), in_process_debug_adapter=True)
    except Exception as exc:
        raise DebuggerError(
            f"debugpy cannot listen on {host}:{port} ({exc}); choose another DOCKYARD_DEBUGPY_LISTEN "
            "(deployments: another debugger_port)"
        ) from None
    logger.warning(
        f"debugpy is listening on {host}:{port}; waiting up to {wait_s:g} s for a debugger to "
        "attach (the IDE), then starting without one"
    )
    published = os.environ.get(contract.DEBUGPY_PUBLISHED_ENV)
    if published:  # the IDE reaches it there (a container's port published on 127.0.0.1)
        logger.info(f"The debugger is published on {published} for the IDE")
        _log_launch_config("connect", *parse_listen(published), app_root)
    else:
        _log_launch_config("connect", host, port, app_root)
    service = os.environ.get(contract.SERVICE_NAME_ENV)
    if service:
        logger.info(
            f"The launch.json entry with this service's path mappings: "
            f"dockyard service debug-config {service}"
        )
    if wait_s <= 0:
        logger.warning(
            "Not waiting for a debugger (DOCKYARD_DEBUGPY_WAIT_S=0): starting now "
            "(an IDE can attach at any time)"
        )
        return
    waiter = threading.Thread(
        target=debugpy.wait_for_client, name="dockyard-debugpy-wait", daemon=True
    )
    waiter.start()
    waiter.join(wait_s)
    if waiter.is_alive():
        with contextlib.suppress(RuntimeError):  # the wait had not begun yet
            debugpy.wait_for_client.cancel()
        logger.warning(
            f"No debugger attached within {wait_s:g} s; starting without one "
            "(the service continues; an IDE can still attach at any time)"
        )
    else:
        logger.info("Debugger attached")
