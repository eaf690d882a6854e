"""Attaching a debugger (debugpy) to the scoring server, in either direction.

* ``AZUREML_DEBUG_PORT=5678`` (azmlinfsrv's setting): the server *connects out* to an IDE that
  listens on that port (VS Code "Python: Remote Attach" in listen mode) and waits for it.
* ``DOCKYARD_DEBUGPY_LISTEN=0.0.0.0:5678`` (or just ``5678``, meaning 127.0.0.1): the server
  *listens* and the IDE attaches, the seed's ptvsd recipe; it waits at most
  ``DOCKYARD_DEBUGPY_WAIT_S`` seconds (default 60) for the IDE, then starts anyway.

Both happen before the script is imported, so breakpoints in ``init()`` are hit. Neither belongs
in production.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger("dockyard.server.debug")


class DebuggerError(RuntimeError):
    """debugpy is missing or could not connect/listen; the message says what to do."""


def _debugpy():  # type: ignore[no-untyped-def]
    try:
        import debugpy
    except ModuleNotFoundError:
        raise DebuggerError(
            "a debugger was requested (AZUREML_DEBUG_PORT or DOCKYARD_DEBUGPY_LISTEN) but debugpy is not "
            "installed; add debugpy to the environment's pip packages or unset the variable"
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


def connect_to_ide(port: int) -> None:
    """azmlinfsrv's mode: dial out to an IDE listening on 127.0.0.1:``port`` and wait for it."""
    logger.warning(
        "!! Starting the inference server in DEBUGGING mode because AZUREML_DEBUG_PORT is set."
    )
    logger.warning("!! This environment variable should not be set in a production environment.")
    debugpy = _debugpy()
    logger.info(f"** Connecting to debugger at port {port}...")
    try:
        debugpy.connect(port)
    except Exception as exc:
        raise DebuggerError(
            f"cannot connect to a debugger on port {port} ({exc}); start the IDE's debugpy listener first "
            "or unset AZUREML_DEBUG_PORT"
        ) from None
    debugpy.wait_for_client()


def listen_for_ide(listen: str, wait_s: float) -> None:
    """The seed's mode: listen on ``listen`` and wait up to ``wait_s`` seconds for an IDE to attach."""
    host, port = parse_listen(listen)
    debugpy = _debugpy()
    try:
        debugpy.listen((host, port))
    except Exception as exc:
        raise DebuggerError(
            f"debugpy cannot listen on {host}:{port} ({exc}); choose another DOCKYARD_DEBUGPY_LISTEN"
        ) from None
    logger.warning(
        f"debugpy is listening on {host}:{port}; waiting up to {wait_s:g} s for a debugger to attach"
    )
    waiter = threading.Thread(
        target=debugpy.wait_for_client, name="dockyard-debugpy-wait", daemon=True
    )
    waiter.start()
    waiter.join(wait_s)
    if waiter.is_alive():
        debugpy.wait_for_client.cancel()
        logger.warning(
            "No debugger attached within %g s; starting without one (attach later at any time)",
            wait_s,
        )
    else:
        logger.info("Debugger attached")
