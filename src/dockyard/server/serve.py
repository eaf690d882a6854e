"""Running the scoring server as processes: logging, the banner, the listening socket, the workers.

:func:`serve` is what ``python -m dockyard.server`` runs once its settings are read: it sets up
logging, logs the banner (:mod:`dockyard.server.banner`), binds the socket (or takes the one the
local supervisor passed in ``DOCKYARD_LISTEN_FD``), then runs one worker in this process
(:mod:`dockyard.server.worker`) or, with ``WORKER_COUNT`` > 1, forks several and supervises them
(:mod:`dockyard.server.worker_pool`).
"""

from __future__ import annotations

import logging
import os
import socket

from dockyard.server import contract
from dockyard.server.banner import banner
from dockyard.server.logs import configure_logging, redirect_print
from dockyard.server.settings import Settings
from dockyard.server.worker import run_worker
from dockyard.server.worker_pool import run_worker_pool

logger = logging.getLogger("dockyard.server")


def serve(settings: Settings) -> int:
    """Start the server for ``settings`` (logging, banner, socket, workers); returns the exit code."""
    configure_logging(
        settings.log_level,
        [settings.app_root, os.path.dirname(settings.entry_script or settings.app_root)],
    )
    redirect_print()
    banner(settings)
    try:
        sock = _inherited_socket() or bind_socket(settings.host, settings.port)
    except OSError as exc:
        logger.error(str(exc))
        return contract.EXIT_BAD_SETTINGS
    if settings.workers == 1:
        return run_worker(settings, sock, 0)
    return run_worker_pool(settings, sock)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (raises OSError with a clear message)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or stop what uses it"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _inherited_socket() -> socket.socket | None:
    fd = os.environ.get(contract.LISTEN_FD_ENV)
    if not fd:
        return None
    try:
        return socket.socket(fileno=int(fd))
    except (ValueError, OSError) as exc:
        raise OSError(
            f"{contract.LISTEN_FD_ENV}={fd!r} is not an open listening socket: {exc}"
        ) from None
