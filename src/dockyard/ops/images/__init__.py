"""Image operations: record and build image versions, find one by content, release one to a
target, pull, delete, write a Dockerfile package, bootstrap a base image.

Read top to bottom. The user objects (``Image.create``, ``Model.package``, ``Model.deploy`` on an
image target, ``Webservice.deploy_from_image``) hand down an :class:`ImagePlan` (plain specs) and
get plain :class:`~dockyard.store.images.ImageRecord` s back:

1. :func:`add_version` checks the name, reaches the engine (an unreachable one fails here, with
   how to start one, and nothing is recorded) and records the next version (``NotStarted``);
2. :func:`start_build` records what the version is built from and builds it in the background
   (:mod:`.jobs`), so the caller returns at once, as Azure does; :func:`build` is both steps;
3. :func:`wait` follows the build wherever it runs and raises
   :class:`~dockyard.errors.ImageCreationError` naming the failing step;
4. :func:`find_or_build` reuses the newest ``Succeeded`` image of the same content, else builds;
5. :func:`release` is an image as the deploy flow runs it (pulled when the engine lacks it).

The package: :mod:`.records` (names, lookups, location), :mod:`.build` (the plan, the content
hash, one build and push), :mod:`.jobs` (builds in the background, waiting), :mod:`.settings`
(default base image, registry). Nothing here imports the user objects or the CLI; the engine's
calls are those of :mod:`dockyard.targets.docker_images`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.builders import base_image as base_images
from dockyard.builders.base_image import BaseImage
from dockyard.builders.dockerfile import write_build_context
from dockyard.errors import ConflictError, EngineUnavailableError, ImageNotFoundError
from dockyard.ops import records as services
from dockyard.ops.images import settings
from dockyard.ops.images.build import (
    ImagePlan,
    build_spec,
    content_hash,
    image_folder,
    planned_location,
)
from dockyard.ops.images.jobs import refresh, require_succeeded, run_in_background, wait
from dockyard.ops.images.records import (
    FAILED,
    SUCCEEDED,
    ImageRecord,
    build_log_uri,
    check_name,
    get,
    image_id,
    list_all,
    location,
    names,
    require,
    update,
)
from dockyard.ops.specs import ImageRelease, Progress
from dockyard.store import images, layout
from dockyard.targets import docker_images as engine
from dockyard.targets.docker_engine import connect

if TYPE_CHECKING:
    from dockyard.workspace import Workspace


# --- building -----------------------------------------------------------------------------------
def add_version(
    ws: Workspace,
    name: str,
    model_ids: tuple[str, ...] | list[str],
    *,
    tags: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    description: str | None = None,
) -> ImageRecord:
    """Record the next version of image ``name`` (``NotStarted``), once the engine answered."""
    check_name(name)
    connect()  # an unreachable engine fails here, with how to start one
    return images.add_version(
        ws.store, name, model_ids=list(model_ids), tags=dict(tags or {}),
        properties=dict(properties or {}), description=description,
    )  # fmt: skip


def start_build(
    ws: Workspace, record: ImageRecord, plan: ImagePlan, *, content_key: str | None = None
) -> ImageRecord:
    """Record what ``record`` is built from and build it in the background; returns at once."""
    try:
        client = connect()
        folder = image_folder(ws, record)
        env = plan.spec.environment
        record = images.update(
            ws.store, record.id, build_log_path=str(folder / "build.log"),
            environment_build_hash=env.build_hash if env is not None else None,
            spec={
                "inference": dict(plan.inference),
                "image_config": plan.image_config,
                "content_hash": content_key or content_hash(ws, plan),
                "planned_location": planned_location(ws, record.name, record.version),
            },
        )  # fmt: skip
    except Exception as exc:  # recorded, so that no version stays NotStarted for ever
        images.update(ws.store, record.id, state=FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    run_in_background(ws, record, plan, client)
    return require(ws, record.name, record.version)


def build(
    ws: Workspace,
    name: str,
    plan: ImagePlan,
    *,
    tags: dict[str, Any] | None = None,
    content_key: str | None = None,
) -> ImageRecord:
    """:func:`add_version` then :func:`start_build`: the next version of ``name`` from ``plan``."""
    record = add_version(ws, name, plan.model_ids, tags=tags)
    return start_build(ws, record, plan, content_key=content_key)


def find_or_build(ws: Workspace, name: str, plan: ImagePlan, progress: Progress) -> ImageRecord:
    """An image of this content: the newest Succeeded one built from it, else a new build of
    image ``name`` (waited for)."""
    key = content_hash(ws, plan)
    found = images.find_by_content(ws.store, key)
    if found is not None and _runnable(found.location):
        progress(f"image: reusing {image_id(found)} (same content)")
        return found
    progress("image: building (the full log is kept in the workspace)")
    record = wait(ws, build(ws, name, plan, content_key=key))
    progress(f"image: built {image_id(record)} at {location(record)}")
    return record


# --- using built images -------------------------------------------------------------------------
def release(ws: Workspace, record: ImageRecord) -> ImageRelease:
    """``record`` as the deploy flow runs it: pulled from the registry when the engine lacks it."""
    reference = location(record)
    if not engine.has_image(connect(), reference):
        pull(ws, record)
    return ImageRelease(
        reference=reference,
        image_id=image_id(record),
        location=reference,
        model_ids=tuple(record.model_ids),
        inference=dict(record.spec.get("inference") or {}),
    )


def _runnable(reference: str | None) -> bool:
    """Can a service run ``reference`` (the engine has it, or a registry it can pull from)?"""
    if not reference:
        return False
    if engine.has_image(connect(), reference):
        return True
    return "/" in reference.split(":")[0] and not reference.startswith("dockyard-ws-")


def pull(ws: Workspace, record: ImageRecord) -> str:
    """Pull the image from the workspace's registry into the local engine; the engine's id."""
    record = require_succeeded(ws, record, "pull")
    client = connect()
    reference = location(record)
    registry = settings.registry(ws)
    if registry is None or not reference.startswith(registry.address + "/"):
        local = engine.get_image(client, reference)  # a local image: nothing to pull
        if local is None:
            raise ImageNotFoundError(
                f"Image {image_id(record)} ({reference}) is not in the local Docker engine, "
                "and no registry of this workspace holds it",
                hint="create the image again (Image.create), or set the registry it was pushed "
                "to: Image.set_container_registry(ws, address)",
            )
        return str(local.id)
    return engine.pull_image(client, reference, auth_config=settings.auth_config(ws, registry))


def delete(ws: Workspace, record: ImageRecord) -> None:
    """Remove the image's record and its local tags (refused while a service uses it)."""
    users = [r.name for r in services.list_all(ws) if r.spec.get("image") == image_id(record)]
    if users:
        raise ConflictError(
            f"Image {image_id(record)} is used by service(s) {', '.join(users)}",
            hint="delete those services first",
        )
    try:
        client = connect(timeout=30)
    except EngineUnavailableError:
        client = None  # no engine: the record goes anyway
    for tag in filter(None, {record.spec.get("local_tag"), record.location}):
        if client is not None:
            engine.remove_image(client, tag)  # already gone, or used by a container: kept
    images.delete(ws.store, record.id)


def write_dockerfile_package(ws: Workspace, plan: ImagePlan, name: str | None = None) -> Path:
    """Write the Dockerfile and its build context for ``plan`` into the workspace (no engine
    needed); returns the context folder (``docker build FOLDER`` builds the image)."""
    folder = layout.packages_dir(Path(ws.path)) / f"{name or 'package'}-{time.time_ns():x}"
    write_build_context(build_spec(ws, plan), folder / "context")
    return folder / "context"


def bootstrap_base_image(
    ws: Workspace,
    python_version: str = "3.11",
    name: str | None = None,
    *,
    mirror: str | None = None,
    force: bool = False,
    set_as_default: bool = True,
    log: Progress | None = None,
) -> BaseImage:
    """Build (or reuse) a Python base image from Debian packages; with ``set_as_default`` it
    becomes the workspace's default base image."""
    result = base_images.bootstrap_base_image(
        connect(), name, python_version=python_version,
        mirror=mirror or base_images.DEFAULT_MIRROR, force=force, log=log,
    )  # fmt: skip
    if set_as_default:
        settings.set_default_base_image(ws, result.name)
    return result


__all__ = [
    "FAILED",
    "SUCCEEDED",
    "ImagePlan",
    "ImageRecord",
    "add_version",
    "bootstrap_base_image",
    "build",
    "build_log_uri",
    "check_name",
    "delete",
    "find_or_build",
    "get",
    "image_folder",
    "image_id",
    "list_all",
    "location",
    "names",
    "pull",
    "refresh",
    "release",
    "require",
    "require_succeeded",
    "start_build",
    "update",
    "wait",
    "write_dockerfile_package",
]
