"""Images: ``Image.create``, ``ContainerImage.image_configuration``, ``ws.images`` (Azure ML v1's API).

The seed guide's split pipeline runs after changing only its imports::

    image_config = ContainerImage.image_configuration(runtime="python", entry_script="score.py",
                                                      conda_file="myenv.yml")
    image = Image.create(name="myimg", models=[model], image_config=image_config, workspace=ws)
    image.wait_for_creation(show_output=True)
    print(image.image_build_log_uri)          # file:// URI of the full build log
    print(ws.images["myimg"].image_location)  # <registry>/myimg:1, or a local tag

``Image.create`` records the next version (1, 2, 3 ... per name) and starts the build in a
background thread of this process (not a daemon: the interpreter waits for it at exit), so it
returns at once, as Azure's does; ``wait_for_creation`` follows the build and raises
:class:`ImageCreationError` (a ``WebserviceException`` too) naming the failing step. Another
process sees the state in the workspace store; a build whose process died is reported Failed.
How the image is laid out and built is in ``docs/images.md``; this layer is in
``docs/containers.md``.
"""

from __future__ import annotations

import builtins
import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from dockyard.assets import _image_jobs as jobs
from dockyard.assets import _image_repo as repo
from dockyard.assets._image_build import ContainerImageConfig
from dockyard.builders.base_image import DEFAULT_BASE_IMAGE
from dockyard.errors import ImageBuildError, ValidationError, WebserviceError

if TYPE_CHECKING:
    from dockyard.assets._image_settings import RegistrySettings
    from dockyard.builders.base_image import BaseImage
    from dockyard.workspace import Workspace


class ImageCreationError(ImageBuildError, WebserviceError):
    """An image build failed: ``step`` names the failing step, ``log_tail`` holds the evidence.

    Also a ``WebserviceError`` (Azure's ``WebserviceException``), which v1 code catches."""


class Image:
    """An image version in a workspace: ``Image(ws, name, version=None)`` gets one (the latest
    without a version)."""

    image_type = "Docker"
    image_flavor = "WEBAPI.CONTAINER"

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
        self._load(repo.require(workspace, name, version))

    @classmethod
    def _from_record(cls, workspace: Workspace, record: repo.ImageRecord) -> Image:
        image = cls.__new__(cls)
        image.workspace = workspace
        image._load(record)
        return image

    def _load(self, record: repo.ImageRecord) -> None:
        self._record = record
        self.name = record.name
        self.version = record.version
        self.id = f"{record.name}:{record.version}"
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
        if self._record.location:
            return self._record.location
        return str(self._record.spec.get("planned_location") or "")

    @property
    def image_build_log_uri(self) -> str:
        """``file://`` URI of the full build log kept in the workspace."""
        path = self._record.build_log_path
        return Path(path).resolve().as_uri() if path else ""

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
    def models(self) -> builtins.list[Any]:
        from dockyard.assets.model import Model

        return [Model(self.workspace, id=model_id) for model_id in self._record.model_ids]

    @property
    def size(self) -> int | None:
        return self._record.spec.get("size")

    def update_creation_state(self) -> None:
        """Re-read the state; a build whose process died is recorded as Failed."""
        self._record = repo.require(self.workspace, self.name, self.version)
        if self._record.state in (repo.RUNNING, repo.NOT_STARTED) and self._builder_died():
            builder = self._record.spec.get("builder") or {}
            repo.update(
                self.workspace, self._record.id, state=repo.FAILED,
                error=f"The build process (pid {builder.get('pid')}) ended before the build "
                "finished; create the image again",
            )  # fmt: skip
            self._record = repo.require(self.workspace, self.name, self.version)

    def _builder_died(self) -> bool:
        import socket

        if (str(self.workspace.path), self._record.id) in jobs.JOBS:
            return False
        builder = self._record.spec.get("builder") or {}
        pid = builder.get("pid")
        if not pid or builder.get("host") != socket.gethostname():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False

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
        engine raises here, with how to start one.
        """
        if isinstance(workspace, str) and not isinstance(image_config, ContainerImageConfig):
            workspace, name, models, image_config = image_config, workspace, name, models
        if not isinstance(image_config, ContainerImageConfig):
            raise ValidationError(
                "image_config must come from ContainerImage.image_configuration(...)",
                hint='ContainerImage.image_configuration(runtime="python", entry_script="score.py", conda_file="myenv.yml")',
            )
        return jobs.start_build(
            workspace, name, list(models or []), image_config, tags=image_config.tags,
            properties=image_config.properties, description=image_config.description,
        )  # fmt: skip

    def wait_for_creation(
        self, show_output: bool = False, status_update_frequency: float = 0.5
    ) -> None:
        """Wait until the build ends. ``show_output=True`` prints the build as it runs.

        Raises :class:`ImageCreationError` (the failing step, the log tail, the log's path) when
        the image is Failed.
        """
        job = jobs.JOBS.get((str(self.workspace.path), self._record.id))
        if job is not None:
            jobs.follow_job(job, show_output)
        else:
            jobs.follow_store(self, show_output, status_update_frequency)
        self.update_creation_state()
        if show_output:
            print(f"Image creation operation finished for image {self.id}, operation "
                  f'"{self._record.state}"')  # fmt: skip
        if self._record.state != repo.SUCCEEDED:
            raise self._failure(job.error if job else None)

    def _failure(self, error: BaseException | None) -> ImageCreationError:
        step = getattr(error, "step", None) or "image build"
        tail = getattr(error, "log_tail", None)
        message = getattr(error, "message", None) or (self._record.error or "unknown error")
        return ImageCreationError(
            f"Image {self.id} was not created (state {self._record.state}): {message}",
            step=step,
            log_tail=tail,
            hint=(getattr(error, "hint", None) or "read the build log")
            + f"; `dockyard image logs {self.id}` prints the full log ({self.image_build_log_uri})",
        )

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
        from dockyard.assets._image_settings import set_default_base_image
        from dockyard.builders.base_image import DEFAULT_MIRROR, bootstrap_base_image
        from dockyard.targets.docker_engine import connect

        say = log or ((lambda line: print(line, flush=True)) if show_output else None)
        result = bootstrap_base_image(
            connect(), name, python_version=python_version, mirror=mirror or DEFAULT_MIRROR,
            force=force, log=say,
        )  # fmt: skip
        if set_as_default:
            set_default_base_image(workspace, result.name)
        return result

    @staticmethod
    def default_base_image(workspace: Workspace) -> str | None:
        """The workspace's default base image (``set_default_base_image``, or
        ``bootstrap_base_image``), or None: images then use :attr:`DOCKYARD_BASE_IMAGE`.
        An environment's own ``env.docker.base_image`` wins over both."""
        from dockyard.assets._image_settings import default_base_image

        return default_base_image(workspace)

    @staticmethod
    def set_default_base_image(workspace: Workspace, name: str | None) -> None:
        """Make ``name`` (an image the Docker engine has) the base of the workspace's images
        whose environment names none; ``None`` goes back to :attr:`DOCKYARD_BASE_IMAGE`."""
        from dockyard.assets._image_settings import set_default_base_image

        set_default_base_image(workspace, name or None)

    @staticmethod
    def get_container_registry(workspace: Workspace) -> RegistrySettings | None:
        """The registry images are pushed to after each build (``address``, ``username``), or
        None: images then stay in the local Docker engine. ``DOCKYARD_CONTAINER_REGISTRY``
        overrides the address for one process."""
        from dockyard.assets._image_settings import registry

        return registry(workspace)

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
        from dockyard.assets._image_settings import registry, set_registry

        set_registry(workspace, address, username, password)
        return registry(workspace)

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
        for record in repo.list_all(workspace, image_name):
            if model_id and model_id not in record.model_ids:
                continue
            if model_name and not any(m.split(":")[0] == model_name for m in record.model_ids):
                continue
            if tags and not _matches(record.tags, tags):
                continue
            if properties and not _matches(record.properties, properties):
                continue
            result.append(Image._from_record(workspace, record))
        return result

    def pull(self) -> str:
        """Pull the image from the registry into the local engine; returns the image id."""
        from dockyard.assets._image_settings import auth_config, registry
        from dockyard.builders.docker_builder import pull_image
        from dockyard.targets.docker_engine import connect

        self._require_succeeded("pull")
        client = connect()
        settings = registry(self.workspace)
        if settings is None or not self.image_location.startswith(settings.address + "/"):
            return str(client.images.get(self.image_location).id)  # a local image: nothing to pull
        return pull_image(
            client, self.image_location, auth_config=auth_config(self.workspace, settings)
        )

    def delete(self) -> None:
        """Remove the image's record and its local tags (refused while a service uses it)."""
        from dockyard.ops import records

        users = [r.name for r in records.list_all(self.workspace) if r.spec.get("image") == self.id]
        if users:
            from dockyard.errors import ConflictError

            raise ConflictError(
                f"Image {self.id} is used by service(s) {', '.join(users)}",
                hint="delete those services first",
            )
        with_tags = {self._record.spec.get("local_tag"), self._record.location}
        try:
            from dockyard.targets.docker_engine import connect

            client = connect(timeout=30)
            for tag in filter(None, with_tags):
                with contextlib.suppress(Exception):  # already gone, or used by a container
                    client.images.remove(tag)
        except Exception:  # noqa: BLE001 - no engine: the record goes anyway
            pass
        repo.delete(self.workspace, self._record.id)

    def update(self, tags: dict[str, Any] | None = None, description: str | None = None) -> None:
        values: dict[str, Any] = {}
        if tags is not None:
            values["tags"] = dict(tags)
        if description is not None:
            values["description"] = description
        self._load(repo.update(self.workspace, self._record.id, **values))

    def serialize(self) -> dict[str, Any]:
        record = self._record
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "creationState": record.state,
            "imageLocation": self.image_location,
            "imageBuildLogUri": self.image_build_log_uri,
            "modelIds": list(record.model_ids),
            "environmentBuildHash": record.environment_build_hash,
            "imageType": self.image_type,
            "imageFlavor": self.image_flavor,
            "description": record.description,
            "tags": self.tags,
            "properties": self.properties,
            "createdTime": record.created_at.isoformat() if record.created_at else None,
            "error": record.error,
            "size": record.spec.get("size"),
            "baseSize": record.spec.get("base_size"),
            "buildSeconds": record.spec.get("seconds"),
        }

    def _require_succeeded(self, what: str) -> None:
        self.update_creation_state()
        if self._record.state != repo.SUCCEEDED:
            raise ImageCreationError(
                f"Cannot {what} image {self.id}: its state is {self._record.state}",
                step=what,
                hint="wait for the build (image.wait_for_creation()) or create the image again",
            )

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


def _matches(have: dict[str, Any], wanted: Any) -> bool:
    """Azure's tag filters (``["k", ["k2", "v2"]]`` or a dict), as ``Model.list`` reads them."""
    from dockyard.assets._model_rules import filters, matches

    return matches(have, filters(wanted, "tags"))


class ImagesView(Mapping[str, Image]):
    """``ws.images``: the latest version of each image, by name (any state)."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def __getitem__(self, name: str) -> Image:
        record = repo.get(self._ws, name)
        if record is None:
            raise KeyError(name)
        return Image._from_record(self._ws, record)

    def __iter__(self) -> Iterator[str]:
        return iter(repo.names(self._ws))

    def __len__(self) -> int:
        return len(repo.names(self._ws))


start_build = jobs.start_build


def workspace_view(workspace: Workspace) -> ImagesView:
    return ImagesView(workspace)


def package(*args: Any, **kwargs: Any) -> Any:
    """``Model.package``: see :func:`dockyard.assets._image_package.package`."""
    from dockyard.assets._image_package import package as _package

    return _package(*args, **kwargs)


__all__ = [
    "ContainerImage",
    "ContainerImageConfig",
    "Image",
    "ImageCreationError",
    "ImagesView",
    "package",
    "workspace_view",
]
