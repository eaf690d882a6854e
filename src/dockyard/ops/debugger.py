"""The debugger option of a service (``debugger_port``): where the IDE attaches, and the VS Code
``launch.json`` entry that does it.

Not to be confused with ``debug=True``, which only puts error details into 500 answers.

A service deployed with ``debugger_port`` starts its scoring server with debugpy listening
(``DOCKYARD_DEBUGPY_LISTEN``): on 127.0.0.1 for local services, on all addresses inside a
container whose port is published on 127.0.0.1 only. What the IDE needs is recorded with the
service (``runtime["debugger"]``) when a version starts: the address, and the app root as the
server sees it. That app root never changes across reloads (a container's
``/var/azureml-app``; a local service's stable link, :func:`dockyard.ops.release.stable_app_root`),
so the entry printed once keeps working.

``pathMappings`` map the user's own folders to where the app-root layout
(:mod:`dockyard.builders.app_root`) puts their files: the ``source_directory`` to
``<app root>/<its folder name>``; without one, the entry script's folder to the app root (the
script alone is placed there).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import ConflictError, WebserviceError
from dockyard.ops import records
from dockyard.ops.specs import ServiceSettings
from dockyard.server import contract
from dockyard.targets import port_is_free
from dockyard.targets.base import FAILED, STOPPED, ServiceSpec

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

#: What to do to get a debugger, said wherever one is missing.
HOW_TO_DEPLOY = (
    "deploy it with the debugger: deploy_configuration(debugger_port=5678) in the SDK, or "
    "`dockyard model deploy ... --debugger` (debug=True is something else: error details in "
    "500 answers, no debugger)"
)

#: What to do when the debugger's port is taken (SDK and CLI forms).
OTHER_PORT = (
    "choose another port: debugger_port=N in deploy_configuration(...), or "
    "`dockyard model deploy ... --debugger --debugger-port N`"
)


def port_of(settings: ServiceSettings) -> int | None:
    """The debugger's port on 127.0.0.1 asked for by ``settings`` (None: no debugger)."""
    listen = settings.server_env.get(contract.DEBUGPY_LISTEN_ENV)
    return int(listen.rpartition(":")[2]) if listen else None


def announcement(settings: ServiceSettings) -> str | None:
    """The progress line that says a version starts with the debugger (None: without)."""
    port = port_of(settings)
    if not port:
        return None
    wait = settings.server_env.get(contract.DEBUGPY_WAIT_ENV) or "30"
    waits = "does not wait for an IDE" if wait == "0" else f"waits up to {wait} s for an IDE"
    return (
        f"debugger: debugpy listens on 127.0.0.1:{port} and {waits}; "
        "one worker (not for production; `dockyard service debug-config NAME` or "
        "service.get_debug_config() gives the launch.json entry)"
    )


def describe(spec: ServiceSpec) -> dict[str, Any] | None:
    """What the service's record keeps of the debugger of ``spec`` (None: it has none)."""
    listen = spec.env.get(contract.DEBUGPY_LISTEN_ENV)
    if not listen:
        return None
    app_root = spec.env.get(contract.DEBUGPY_APP_ROOT_ENV) or (
        str(spec.app_root) if spec.app_root is not None else contract.CONTAINER_APP_ROOT
    )
    wait = spec.env.get(contract.DEBUGPY_WAIT_ENV) or f"{contract.DEBUGGER_DEFAULT_WAIT_S:g}"
    return {
        "host": "127.0.0.1",
        "port": int(listen.rpartition(":")[2]),
        "appRoot": app_root,
        "waitSeconds": float(wait),
    }


def check_port(
    ws: Workspace, name: str, settings: ServiceSettings, existing: records.ServiceRecord | None
) -> None:
    """A debugger port another program holds is refused before anything starts, naming it."""
    port = port_of(settings)
    if not port or port_is_free(port):
        return
    if existing is not None:
        held = (existing.runtime.get("debugger") or {}).get("port")
        if held == port and existing.state not in (FAILED, STOPPED):
            return  # the version being replaced holds it; it stops first
    holder = f"port {port} is held by another program"
    for record in records.list_all(ws):
        if record.name != name and (record.runtime.get("debugger") or {}).get("port") == port:
            holder = (
                f"port {port} is the debugger port of dockyard service {record.name!r} "
                f"(dockyard service show {record.name})"
            )
    raise ConflictError(
        f"Service {name!r} cannot use 127.0.0.1:{port} for its debugger: {holder}",
        hint=OTHER_PORT,
    )


def launch_config(record: records.ServiceRecord) -> dict[str, Any]:
    """The VS Code ``launch.json`` entry that attaches to service ``record`` (see the module
    docstring); :class:`WebserviceError` when it runs without the debugger."""
    info = record.runtime.get("debugger")
    if not info:
        config = record.spec.get("config") or {}
        also = (
            " It has debug=True, which only puts error details into 500 answers."
            if config.get("debug")
            else ""
        )
        raise WebserviceError(
            f"Service {record.name!r} runs without the debugger (debugger_port), so there is "
            f"nothing to attach to.{also}",
            hint=HOW_TO_DEPLOY,
        )
    inference = record.spec.get("inference") or {}
    return {
        "name": f"Attach to dockyard service {record.name}",
        "type": "debugpy",
        "request": "attach",
        "connect": {"host": info["host"], "port": int(info["port"])},
        "pathMappings": path_mappings(
            inference.get("entryScript"), inference.get("sourceDirectory"), str(info["appRoot"])
        ),
        "justMyCode": True,
    }


def path_mappings(
    entry_script: str | None, source_directory: str | None, app_root: str
) -> list[dict[str, str]]:
    """``pathMappings`` from the user's folders to the app root (see the module docstring)."""
    root = app_root.rstrip("/")
    if source_directory:
        name = Path(source_directory).resolve().name or "src"
        return [{"localRoot": str(source_directory), "remoteRoot": f"{root}/{name}"}]
    if entry_script:
        return [{"localRoot": str(Path(entry_script).parent), "remoteRoot": root}]
    return [{"localRoot": "${workspaceFolder}", "remoteRoot": root}]
