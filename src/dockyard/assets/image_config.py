"""What an image is built from, as the user gives it, and as the image operations take it.

* :class:`ContainerImageConfig` is what ``ContainerImage.image_configuration(...)`` returns. It is
  checked at once (missing files raise there, as in Azure) and carries an
  :class:`~dockyard.assets.inference.InferenceConfig` built from the legacy arguments.
* :func:`image_plan` turns registered models and an InferenceConfig into the plain
  :class:`~dockyard.ops.images.ImagePlan` that :mod:`dockyard.ops.images` builds
  (``Image.create``, ``Model.package``, and ``Model.deploy`` on a target that runs images).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dockyard.assets.inference import InferenceConfig
from dockyard.builders.dockerfile import ImageSpec
from dockyard.builders.specs import ModelSpec
from dockyard.errors import ValidationError
from dockyard.ops import models as model_specs
from dockyard.ops.images import ImagePlan

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


def model_ids(models: Sequence[Any]) -> tuple[str, ...]:
    """``"name:version"`` of each model (Model objects or ids)."""
    return tuple(m if isinstance(m, str) else f"{m.name}:{m.version}" for m in models)


def image_plan(
    ws: Any,
    models: Sequence[Any],
    inference_config: Any,
    *,
    image_config: ContainerImageConfig | None = None,
    specs: Sequence[ModelSpec] | None = None,
) -> ImagePlan:
    """The plain plan of an image of ``models`` run by ``inference_config`` (``specs``: the
    models' specs when already read; ``image_config``: kept in the image's record)."""
    if inference_config is None:
        raise ValidationError(
            "An image needs an InferenceConfig (the entry script and its environment)",
            hint="InferenceConfig(entry_script='score.py', environment=env)",
        )
    ids = model_ids(models)
    env = inference_config.environment
    steps_file = inference_config.extra_docker_file_steps
    source = inference_config.source_directory
    spec = ImageSpec(
        entry_script=Path(inference_config.entry_script),
        source_directory=Path(source) if source else None,
        environment=env.to_spec() if env is not None else None,
        models=tuple(specs if specs is not None else model_specs.specs(ws, ids)),
        extra_dockerfile_steps=Path(steps_file).read_text(encoding="utf-8") if steps_file else None,
    )
    return ImagePlan(
        spec=spec,
        model_ids=ids,
        inference=dict(inference_config.serialize()),
        environment_hash=env.full_hash() if env is not None else None,
        image_config=image_config.serialize() if image_config is not None else None,
    )


__all__ = ["ContainerImageConfig", "image_plan", "model_ids"]
