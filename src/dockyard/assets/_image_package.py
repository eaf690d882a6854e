"""``Model.package``: build an image of models + an InferenceConfig without deploying it.

* ``generate_dockerfile=False`` (default): an image is built like ``Image.create`` (a registered
  image version, pushed when the workspace has a registry). ``package.location`` is its location,
  ``package.pull()`` brings it into the local engine.
* ``generate_dockerfile=True``: only the build context is written (the Dockerfile and every file
  it copies, in the workspace); ``package.save(dir)`` copies it out, and ``docker build DIR`` in
  your own CI builds the same image. No Docker engine is needed for this.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.assets import _image_build as build
from dockyard.errors import ValidationError

if TYPE_CHECKING:
    from dockyard.assets.image import Image
    from dockyard.workspace import Workspace


class ModelPackage:
    """The result of ``Model.package``; Azure's ``ModelPackage`` surface."""

    def __init__(
        self,
        workspace: Workspace,
        image: Image | None = None,
        context_dir: Path | None = None,
    ) -> None:
        self.workspace = workspace
        self.image = image
        self.context_dir = context_dir
        self.generate_dockerfile = context_dir is not None

    @property
    def location(self) -> str | None:
        """Where the image is (``<registry>/<name>:<version>`` or a local tag); None for a
        Dockerfile-only package."""
        return self.image.image_location if self.image is not None else None

    @property
    def state(self) -> str:
        return self.image.creation_state if self.image is not None else "Succeeded"

    def wait_for_creation(self, show_output: bool = False) -> None:
        """Wait for the image build (nothing to wait for with ``generate_dockerfile=True``)."""
        if self.image is not None:
            self.image.wait_for_creation(show_output=show_output)
        elif show_output:
            print(f"Dockerfile and build context written to {self.context_dir}")

    def get_logs(self, decode: bool = True, offset: int = 0) -> str:
        """The build log (empty for a Dockerfile-only package)."""
        if self.image is None or not self.image.build_log_path:
            return ""
        path = Path(self.image.build_log_path)
        return path.read_text(encoding="utf-8")[offset:] if path.exists() else ""

    def pull(self) -> str:
        """Pull the image into the local Docker engine; returns the image id."""
        if self.image is None:
            raise ValidationError(
                "This package holds a Dockerfile, not an image: there is nothing to pull",
                hint="save(dir) it and run `docker build DIR`, or package with generate_dockerfile=False",
            )
        return self.image.pull()

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

    def get_container_registry(self) -> Any:
        from dockyard.assets._image_settings import registry

        return registry(self.workspace)

    def serialize(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "generateDockerfile": self.generate_dockerfile,
            "contextDir": str(self.context_dir) if self.context_dir else None,
            "image": self.image.serialize() if self.image is not None else None,
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
    from dockyard.assets.image import start_build

    if inference_config is None:
        raise ValidationError(
            "Model.package needs an InferenceConfig (the entry script and its environment)",
            hint="InferenceConfig(entry_script='score.py', environment=env)",
        )
    models = list(models or [])
    if generate_dockerfile:
        from dockyard.builders.dockerfile import write_build_context

        folder = Path(workspace.path) / "packages" / f"{image_name or 'package'}-{time.time_ns():x}"
        spec = build.image_spec(workspace, inference_config, models)
        write_build_context(spec, folder / "context")
        return ModelPackage(workspace, context_dir=folder / "context")
    tags = {"label": image_label} if image_label else None
    image = start_build(
        workspace, image_name or "package", models, None,
        inference_config=inference_config, tags=tags,
    )  # fmt: skip
    return ModelPackage(workspace, image=image)
