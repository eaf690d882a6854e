"""``Model.package``: build an image of models + an InferenceConfig without deploying it.

* ``generate_dockerfile=False`` (default): an image is built like ``Image.create`` (a registered
  image version, pushed when the workspace has a registry). ``package.location`` is its location,
  ``package.pull()`` brings it into the local engine.
* ``generate_dockerfile=True``: only the build context is written (the Dockerfile and every file
  it copies, in the workspace); ``package.save(dir)`` copies it out, and ``docker build DIR`` in
  your own CI builds the same image. No Docker engine is needed for this.

The package holds the image's plain record (not an ``Image``, which is built from ``Model`` s:
``Model.package`` lives on ``Model``, so this module stays below both).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.assets import _image_record
from dockyard.assets.image_config import image_plan
from dockyard.errors import ValidationError
from dockyard.ops import images
from dockyard.ops.images import settings

if TYPE_CHECKING:
    from dockyard.ops.images import ImageRecord
    from dockyard.ops.images.settings import RegistrySettings
    from dockyard.workspace import Workspace


class ModelPackage:
    """The result of ``Model.package``; Azure's ``ModelPackage`` surface."""

    def __init__(
        self,
        workspace: Workspace,
        record: ImageRecord | None = None,
        context_dir: Path | None = None,
    ) -> None:
        self.workspace = workspace
        self._record = record
        self.context_dir = context_dir
        self.generate_dockerfile = context_dir is not None

    @property
    def image_id(self) -> str | None:
        """The built image's ``name:version`` (``Image(ws, id=...)``); None for a Dockerfile."""
        return images.image_id(self._record) if self._record is not None else None

    @property
    def location(self) -> str | None:
        """Where the image is (``<registry>/<name>:<version>`` or a local tag); None for a
        Dockerfile-only package."""
        return images.location(self._record) if self._record is not None else None

    @property
    def state(self) -> str:
        if self._record is None:
            return "Succeeded"
        self._record = images.refresh(self.workspace, self._record)
        return self._record.state

    def wait_for_creation(self, show_output: bool = False) -> None:
        """Wait for the image build (nothing to wait for with ``generate_dockerfile=True``)."""
        if self._record is not None:
            self._record = images.wait(self.workspace, self._record, show_output)
        elif show_output:
            print(f"Dockerfile and build context written to {self.context_dir}")

    def get_logs(self, decode: bool = True, offset: int = 0) -> str:
        """The build log (empty for a Dockerfile-only package)."""
        if self._record is None or not self._record.build_log_path:
            return ""
        path = Path(self._record.build_log_path)
        return path.read_text(encoding="utf-8")[offset:] if path.exists() else ""

    def pull(self) -> str:
        """Pull the image into the local Docker engine; returns the image id."""
        if self._record is None:
            raise ValidationError(
                "This package holds a Dockerfile, not an image: there is nothing to pull",
                hint="save(dir) it and run `docker build DIR`, or package with generate_dockerfile=False",
            )
        return images.pull(self.workspace, self._record)

    def save(self, output_directory: str | Path) -> Path:
        """Copy the Dockerfile and its build context into ``output_directory``."""
        if self.context_dir is None:
            raise ValidationError(
                "This package is a built image; save() writes Dockerfile packages only",
                hint="Model.package(..., generate_dockerfile=True), or pull() the image",
            )
        out = Path(output_directory)
        out.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.context_dir, out, dirs_exist_ok=True)
        return out

    def get_container_registry(self) -> RegistrySettings | None:
        """The registry the image is pushed to (``Image.get_container_registry(ws)``)."""
        return settings.registry(self.workspace)

    def serialize(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "generateDockerfile": self.generate_dockerfile,
            "contextDir": str(self.context_dir) if self.context_dir else None,
            "image": _image_record.serialize(self._record) if self._record is not None else None,
        }

    def __repr__(self) -> str:
        what = f"context={self.context_dir}" if self.context_dir else f"location={self.location}"
        return f"ModelPackage({what})"


def package(
    workspace: Workspace,
    models: list[Any],
    inference_config: Any = None,
    generate_dockerfile: bool = False,
    image_name: str | None = None,
    image_label: str | None = None,
    **_: Any,
) -> ModelPackage:
    """Build ``models`` + ``inference_config`` into an image (or only its Dockerfile)."""
    if inference_config is None:
        raise ValidationError(
            "Model.package needs an InferenceConfig (the entry script and its environment)",
            hint="InferenceConfig(entry_script='score.py', environment=env)",
        )
    plan = image_plan(workspace, list(models or []), inference_config)
    if generate_dockerfile:
        folder = images.write_dockerfile_package(workspace, plan, image_name)
        return ModelPackage(workspace, context_dir=folder)
    tags = {"label": image_label} if image_label else None
    return ModelPackage(
        workspace, images.build(workspace, image_name or "package", plan, tags=tags)
    )
