"""The scoring server as a Ray Serve replica (what the cluster target runs on every replica).

:mod:`dockyard.targets.ray` wraps :class:`ScoringReplica` into a Serve deployment
(``serve.deployment(serve.ingress()(ScoringReplica))``), so this module imports no Ray: it is
shipped to every node inside the server-runtime wheel. A replica

* takes the same environment variables as the server process on the other targets
  (:mod:`dockyard.server.contract`), with the app root as its working directory (Ray unpacks
  the service's app root there: models, score.py and the source folder);
* loads score.py and runs ``init()`` in its constructor, so a failing ``init()`` fails the
  replica's start and Ray reports the traceback (``serve.status()``);
* answers with the same ASGI app as every target (:mod:`dockyard.server.app`), under the route
  prefix Ray gives it (``/api/v1/service/<name>``, as AKS does);
* gets its keys through Serve's ``user_config``: ``reconfigure()`` (called before the replica
  takes traffic, and again on every change) writes them to the keys file the server already
  follows, so a key rotation restarts nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sys
import tempfile
import time
from typing import Any

from dockyard.server import contract
from dockyard.server.app import ScoringApp, create_app, log_load_failure
from dockyard.server.debugging import DebuggerError, listen_for_ide
from dockyard.server.logs import configure_logging
from dockyard.server.settings import load_settings
from dockyard.server.user_script import ScriptLoadError

logger = logging.getLogger("dockyard.server")

#: The ``user_config`` key that carries ``{"primaryKey": ..., "secondaryKey": ...}``.
KEYS = "keys"
#: How long a replica with the debugger waits for the one it replaces to free the port.
PORT_RELEASE_S = 30.0


class ReplicaStartError(RuntimeError):
    """score.py could not be imported or its init() failed; the message has the traceback."""


class ScoringReplica:
    """One replica: the scoring app of ``env`` (see the module docstring)."""

    def __init__(self, env: dict[str, str], auth: bool = False) -> None:
        _bind_replica_grpc_to_node_address()
        os.environ.update(env)
        app_root = _stable_app_root(os.getcwd(), env)
        os.environ[contract.APP_ROOT_ENV] = app_root
        compat = os.path.join(os.path.dirname(__file__), "compat")
        if compat not in sys.path:
            sys.path.append(compat)  # the azureml.* stand-ins, after any real Azure package
        self._keys_path: str | None = None
        if auth:
            # Serve calls reconfigure() with the real keys before the replica takes traffic; until
            # then the file holds a key nobody knows, so nothing is ever served without auth.
            self._keys_path = os.path.join(tempfile.mkdtemp(prefix="dockyard-keys-"), "keys.json")
            self._write_keys({"primaryKey": secrets.token_urlsafe(32)})
            os.environ[contract.KEYS_FILE_ENV] = self._keys_path
        settings = load_settings([], os.environ)
        configure_logging(settings.log_level, [app_root])
        if settings.debugpy_listen:
            _listen_for_ide(settings.debugpy_listen, settings.debugpy_wait_s, app_root)
        self._app: ScoringApp = create_app(settings)
        try:
            self._app.load()
        except ScriptLoadError as exc:
            log_load_failure(exc, os.environ.get(contract.MODEL_DIR_ENV))
            raise ReplicaStartError(f"{exc.summary}\n{exc.traceback_text}") from None

    def __serve_build_asgi_app__(self) -> Any:
        return UnderPrefix(self._app)

    def reconfigure(self, config: dict[str, Any]) -> None:
        """Serve's ``user_config`` changed: take the new keys (no restart)."""
        keys = (config or {}).get(KEYS)
        if keys and self._keys_path:
            self._write_keys(keys)

    def _write_keys(self, keys: dict[str, str]) -> None:
        assert self._keys_path is not None
        tmp = f"{self._keys_path}.tmp"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            json.dump(keys, fh)
        os.replace(tmp, self._keys_path)


def _stable_app_root(unpacked: str, env: dict[str, str]) -> str:
    """With the debugger on: link the stable path ``DOCKYARD_DEBUGPY_APP_ROOT`` to the folder
    Ray unpacked this version in, and run there, so that the IDE's path mappings stay valid
    across versions (one replica at a time, so one link per service on a node)."""
    stable = env.get(contract.DEBUGPY_APP_ROOT_ENV)
    if not stable or not env.get(contract.DEBUGPY_LISTEN_ENV):
        return unpacked
    os.makedirs(os.path.dirname(stable), exist_ok=True)
    tmp = f"{stable}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.symlink(unpacked, tmp, target_is_directory=True)
    os.replace(tmp, stable)
    os.chdir(stable)
    return stable


def _listen_for_ide(listen: str, wait_s: float, app_root: str) -> None:
    """Start debugpy (see :mod:`dockyard.server.debugging`); the replica being replaced may still
    hold the port for a moment, so a taken port is retried for a bounded time."""
    deadline = time.monotonic() + PORT_RELEASE_S
    while True:
        try:
            listen_for_ide(listen, wait_s, app_root)
            return
        except DebuggerError as exc:
            if time.monotonic() > deadline:
                raise ReplicaStartError(str(exc)) from None
            time.sleep(0.5)


def _bind_replica_grpc_to_node_address() -> None:
    """Serve 2.60 starts each replica's inter-deployment gRPC server on ``[::]:0`` (every
    interface, no setting to change it); bind it to the node's own address instead (127.0.0.1 on
    a loopback cluster, the node's IP on a real one), before Serve starts it after this
    constructor."""
    try:
        import ray  # present inside a replica; this module itself imports no Ray
        from ray.serve._private import replica as serve_replica
    except ImportError:  # pragma: no cover - only ever constructed inside Ray
        return
    original = serve_replica.add_port_to_grpc_server
    if getattr(original, "dockyard_bound", False):
        return
    node_address = ray.util.get_node_ip_address()

    def bind_node_address(server: Any, address: str) -> Any:
        if address.startswith("[::]:"):
            address = f"{node_address}:{address[len('[::]:') :]}"
        return original(server, address)

    bind_node_address.dockyard_bound = True  # type: ignore[attr-defined]
    serve_replica.add_port_to_grpc_server = bind_node_address


class UnderPrefix:
    """Serve passes the full path with ``root_path`` set to the route prefix; the scoring app
    routes on the path below it (``/score``), as on the other targets. Serve's proxy adds the
    request's ``x-request-id`` to every answer itself, so the app's copy is dropped (one header,
    the same value)."""

    def __init__(self, app: ScoringApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path = scope["path"]
        if root and path.startswith(root):
            scope = dict(scope, path=path[len(root) :] or "/")

        async def send_once(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                message = dict(message, headers=[h for h in headers if h[0].lower() != _REQUEST_ID])
            await send(message)

        await self.app(scope, receive, send_once)


_REQUEST_ID = b"x-request-id"
