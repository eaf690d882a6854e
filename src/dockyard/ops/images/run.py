"""``dockyard image run``: an image of the workspace started by hand, the seed's
``docker run -p 8000:5001 -p 5678:5678``, published on 127.0.0.1 only.

The container is called ``dockyard-run-<workspace>-<image>-<version>``; it is not a service (no
record, no keys: the scoring endpoint needs no key), and it keeps running until it is removed
(``docker rm -f NAME``, or :func:`stop`). With a debugger port the server listens for an IDE
(debugpy, ``DOCKYARD_DEBUGPY_LISTEN``) before it runs ``init()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.builders.dockerfile import APP_ROOT
from dockyard.errors import ConflictError, NotFoundError
from dockyard.ops.images import release
from dockyard.ops.images.records import ImageRecord, image_id
from dockyard.ops.services import scope_of
from dockyard.server import contract
from dockyard.targets import docker_run
from dockyard.targets.docker_engine import connect, container_logs, stop_container

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

#: How long :func:`run` waits for the server to be ready (after ``init()``).
READY_SECONDS = 300.0
#: How long :func:`run` waits for the server's debugger to listen.
DEBUGGER_SECONDS = 60.0


@dataclass(frozen=True)
class ImageRun:
    """A container started from an image by :func:`run`."""

    container: str
    image: str  # name:version
    reference: str  # what the engine ran
    port: int
    debugger_port: int | None
    app_root: str

    @property
    def scoring_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/score"

    @property
    def swagger_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/swagger.json"

    @property
    def stop_command(self) -> str:
        return f"docker rm -f {self.container}"


def container_name(ws: Workspace, record: ImageRecord) -> str:
    return f"dockyard-run-{scope_of(ws)}-{record.name}-{record.version}"


def run(
    ws: Workspace,
    record: ImageRecord,
    *,
    port: int | None = None,
    debugger_port: int | None = None,
    debugger_wait_seconds: float = contract.DEBUGGER_DEFAULT_WAIT_S,
    wait: bool = True,
) -> ImageRun:
    """Start image ``record`` (pulled first when the engine lacks it). Without a debugger, and
    with ``wait``, returns once the server is ready; with one, once its debugger listens (the
    server then waits for the IDE before ``init()``). A container that fails to start is
    stopped and kept, for ``docker logs``; the error carries its log's tail."""
    reference = release(ws, record).reference
    client = connect()
    name = container_name(ws, record)
    try:
        status: str | None = docker_run.container_state(client, name)[0]
    except NotFoundError:
        status = None
    if status == "running":
        raise ConflictError(
            f"Image {image_id(record)} already runs by hand as container {name}",
            hint=f"remove it first: `docker rm -f {name}` (or `dockyard image run "
            f"{image_id(record)} --stop`)",
        )
    if status is not None:  # a stopped earlier run (kept for `docker logs`): replaced
        stop_container(client, name, remove=True)
    started = docker_run.run_image(
        client, reference, name, port=port, debugger_port=debugger_port,
        debugger_wait_seconds=debugger_wait_seconds,
        labels={"dockyard.run": image_id(record), "dockyard.workspace": ws.id},
    )  # fmt: skip
    try:
        if debugger_port is not None:
            docker_run.wait_debugger(client, name, DEBUGGER_SECONDS)
        elif wait:
            docker_run.wait_ready(client, name, started.port, READY_SECONDS)
    except Exception:
        stop_container(client, name, timeout=2, remove=False)
        raise
    return ImageRun(
        container=name, image=image_id(record), reference=reference, port=started.port,
        debugger_port=started.debugger_port, app_root=APP_ROOT,
    )  # fmt: skip


def logs(ws: Workspace, record: ImageRecord, tail: int | None = None) -> str:
    """The output of the container running ``record`` by hand."""
    return container_logs(connect(), container_name(ws, record), tail=tail)


def follow(ws: Workspace, record: ImageRecord, on_line: Callable[[str], None]) -> int:
    """Pass the container's output to ``on_line`` until it stops; its exit code."""
    client = connect()
    name = container_name(ws, record)
    docker_run.follow_logs(client, name, on_line)
    return docker_run.container_state(client, name)[1]


def stop(ws: Workspace, record: ImageRecord) -> bool:
    """Stop and remove the container running ``record`` by hand (False: there was none)."""
    return stop_container(connect(), container_name(ws, record), timeout=5, remove=True)


__all__ = [
    "DEBUGGER_SECONDS",
    "READY_SECONDS",
    "ImageRun",
    "container_name",
    "follow",
    "logs",
    "run",
    "stop",
]
