"""One scoring-server process (a *worker*): an event-loop thread serving HTTP, the main thread
loading the script and running run().

One worker process is two threads:

* a thread running the asyncio (uvloop) event loop with uvicorn (httptools) serving the ASGI app;
  a lone worker serves from the start, so liveness answers while the script loads and readiness
  says 503 until then, while each of several workers (and a worker started by dockyard's local
  target) accepts connections only once its ``init()`` is done;
* the **main thread**, which imports the script, calls ``init()``, then serves run() calls that
  are not run inline (see :mod:`dockyard.server.executor`): being the main thread, it can be
  interrupted by ``SIGALRM`` for the scoring timeout, exactly as azmlinfsrv's gunicorn workers.

Once it accepts connections after ``init()``, a worker started with ``DOCKYARD_READY_FILE``
writes that file (its pid and the third-party modules it imported, see
:mod:`dockyard.server.module_scan`). ``SIGTERM``/``SIGINT`` stop it gracefully (in-flight
requests finish).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from dockyard.server import contract
from dockyard.server.app import ScoringApp, log_load_failure
from dockyard.server.banner import package_version
from dockyard.server.debugging import DebuggerError, connect_to_ide, listen_for_ide
from dockyard.server.logs import SINK
from dockyard.server.metrics import Board, Metrics
from dockyard.server.metrics_history import start_sampling
from dockyard.server.module_scan import third_party_modules
from dockyard.server.settings import Settings, export_environment
from dockyard.server.user_script import ScriptLoadError

logger = logging.getLogger("dockyard.server")


def _uvicorn_server(app: ScoringApp, settings: Settings) -> Any:
    import uvicorn

    loop = "uvloop" if package_version("uvloop") and sys.platform != "win32" else "asyncio"
    config = uvicorn.Config(
        app,
        loop=loop,
        http="httptools",
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
        server_header=False,
        date_header=True,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=max(5, settings.scoring_timeout_ms // 1000 + 5),
    )
    return uvicorn.Server(config)


def _new_loop(settings: Settings) -> asyncio.AbstractEventLoop:
    if package_version("uvloop") and sys.platform != "win32":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run_worker(
    settings: Settings,
    sock: socket.socket,
    index: int = 0,
    on_ready: Callable[[], object] | None = None,
    metrics: Metrics | None = None,
) -> int:
    """Serve on ``sock`` in this process until stopped; returns the exit code.

    ``on_ready`` is called once the worker accepts connections after its ``init()``. ``metrics``
    is this worker's row on the pool's shared board (default: a board of its own, unless
    ``DOCKYARD_METRICS=0``); worker 0 samples the board into ``DOCKYARD_METRICS_HISTORY``.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    export_environment(settings)
    if os.getcwd() != settings.app_root:
        os.chdir(settings.app_root)
    app = ScoringApp(settings, metrics=metrics)
    server = _uvicorn_server(app, settings)
    executor = app.executor
    board = app.metrics.board if app.metrics is not None and index == 0 else None

    def serve_in_thread() -> None:
        loop = _new_loop(settings)
        asyncio.set_event_loop(loop)
        try:
            sampler = loop.run_until_complete(_start_sampling(board))
            loop.run_until_complete(server.serve(sockets=[sock]))
            if sampler is not None:
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(sampler)
        except BaseException:
            logger.exception("The HTTP server stopped with an error")
        finally:
            executor.stop()
            SINK.flush()
            loop.close()

    loop_thread = threading.Thread(target=serve_in_thread, name="dockyard-http", daemon=True)
    # A worker that shares the socket with other workers, or (under dockyard's local target) with
    # the version being replaced, accepts connections only once init() is done, as azmlinfsrv's
    # gunicorn workers do: a request never lands on a worker that would answer 503. A lone
    # worker serves from the start, so that liveness answers while init() runs.
    defer_accept = settings.workers > 1 or bool(os.environ.get(contract.LISTEN_FD_ENV))
    if not defer_accept:
        loop_thread.start()

    try:
        if index == 0 and settings.debug_port:
            connect_to_ide(settings.debug_port, settings.app_root)
        if index == 0 and settings.debugpy_listen:
            listen_for_ide(settings.debugpy_listen, settings.debugpy_wait_s, settings.app_root)
    except DebuggerError as exc:
        logger.error(str(exc))
        server.should_exit = True
        if loop_thread.is_alive():
            loop_thread.join(10)
        return contract.EXIT_BAD_SETTINGS

    started = time.perf_counter()
    try:
        _load_with_deadline(app, settings.startup_timeout_s)
    except ScriptLoadError as exc:
        log_load_failure(exc, settings.model_dir)
        server.should_exit = True
        if loop_thread.is_alive():
            loop_thread.join(10)
        SINK.flush()
        return contract.EXIT_SCRIPT_FAILED
    logger.info(f"Script loaded and init() done in {time.perf_counter() - started:.2f} s; ready")
    if defer_accept:
        loop_thread.start()
    _announce_ready(server)
    if on_ready is not None:
        on_ready()

    stops = 0

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stops
        stops += 1
        server.should_exit = True
        if stops > 1:
            server.force_exit = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    executor.run_main_runner()  # returns once the HTTP thread has stopped
    loop_thread.join(30)
    SINK.flush()
    return contract.EXIT_OK


async def _start_sampling(board: Board | None) -> asyncio.Task[None] | None:
    return start_sampling(board) if board is not None else None


def _announce_ready(server: Any) -> None:
    """Create the ready file (when asked for) once uvicorn accepts connections."""
    path = os.environ.get(contract.READY_FILE_ENV)
    if not path:
        return
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.002)
    data = {"pid": os.getpid(), "modules": third_party_modules(os.getcwd())}
    tmp = f"{path}.tmp"
    with open(tmp, "w") as handle:  # what a warm parent should preload for the next start
        json.dump(data, handle)
    os.replace(tmp, path)


def _load_with_deadline(app: ScoringApp, timeout_s: float | None) -> None:
    """``app.load()``, stopped by ``SIGALRM`` after ``timeout_s`` (``DOCKYARD_STARTUP_TIMEOUT_S``).

    On expiry, raises :class:`ScriptLoadError` (phase ``timeout``) whose summary says what to do
    and whose traceback shows where import or ``init()`` was when it was stopped.
    """
    if not timeout_s:
        app.load()
        return
    limit = f"DOCKYARD_STARTUP_TIMEOUT_S={timeout_s:g} s"
    summary = (
        f"Start-up timeout: import and init() did not finish within {limit}; "
        "make init() faster, or raise or unset DOCKYARD_STARTUP_TIMEOUT_S"
    )
    fired = False
    loading = True

    def expired(signum: int, frame: Any) -> None:
        nonlocal fired
        if loading:
            fired = True
            raise TimeoutError(f"import and init() took longer than {limit}")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        app.load()
    except ScriptLoadError as exc:
        if not fired:
            raise
        raise ScriptLoadError("timeout", summary, exc.traceback_text) from None
    except TimeoutError as exc:  # fired outside the script's own code
        if not fired:
            raise
        raise ScriptLoadError("timeout", summary, f"TimeoutError: {exc}\n") from None
    finally:
        loading = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
