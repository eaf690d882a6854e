"""Running the scoring server as processes: one per ``WORKER_COUNT``, sharing one listening socket.

One worker process is two threads:

* a thread running the asyncio (uvloop) event loop with uvicorn (httptools) serving the ASGI app;
  a lone worker serves from the start, so liveness answers while the script loads and readiness
  says 503 until then, while each of several workers (and a worker started by dockyard's local
  target) accepts connections only once its ``init()`` is done;
* the **main thread**, which imports the script, calls ``init()``, then serves run() calls that
  are not run inline (see :mod:`dockyard.server.executor`): being the main thread, it can be
  interrupted by ``SIGALRM`` for the scoring timeout, exactly as azmlinfsrv's gunicorn workers.

With several workers, the parent binds the socket, forks the workers (before any thread or user
code exists), and supervises them: a worker exiting with code 3 (import/init() failure) stops all
and the parent exits 3; a worker that dies later is replaced. ``SIGTERM``/``SIGINT`` stop
gracefully (in-flight requests finish).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

from dockyard.server import contract, wire
from dockyard.server.app import ScoringApp, log_load_failure
from dockyard.server.debugging import DebuggerError, connect_to_ide, listen_for_ide
from dockyard.server.logs import SINK, configure_logging, redirect_print
from dockyard.server.settings import Settings, export_environment
from dockyard.server.unready import answer_waiting, unready_response
from dockyard.server.user_script import ScriptLoadError

logger = logging.getLogger("dockyard.server")

EXIT_OK, EXIT_BAD_SETTINGS, EXIT_SCRIPT_FAILED = (
    contract.EXIT_OK,
    contract.EXIT_BAD_SETTINGS,
    contract.EXIT_SCRIPT_FAILED,
)
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


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def banner(settings: Settings) -> None:
    """Log what is about to run: versions, script, model folder, limits and routes."""
    from dockyard import __version__

    stack = ", ".join(
        f"{name} {_version(name)}" for name in ("uvicorn", "httptools", "uvloop") if _version(name)
    )
    logger.info(f"dockyard scoring server {__version__} (Python {sys.version.split()[0]}; {stack})")
    if not settings.model_dir:
        logger.warning(
            "The environment variable 'AZUREML_MODEL_DIR' has not been set. Use --model-dir to set it."
        )
    installed = [f"{name} {v}" for name in _BANNER_PACKAGES if (v := _version(name))]
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
        f"Workers:             {settings.workers}",
        f"Concurrent run():    {settings.max_concurrent_requests} per worker, wait for a slot at most "
        f"{settings.max_request_wait_time_ms} ms",
        f"Scoring timeout:     {settings.scoring_timeout_ms} ms",
        f"Request body limit:  {settings.max_request_body_bytes} bytes",
        f"Key auth:            {auth}",
        f"CORS origins:        {settings.cors_origins or 'none'}",
        f"Debug responses:     {'on' if settings.debug else 'off'}",
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


def _uvicorn_server(app: ScoringApp, settings: Settings) -> Any:
    import uvicorn

    loop = "uvloop" if _version("uvloop") and sys.platform != "win32" else "asyncio"
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
    if _version("uvloop") and sys.platform != "win32":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run_worker(
    settings: Settings,
    sock: socket.socket,
    index: int = 0,
    on_ready: Callable[[], object] | None = None,
) -> int:
    """Serve on ``sock`` in this process until stopped; returns the exit code.

    ``on_ready`` is called once the worker accepts connections after its ``init()``.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    export_environment(settings)
    if os.getcwd() != settings.app_root:
        os.chdir(settings.app_root)
    app = ScoringApp(settings)
    server = _uvicorn_server(app, settings)
    executor = app.executor

    def serve_in_thread() -> None:
        loop = _new_loop(settings)
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
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
        return EXIT_BAD_SETTINGS

    started = time.perf_counter()
    try:
        _load_with_deadline(app, settings.startup_timeout_s)
    except ScriptLoadError as exc:
        log_load_failure(exc, settings.model_dir)
        server.should_exit = True
        if loop_thread.is_alive():
            loop_thread.join(10)
        SINK.flush()
        return EXIT_SCRIPT_FAILED
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
    return EXIT_OK


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


def _announce_ready(server: Any) -> None:
    """Create the ready file (when asked for) once uvicorn accepts connections."""
    path = os.environ.get(contract.READY_FILE_ENV)
    if not path:
        return
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.002)
    from dockyard.server.zygote import third_party_modules

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
        return EXIT_BAD_SETTINGS
    if settings.workers == 1:
        return run_worker(settings, sock, 0)
    return _supervise(settings, sock)


def _supervise(settings: Settings, sock: socket.socket) -> int:
    """Fork ``settings.workers`` workers on ``sock``, replace the ones that die, stop on signals.

    Workers accept connections only after their ``init()``. While none is ready, connections wait
    in the kernel's queue, as with azmlinfsrv's gunicorn; once they have waited longer than
    ``DOCKYARD_STARTUP_REQUEST_WAIT_S`` (at once when it is 0), this process answers them with
    503 and ``Retry-After`` until a worker is ready.
    """
    children: dict[int, int] = {}  # pid -> worker index
    ready: set[int] = set()  # indexes of the workers that accept connections
    stopping = False
    restarts: list[float] = []
    ready_read, ready_write = os.pipe()
    os.set_blocking(ready_read, False)
    unready_since = time.monotonic()
    wait_s = settings.startup_request_wait_s
    busy = unready_response(json.loads(wire.NOT_READY_BODY)["message"])

    def spawn(index: int) -> None:
        SINK.flush()
        pid = os.fork()
        if pid == 0:
            code = EXIT_SCRIPT_FAILED
            os.close(ready_read)
            try:
                code = run_worker(
                    settings, sock, index, on_ready=lambda: os.write(ready_write, bytes([index]))
                )
            finally:
                SINK.flush()
                os._exit(code)
        children[pid] = index

    def stop_all(signum: int = signal.SIGTERM) -> None:
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        stop_all(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for index in range(settings.workers):
        spawn(index)
    exit_code = EXIT_OK
    while children:
        with contextlib.suppress(BlockingIOError):
            ready.update(os.read(ready_read, 256))
        if not ready and not stopping and time.monotonic() - unready_since >= wait_s:
            answer_waiting(sock, busy)
        try:  # block while a worker serves; poll (for readiness and the 503 bound) while none does
            pid, status = os.waitpid(-1, 0 if ready else os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            with contextlib.suppress(OSError, ValueError):
                select.select([ready_read], [], [], 0.05)
            continue
        index = children.pop(pid, -1)
        ready.discard(index)
        if not ready:
            unready_since = time.monotonic()
        code = os.waitstatus_to_exitcode(status)
        if stopping:
            continue
        if code in (EXIT_SCRIPT_FAILED, EXIT_BAD_SETTINGS):
            logger.error(f"Worker {index} (pid {pid}) exited with code {code}; stopping the server")
            stopping, exit_code = True, code
            stop_all()
            continue
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < 60] + [now]
        if len(restarts) > 10:
            logger.error("Workers keep dying (more than 10 restarts in 60 s); stopping the server")
            stopping, exit_code = True, 1
            stop_all()
            continue
        logger.error(f"Worker {index} (pid {pid}) died with code {code}; starting a new one")
        spawn(index)
    os.close(ready_read)
    os.close(ready_write)
    sock.close()
    SINK.flush()
    return exit_code
