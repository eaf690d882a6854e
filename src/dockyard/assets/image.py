"""Images: ``Image.create``, ``ContainerImage.image_configuration``, ``ws.images`` (Azure ML v1's API).

The seed guide's split pipeline runs after changing only its imports::

    image_config = ContainerImage.image_configuration(runtime="python", entry_script="score.py",
                                                      conda_file="myenv.yml")
    image = Image.create(name="myimg", models=[model], image_config=image_config, workspace=ws)
    image.wait_for_creation(show_output=True)
    print(image.image_build_log_uri)          # file:// URI of the full build log
    print(ws.images["myimg"].image_location)  # <registry>/myimg:1, or a local tag

An ``Image`` is a user object over a plain image record: it translates what the user gives
(models, an image configuration) into an :class:`~dockyard.ops.images.ImagePlan` and calls
:mod:`dockyard.ops.images`, which records the next version (1, 2, 3 ... per name) and builds it
in a background thread of this process, so ``Image.create`` returns at once, as Azure's does;
``wait_for_creation`` follows the build and raises :class:`ImageCreationError` (a
``WebserviceException`` too) naming the failing step. The workspace's image settings (default
base image, container registry) are static methods here. How the image is laid out and built is
in ``docs/images.md``; this layer is in ``docs/containers.md``.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from dockyard.assets import _image_record
from dockyard.assets.filters import filters, matches
from dockyard.assets.image_config import ContainerImageConfig, image_plan, model_ids
from dockyard.assets.model import Model
from dockyard.builders.base_image import DEFAULT_BASE_IMAGE
from dockyard.errors import ImageCreationError, ValidationError
from dockyard.ops import images
from dockyard.ops import models as model_specs
from dockyard.ops.images import settings

if TYPE_CHECKING:
    from dockyard.builders.base_image import BaseImage
    from dockyard.ops.images import ImageRecord
    from dockyard.ops.images.settings import RegistrySettings
    from dockyard.workspace import Workspace


class Image:
    """An image version in a workspace: ``Image(ws, name, version=None)`` gets one (the latest
    without a version)."""

    image_type = _image_record.IMAGE_TYPE
    image_flavor = _image_record.IMAGE_FLAVOR

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        version: int | None = None,
        **_: Any,
    ) -> None:
        if id:
            name, _sep, ver = id.rpartition(":")
            if not ver.isdigit():
                raise ValidationError(f"Invalid image id {id!r}: expected 'name:version'")
            version = int(ver)
        if not name:
            raise ValidationError("Image() needs a name or an id ('name:version')")
        self.workspace = workspace
        self._load(images.require(workspace, name, version))

    @classmethod
    def _from_record(cls, workspace: Workspace, record: ImageRecord) -> Image:
        image = cls.__new__(cls)
        image.workspace = workspace
        image._load(record)
        return image

    def _load(self, record: ImageRecord) -> None:
        self._record = record
        self.name = record.name
        self.version = record.version
        self.id = images.image_id(record)
        self.tags = dict(record.tags)
        self.properties = dict(record.properties)
        self.description = record.description
        self.created_time = record.created_at

    # --- what Azure's Image exposes --------------------------------------------------------------
    @property
    def creation_state(self) -> str:
        """NotStarted, Running, Succeeded or Failed (read from the store)."""
        self.update_creation_state()
        return self._record.state

    @property
    def image_location(self) -> str:
        """``<registry>/<name>:<version>`` when a registry is configured, else the engine-local
        tag ``dockyard-ws-<workspace id>/<name>:<version>``. Known as soon as the build starts."""
        return images.location(self._record)

    @property
    def image_build_log_uri(self) -> str:
        """``file://`` URI of the full build log kept in the workspace."""
        return images.build_log_uri(self._record)

    @property
    def build_log_path(self) -> str | None:
        return self._record.build_log_path

    @property
    def error(self) -> str | None:
        return self._record.error

    @property
    def model_ids(self) -> list[str]:
        return list(self._record.model_ids)

    @property
    def models(self) -> builtins.list[Model]:
        return [Model(self.workspace, id=model_id) for model_id in self._record.model_ids]

    @property
    def size(self) -> int | None:
        return self._record.spec.get("size")

    @property
    def committed_from(self) -> dict[str, Any] | None:
        """For a version made by ``dockyard service commit`` (``commit_service``): the service,
        its container, the image it ran, the time (``at``), ``change_count`` and the first
        ``changes`` (``"C /var/azureml-app/score.py"``; the build log lists them all); else None."""
        origin = self._record.spec.get("committed_from")
        return dict(origin) if origin else None

    def update_creation_state(self) -> None:
        """Re-read the state; a build whose process died is recorded as Failed."""
        self._record = images.refresh(self.workspace, self._record)

    # --- creating -----------------------------------------------------------------------------
    @staticmethod
    def image_configuration(*args: Any, **kwargs: Any) -> ContainerImageConfig:
        return ContainerImage.image_configuration(*args, **kwargs)

    @staticmethod
    def create(
        workspace: Any = None,
        name: Any = None,
        models: Any = None,
        image_config: Any = None,
    ) -> Image:
        """Create the next version of image ``name`` from ``models`` and ``image_config``.

        Azure's order is ``create(workspace, name, models, image_config)``; keywords work in any
        order. Returns at once; ``wait_for_creation()`` follows the build. An unreachable Docker
        engine raises here, with how to start one, and nothing is recorded.
        """
        if isinstance(workspace, str) and not isinstance(image_config, ContainerImageConfig):
            workspace, name, models, image_config = image_config, workspace, name, models
        if not isinstance(image_config, ContainerImageConfig):
            raise ValidationError(
                "image_config must come from ContainerImage.image_configuration(...)",
                hint='ContainerImage.image_configuration(runtime="python", entry_script="score.py", conda_file="myenv.yml")',
            )
        models = list(models or [])
        ids = model_ids(models)
        specs = model_specs.specs(
            workspace, ids
        )  # a missing model fails before anything is recorded
        record = images.add_version(
            workspace, name, ids, tags=image_config.tags, properties=image_config.properties,
            description=image_config.description,
        )  # fmt: skip
        try:  # files given as dependencies are staged in the version's own folder
            staged = image_config.staged_inference_config(
                images.image_folder(workspace, record) / "source"
            )
            plan = image_plan(workspace, ids, staged, image_config=image_config, specs=specs)
        except Exception as exc:
            images.update(workspace, record, state=images.FAILED, error=str(exc))
            raise
        return Image._from_record(workspace, images.start_build(workspace, record, plan))

    def wait_for_creation(
        self, show_output: bool = False, status_update_frequency: float = 0.5
    ) -> None:
        """Wait until the build ends. ``show_output=True`` prints the build as it runs.

        Raises :class:`ImageCreationError` (the failing step, the log tail, the log's path) when
        the image is Failed.
        """
        try:
            self._record = images.wait(
                self.workspace, self._record, show_output, status_update_frequency
            )
        finally:
            self._record = images.get(self.workspace, self.name, self.version) or self._record

    # --- workspace settings: base image and container registry ---------------------------------
    #: The base image used when neither the environment nor the workspace names one.
    DOCKYARD_BASE_IMAGE: ClassVar[str] = DEFAULT_BASE_IMAGE

    @staticmethod
    def bootstrap_base_image(
        workspace: Workspace,
        python_version: str = "3.11",
        name: str | None = None,
        mirror: str | None = None,
        force: bool = False,
        set_as_default: bool = True,
        show_output: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> BaseImage:
        """Build (or reuse) a Python base image from Debian packages, with no public registry.

        ``debootstrap`` + ``docker import`` (needs root and the ``debootstrap`` package; about
        40 s). ``name`` defaults to ``dockyard/python:<python_version>-<suite>``; an existing
        image of that name is reused unless ``force=True``. With ``set_as_default=True`` it
        becomes the workspace's default base image (:meth:`default_base_image`). Progress lines
        go to ``log``, else to stdout with ``show_output=True``. Returns a ``BaseImage`` (``name``,
        ``image_id``, ``python_version``, ``suite``, ``created``, ``seconds``).
        """
        say = log or ((lambda line: print(line, flush=True)) if show_output else None)
        return images.bootstrap_base_image(
            workspace, python_version, name, mirror=mirror, force=force,
            set_as_default=set_as_default, log=say,
        )  # fmt: skip

    @staticmethod
    def default_base_image(workspace: Workspace) -> str | None:
        """The workspace's default base image (``set_default_base_image``, or
        ``bootstrap_base_image``), or None: images then use :attr:`DOCKYARD_BASE_IMAGE`.
        An environment's own ``env.docker.base_image`` wins over both."""
        return settings.default_base_image(workspace)

    @staticmethod
    def set_default_base_image(workspace: Workspace, name: str | None) -> None:
        """Make ``name`` (an image the Docker engine has) the base of the workspace's images
        whose environment names none; ``None`` goes back to :attr:`DOCKYARD_BASE_IMAGE`."""
        settings.set_default_base_image(workspace, name or None)

    @staticmethod
    def get_container_registry(workspace: Workspace) -> RegistrySettings | None:
        """The registry images are pushed to after each build (``address``, ``username``), or
        None: images then stay in the local Docker engine. ``DOCKYARD_CONTAINER_REGISTRY``
        overrides the address for one process."""
        return settings.registry(workspace)

    @staticmethod
    def set_container_registry(
        workspace: Workspace,
        address: str | None,
        username: str | None = None,
        password: str | None = None,
    ) -> RegistrySettings | None:
        """Push the workspace's images to ``address`` (``host[:port][/prefix]``, no scheme);
        ``None`` removes the setting (and the stored password). The password is kept as a
        workspace secret, never in a file; without one the engine's ``docker login`` is used.
        Returns the registry now configured."""
        settings.set_registry(workspace, address, username, password)
        return settings.registry(workspace)

    # --- other operations ---------------------------------------------------------------------
    @staticmethod
    def list(
        workspace: Workspace,
        image_name: str | None = None,
        model_name: str | None = None,
        model_id: str | None = None,
        tags: Any = None,
        properties: Any = None,
    ) -> builtins.list[Image]:
        """Images, by name then newest version first, filtered like Azure's ``Image.list``."""
        result = []
        for record in images.list_all(workspace, image_name):
            if model_id and model_id not in record.model_ids:
                continue
            if model_name and not any(m.split(":")[0] == model_name for m in record.model_ids):
                continue
            if tags and not matches(record.tags, filters(tags, "tags")):
                continue
            if properties and not matches(record.properties, filters(properties, "properties")):
                continue
            result.append(Image._from_record(workspace, record))
        return result

    def pull(self) -> str:
        """Pull the image from the registry into the local engine; returns the image id."""
        return images.pull(self.workspace, self._record)

    def delete(self) -> None:
        """Remove the image's record and its local tags (refused while a service uses it)."""
        images.delete(self.workspace, self._record)

    def update(self, tags: dict[str, Any] | None = None, description: str | None = None) -> None:
        values: dict[str, Any] = {}
        if tags is not None:
            values["tags"] = dict(tags)
        if description is not None:
            values["description"] = description
        self._load(images.update(self.workspace, self._record, **values))

    def serialize(self) -> dict[str, Any]:
        return {
            **_image_record.serialize(self._record),
            "tags": self.tags,
            "properties": self.properties,
        }

    def _require_succeeded(self, what: str) -> None:
        self._record = images.require_succeeded(self.workspace, self._record, what)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name!r}, version={self.version}, state={self._record.state!r})"


class ContainerImage(Image):
    """Azure's ``ContainerImage``: the same image, with the configuration factory."""

    @staticmethod
    def image_configuration(
        execution_script: str | None = None,
        runtime: str | None = "python",
        conda_file: str | None = None,
        docker_file: str | None = None,
        schema_file: str | None = None,
        dependencies: builtins.list[str] | None = None,
        entry_script: str | None = None,
        source_directory: str | None = None,
        base_image: str | None = None,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        enable_gpu: bool | None = None,
        **cloud_only: Any,
    ) -> ContainerImageConfig:
        """Configure an image (Azure's argument order; ``entry_script`` is ``execution_script``).

        Paths are checked now, relative to ``source_directory`` when given, else to the current
        folder. Cloud-only arguments (``base_image_registry``, ``cuda_version``...) are ignored.
        """
        return ContainerImageConfig(
            execution_script=execution_script, runtime=runtime, conda_file=conda_file,
            docker_file=docker_file, schema_file=schema_file, dependencies=dependencies,
            entry_script=entry_script, source_directory=source_directory, base_image=base_image,
            description=description, tags=tags, properties=properties, enable_gpu=enable_gpu,
        )  # fmt: skip


class ImagesView(Mapping[str, Image]):
    """``ws.images``: the latest version of each image, by name (any state)."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def __getitem__(self, name: str) -> Image:
        record = images.get(self._ws, name)
        if record is None:
            raise KeyError(name)
        return Image._from_record(self._ws, record)

    def __iter__(self) -> Iterator[str]:
        return iter(images.names(self._ws))

    def __len__(self) -> int:
        return len(images.names(self._ws))


__all__ = [
    "ContainerImage",
    "ContainerImageConfig",
    "Image",
    "ImageCreationError",
    "ImagesView",
]
