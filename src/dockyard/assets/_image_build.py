"""From user objects to a built image: the pieces behind ``Image.create`` and ``Model.package``.

* :class:`ContainerImageConfig` is what ``ContainerImage.image_configuration(...)`` returns. It is
  checked at once (missing files raise there, as in Azure) and carries an
  :class:`~dockyard.assets.inference.InferenceConfig` built from the legacy arguments.
* :func:`image_spec` turns an InferenceConfig and registered models into the plain
  :class:`~dockyard.builders.dockerfile.ImageSpec` that ``build/`` takes (arrows point one way).
* :func:`content_hash` identifies an image by what goes into it, so that ``Model.deploy`` with a
  container configuration reuses an image built from the same content.
* :func:`run_build` does one build: record ``Running``, build on the engine (full log in the
  workspace), push when a registry is configured, record ``Succeeded`` or ``Failed``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dockyard
from dockyard.assets import _image_repo as repo
from dockyard.assets import _image_settings as settings
from dockyard.builders.app_root import source_ignore
from dockyard.errors import DockyardError, ValidationError

if TYPE_CHECKING:
    from dockyard.assets.inference import InferenceConfig
    from dockyard.builders.dockerfile import ImageSpec
    from dockyard.workspace import Workspace

_SKIP = {"__pycache__", ".git", ".ipynb_checkpoints"}


class ContainerImageConfig:
    """An image configuration (Azure's ``ContainerImageConfig``); make it with
    ``ContainerImage.image_configuration(...)``.

    ``dependencies`` and ``schema_file`` are files (or folders) copied beside the entry script.
    ``docker_file`` is a ``Dockerfile.steps`` file whose lines run as root in the image, before
    any Python layer.
    """

    def __init__(
        self,
        execution_script: str | None = None,
        runtime: str | None = "python",
        conda_file: str | None = None,
        docker_file: str | None = None,
        schema_file: str | None = None,
        dependencies: list[str] | None = None,
        entry_script: str | None = None,
        source_directory: str | None = None,
        base_image: str | None = None,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        enable_gpu: bool | None = None,
    ) -> None:
        from dockyard.assets.inference import InferenceConfig

        if enable_gpu:
            raise ValidationError(
                "enable_gpu=True is not supported: dockyard images are CPU images",
                hint="leave enable_gpu out; for a GPU base image set base_image=...",
            )
        script = entry_script or execution_script
        self.inference_config = InferenceConfig(
            entry_script=script,
            runtime=runtime,
            conda_file=conda_file,
            extra_docker_file_steps=docker_file,
            source_directory=source_directory,
            base_image=base_image,
            description=description,
        )
        anchor = Path(self.inference_config.source_directory or Path.cwd())
        extra = [*(dependencies or []), *([schema_file] if schema_file else [])]
        self.dependencies: list[str] = []
        for item in extra:
            path = Path(item) if Path(item).is_absolute() else anchor / item
            if not path.exists():
                raise ValidationError(
                    f"Dependency {item!r} does not exist (looked for {path})",
                    hint="dependencies are relative to source_directory, else to the current folder",
                )
            self.dependencies.append(str(path.resolve()))
        self.execution_script = self.inference_config.entry_script
        self.runtime = runtime
        self.conda_file = self.inference_config.conda_file
        self.docker_file = self.inference_config.extra_docker_file_steps
        self.schema_file = schema_file
        self.base_image = base_image
        self.description = description
        self.tags = dict(tags or {})
        self.properties = dict(properties or {})

    def staged_inference_config(self, folder: Path) -> InferenceConfig:
        """The InferenceConfig to build: with ``dependencies``, the script and those files are
        copied into ``folder`` (kept in the workspace) and that folder is the source directory."""
        from dockyard.assets.inference import InferenceConfig

        if not self.dependencies or self.inference_config.source_directory:
            return self.inference_config
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        script = Path(self.inference_config.entry_script)
        shutil.copy2(script, folder / script.name)
        for item in map(Path, self.dependencies):
            dest = folder / item.name
            if item.is_dir():
                shutil.copytree(item, dest, ignore=shutil.ignore_patterns(*_SKIP))
            else:
                shutil.copy2(item, dest)
        config = self.inference_config
        return InferenceConfig(
            entry_script=script.name,
            source_directory=str(folder),
            environment=config.environment,
        )

    def serialize(self) -> dict[str, Any]:
        return {
            "executionScript": self.execution_script,
            "runtime": self.runtime,
            "condaFile": self.conda_file,
            "dockerFile": self.docker_file,
            "schemaFile": self.schema_file,
            "dependencies": self.dependencies,
            "sourceDirectory": self.inference_config.source_directory,
            "baseImage": self.base_image,
            "description": self.description,
            "tags": self.tags,
        }


def model_ids(models: list[Any]) -> list[str]:
    return [m if isinstance(m, str) else f"{m.name}:{m.version}" for m in models]


def base_image_for(ws: Workspace, inference_config: InferenceConfig) -> str | None:
    """The base image: the environment's, else the workspace default, else dockyard's default."""
    env = inference_config.environment
    if env is not None and env.docker.base_image:
        return str(env.docker.base_image)
    return settings.default_base_image(ws)


def _python_of(client: Any, base_image: str) -> str:
    """``major.minor`` of a base image's python3 (its ``dockyard.base.python`` label)."""
    try:
        labels = client.images.get(base_image).labels or {}
    except Exception:
        return "3.11"
    return str(labels.get("dockyard.base.python") or "3.11")


def image_spec(
    ws: Workspace,
    inference_config: InferenceConfig,
    models: list[Any],
    *,
    client: Any = None,
    labels: dict[str, str] | None = None,
) -> ImageSpec:
    """The plain build spec for an InferenceConfig and registered models."""
    from dockyard.assets.model import model_specs
    from dockyard.builders.base_image import DEFAULT_BASE_IMAGE
    from dockyard.builders.dockerfile import ImageSpec

    env = inference_config.environment
    steps = None
    if inference_config.extra_docker_file_steps:
        steps = Path(inference_config.extra_docker_file_steps).read_text(encoding="utf-8")
    base = base_image_for(ws, inference_config) or DEFAULT_BASE_IMAGE
    return ImageSpec(
        entry_script=Path(inference_config.entry_script),
        source_directory=Path(inference_config.source_directory)
        if inference_config.source_directory
        else None,
        environment=env.to_spec() if env is not None else None,
        models=tuple(model_specs(ws, models)),
        extra_dockerfile_steps=steps,
        base_image=base,
        python_version=_python_of(client, base) if client is not None else "3.11",
        labels=dict(labels or {}),
    )


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


def content_hash(ws: Workspace, inference_config: InferenceConfig, models: list[Any]) -> str:
    """sha256 of everything that goes into an image: models, environment, scripts, steps,
    base image, and the server runtime's sources."""
    from dockyard.builders.runtime import source_hash

    env = inference_config.environment
    digest = hashlib.sha256()
    source = inference_config.source_directory or inference_config.entry_script
    _tree_digest(digest, Path(source))
    steps = inference_config.extra_docker_file_steps
    payload = {
        "models": sorted(model_ids(models)),
        "environment": env.full_hash() if env is not None else None,
        "entry": inference_config.entry_script_relative,
        "steps": Path(steps).read_text() if steps else None,
        "base": base_image_for(ws, inference_config),
        "dockyard": dockyard.__version__,
        "server": source_hash(),
        # how the image is laid out: a change to the Dockerfile or app-root rules rebuilds
        "layout": _builder_hash(),
        "files": digest.hexdigest(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _builder_hash() -> str:
    """sha256 of the modules that write the Dockerfile and lay out the app root."""
    from dockyard.builders import app_root, dockerfile

    digest = hashlib.sha256()
    for module in (dockerfile, app_root):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def local_tag(ws: Workspace, name: str, version: int) -> str:
    """The engine-local tag: workspace-qualified, so two workspaces never share a tag."""
    return f"dockyard-ws-{ws.id[:8] or 'local'}/{name}:{version}"


def image_dir(ws: Workspace, name: str, version: int) -> Path:
    return Path(ws.path) / "images" / name / str(version)


def run_build(
    ws: Workspace,
    record: repo.ImageRecord,
    inference_config: InferenceConfig,
    models: list[Any],
    *,
    on_line: Callable[[str], None] | None = None,
    client: Any = None,
) -> repo.ImageRecord:
    """Build (and push) one image version; the row ends Succeeded, or Failed and this raises."""
    from dockyard.builders.docker_builder import build_image, image_reference, push_image
    from dockyard.targets.docker_engine import connect

    say = on_line or (lambda _line: None)
    log_path = Path(
        record.build_log_path or image_dir(ws, record.name, record.version) / "build.log"
    )
    record = repo.update(
        ws, record.id, state=repo.RUNNING,
        spec={"builder": {"pid": os.getpid(), "host": socket.gethostname()}},
    )  # fmt: skip
    try:
        client = client or connect()
        labels = {"dockyard.image": f"{record.name}:{record.version}", "dockyard.workspace": ws.id}
        spec = image_spec(ws, inference_config, models, client=client, labels=labels)
        tag = local_tag(ws, record.name, record.version)
        result = build_image(client, spec, tag, log_path=log_path, on_line=say)
        location, digest = tag, None
        registry = settings.registry(ws)
        if registry is not None:
            location = image_reference(record.name, record.version, registry.address)
            client.images.get(tag).tag(location)
            digest = push_image(
                client, location, auth_config=settings.auth_config(ws, registry),
                on_line=say, log_path=log_path,
            )  # fmt: skip
    except DockyardError as exc:
        _append(log_path, f"ERROR: {exc}")
        repo.update(ws, record.id, state=repo.FAILED, error=str(exc))
        raise
    except Exception as exc:  # an engine or SDK error dockyard did not foresee: keep it as text
        _append(log_path, f"ERROR: {type(exc).__name__}: {exc}")
        repo.update(ws, record.id, state=repo.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    return repo.update(
        ws,
        record.id,
        state=repo.SUCCEEDED,
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
