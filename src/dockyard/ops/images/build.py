"""What goes into an image, and one build of it (build on the engine, push, record the outcome).

* :class:`ImagePlan` is what the user objects hand down (``Image.create``, ``Model.package``,
  ``Model.deploy`` on an image target): the plain build spec made from registered models and an
  InferenceConfig, and what the image's record keeps.
* :func:`content_hash` identifies an image by everything that goes into it, so that a deployment
  reuses an image built from the same content (:func:`dockyard.ops.images.find_or_build`).
* :func:`build_spec` completes the plan's spec with what only the workspace and the engine know
  (the base image, its Python version, the labels).
* :func:`run_build` does one build: record ``Running``, build on the engine (full log in the
  workspace), push when a registry is configured, record ``Succeeded`` or ``Failed``.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dockyard
from dockyard.builders import app_root, dockerfile
from dockyard.builders.app_root import source_ignore
from dockyard.builders.base_image import DEFAULT_BASE_IMAGE
from dockyard.builders.docker_builder import build_image, image_reference, push_image
from dockyard.builders.dockerfile import ImageSpec
from dockyard.builders.runtime import source_hash
from dockyard.errors import DockyardError
from dockyard.ops.images import settings
from dockyard.store import images, layout
from dockyard.store.images import ImageRecord
from dockyard.targets import docker_images as engine
from dockyard.targets.docker_engine import connect

if TYPE_CHECKING:
    from dockyard.workspace import Workspace


@dataclass(frozen=True)
class ImagePlan:
    """What an image is built from, as plain data.

    ``spec.base_image`` is left None by the user objects: the environment's base image is used,
    else the workspace's default, else dockyard's (:func:`base_image`).
    """

    spec: ImageSpec
    model_ids: tuple[str, ...]
    #: The InferenceConfig as the image's record keeps it (``deploy_from_image`` reads it back).
    inference: dict[str, Any]
    #: ``Environment.full_hash()`` (packages and variables), part of the content hash.
    environment_hash: str | None = None
    #: ``ContainerImage.image_configuration(...)`` as the record keeps it (``Image.create``).
    image_config: dict[str, Any] | None = None

    @property
    def entry_script_relative(self) -> str:
        """The script's path inside the source directory (its file name when there is none)."""
        script = self.spec.entry_script
        if self.spec.source_directory:
            return script.relative_to(self.spec.source_directory).as_posix()
        return script.name


def base_image(ws: Workspace, plan: ImagePlan) -> str | None:
    """The base image named for ``plan``: the environment's, else the workspace default (None
    when neither names one: dockyard's default is used)."""
    env = plan.spec.environment
    if plan.spec.base_image:
        return plan.spec.base_image
    if env is not None and env.base_image:
        return env.base_image
    return settings.default_base_image(ws)


def build_spec(
    ws: Workspace, plan: ImagePlan, *, client: Any = None, labels: dict[str, str] | None = None
) -> ImageSpec:
    """The plan's spec with its base image, the base image's Python (asked of the engine when
    a ``client`` is given, else 3.11) and ``labels``."""
    base = base_image(ws, plan) or DEFAULT_BASE_IMAGE
    python = "3.11"
    if client is not None:
        python = str(engine.image_labels(client, base).get("dockyard.base.python") or "3.11")
    return plan.spec.model_copy(
        update={"base_image": base, "python_version": python, "labels": dict(labels or {})}
    )


def content_hash(ws: Workspace, plan: ImagePlan) -> str:
    """sha256 of everything that goes into an image: models, environment, scripts, steps,
    base image, and the server runtime's sources."""
    spec = plan.spec
    digest = hashlib.sha256()
    _tree_digest(digest, spec.source_directory or spec.entry_script)
    payload = {
        "models": sorted(plan.model_ids),
        "environment": plan.environment_hash,
        "entry": plan.entry_script_relative,
        "steps": spec.extra_dockerfile_steps,
        "base": base_image(ws, plan),
        "dockyard": dockyard.__version__,
        "server": source_hash(),
        # how the image is laid out: a change to the Dockerfile or app-root rules rebuilds
        "layout": _builder_hash(),
        "files": digest.hexdigest(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _tree_digest(digest: Any, root: Path) -> None:
    if root.is_file():
        digest.update(root.name.encode() + b"\0" + root.read_bytes())
        return
    for folder, dirs, files in os.walk(root):
        # the same files the app root gets: no caches, no workspace kept in the project folder
        dirs[:] = sorted(set(dirs) - source_ignore(folder, dirs))
        for name in sorted(set(files) - source_ignore(folder, files)):
            path = Path(folder, name)
            if path.is_file():
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())


def _builder_hash() -> str:
    """sha256 of the modules that write the Dockerfile and lay out the app root."""
    digest = hashlib.sha256()
    for module in (dockerfile, app_root):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def local_tag(ws: Workspace, name: str, version: int) -> str:
    """The engine-local tag: workspace-qualified, so two workspaces never share a tag."""
    return f"dockyard-ws-{ws.id[:8] or 'local'}/{name}:{version}"


def planned_location(ws: Workspace, name: str, version: int) -> str:
    """Where the image will be: ``<registry>/<name>:<version>``, else its local tag."""
    registry = settings.registry(ws)
    if registry is not None:
        return f"{registry.address}/{name}:{version}"
    return local_tag(ws, name, version)


def image_folder(ws: Workspace, record: ImageRecord) -> Path:
    """The image version's folder in the workspace (build log, staged source)."""
    return layout.image_dir(Path(ws.path), record.name, record.version)


def run_build(
    ws: Workspace,
    record: ImageRecord,
    plan: ImagePlan,
    *,
    on_line: Callable[[str], None] | None = None,
    client: Any = None,
) -> ImageRecord:
    """Build (and push) one image version; the row ends Succeeded, or Failed and this raises."""
    say = on_line or (lambda _line: None)
    log_path = Path(record.build_log_path or image_folder(ws, record) / "build.log")
    record = images.update(
        ws.store, record.id, state=images.RUNNING,
        spec={"builder": {"pid": os.getpid(), "host": socket.gethostname()}},
    )  # fmt: skip
    try:
        client = client or connect()
        labels = {"dockyard.image": f"{record.name}:{record.version}", "dockyard.workspace": ws.id}
        spec = build_spec(ws, plan, client=client, labels=labels)
        tag = local_tag(ws, record.name, record.version)
        result = build_image(client, spec, tag, log_path=log_path, on_line=say)
        location, digest = tag, None
        registry = settings.registry(ws)
        if registry is not None:
            location = image_reference(record.name, record.version, registry.address)
            engine.tag_image(client, tag, location)
            digest = push_image(
                client, location, auth_config=settings.auth_config(ws, registry),
                on_line=say, log_path=log_path,
            )  # fmt: skip
    except DockyardError as exc:
        _append(log_path, f"ERROR: {exc}")
        images.update(ws.store, record.id, state=images.FAILED, error=str(exc))
        raise
    except Exception as exc:  # an error dockyard did not foresee: keep it as text
        _append(log_path, f"ERROR: {type(exc).__name__}: {exc}")
        images.update(
            ws.store, record.id, state=images.FAILED, error=f"{type(exc).__name__}: {exc}"
        )
        raise
    return images.update(
        ws.store,
        record.id,
        state=images.SUCCEEDED,
        location=location,
        error=None,
        spec={
            "local_tag": tag,
            "image_id": result.image_id,
            "digest": digest,
            "size": result.size,
            "base_size": result.base_size,
            "seconds": round(result.seconds + result.context_seconds, 2),
            "steps": result.steps,
            "cached_steps": result.cached_steps,
            "base_image": spec.resolved_base_image(),
        },
    )


def _append(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


__all__ = [
    "ImagePlan",
    "base_image",
    "build_spec",
    "content_hash",
    "image_folder",
    "local_tag",
    "planned_location",
    "run_build",
]
