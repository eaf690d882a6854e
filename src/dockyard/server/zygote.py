"""A warm parent for fast restarts: import the environment's packages once, fork servers from it.

Most of a reload is not dockyard's work but the user's packages importing (scikit-learn, pandas,
torch ...): seconds, every time a server starts cold. dockyard's local supervisor therefore keeps,
per service, one *zygote* process in the service's environment that has already imported the
third-party packages the running server uses (never modules from the app root or the source
directory: edited user code is always read fresh). A reload, an update in the same environment,
or a restart after a crash forks a new server from it, which skips those imports.

Started by the supervisor as ``python -m dockyard.server`` with ``DOCKYARD_ZYGOTE_FD`` (one end of
a socket pair) and ``DOCKYARD_ZYGOTE_PRELOAD`` (comma-separated module names). The protocol is one
JSON object per line:

* zygote -> supervisor: ``{"ready": true}`` once the imports are done; ``{"pid": N}`` after each
  spawn; ``{"exit": N, "code": C}`` when a forked server ends (C as ``Popen.returncode``);
* supervisor -> zygote: ``{"env": {...}, "cwd": "...", "argv": [...]}`` to start one server.

The forked server runs the ``main(argv)`` given to :func:`run` (:func:`dockyard.server.entry.main`)
exactly as a cold one would, with the given environment and working directory. The list of
modules to preload comes from the running server (:mod:`dockyard.server.module_scan`).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import select
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from typing import Any

from dockyard.server import contract

ZYGOTE_FD_ENV = contract.ZYGOTE_FD_ENV
PRELOAD_ENV = contract.ZYGOTE_PRELOAD_ENV
#: The server's own stack, imported in every zygote.
_SERVER_MODULES = ("dockyard.server.worker", "dockyard.server.app", "uvicorn", "httptools")


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


def _child(sock: socket.socket, request: dict[str, Any], main: Callable[[list[str]], int]) -> None:
    """In the forked child: become a normal server process and never return."""
    code = 1
    try:
        sock.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with contextlib.suppress(Exception):  # die with the zygote (and so with the supervisor)
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        if sys.path and sys.path[0] not in ("", request["cwd"]):
            sys.path[0] = request["cwd"]
        code = main(list(request["argv"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report anything, then exit
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def run(fd: int, main: Callable[[list[str]], int]) -> int:
    """The zygote's loop: preload, then fork servers on request until the supervisor goes.

    Each forked server calls ``main(argv)`` (the server's entry point) and exits with its code.
    """
    sock = socket.socket(fileno=fd)
    for name in (*_SERVER_MODULES, *filter(None, os.environ.get(PRELOAD_ENV, "").split(","))):
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    _send(sock, {"ready": True})
    buffer = b""
    while True:
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            data = sock.recv(65536)
            if not data:
                return 0  # the supervisor is gone
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _child(sock, request, main)
                _send(sock, {"pid": pid})
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            _send(sock, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})
