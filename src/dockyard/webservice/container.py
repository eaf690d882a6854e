"""``ContainerWebservice`` (alias ``AciWebservice``): a service in a Docker container.

Azure Container Instances' analog, and also what ``LocalWebservice.deploy_configuration(...)``
with ``docker=True`` deploys (Azure's local target is Docker). The seed's split pipeline::

    aci_config = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1)
    service = Webservice.deploy_from_image(deployment_config=aci_config, image=image,
                                           name="mysvc", workspace=ws)
    service.wait_for_deployment(show_output=True)

``Model.deploy`` with a container configuration builds the image first (or reuses an image built
from the same content). CPU and memory limits are the engine's; the port is published on
127.0.0.1. ``update()`` switches to the new version without failed requests and keeps the keys;
``reload()`` (local Docker services) rebuilds the image from the edited score.py (a cached
rebuild takes a second or two) and switches the same way. How the containers are arranged is in
:mod:`dockyard.targets.docker` and docs/containers.md.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import ConflictError, DeploymentError, DockyardError, ValidationError
from dockyard.server import contract
from dockyard.targets.base import FAILED, TRANSITIONING, TargetStatus
from dockyard.targets.docker import PORT_HINT, ContainerSpec, DockerTarget
from dockyard.webservice import keys, records
from dockyard.webservice.base import Webservice
from dockyard.webservice.config import (
    ContainerDeploymentConfig,
    DeploymentConfig,
    LocalDeploymentConfig,
    build_config,
)

if TYPE_CHECKING:
    from dockyard.assets.image import Image
    from dockyard.workspace import Workspace

#: uid of the image's app user (see dockyard.builders.dockerfile.APP_UID): it must read the keys.
APP_UID = 1000


class ContainerWebservice(Webservice):
    """A web service running in a Docker container (``Webservice(ws, name)`` returns it)."""

    _compute_type = "ACI"
    _target_kind = "docker"

    @staticmethod
    def deploy_configuration(
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        auth_enabled: bool | None = None,
        port: int | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        **kwargs: Any,
    ) -> ContainerDeploymentConfig:
        """Limits and settings of one container: ``cpu_cores`` (default 0.1), ``memory_gb``
        (default 0.5), ``auth_enabled`` (default False), ``port`` on 127.0.0.1 (default: free).
        Cloud-only arguments (``location``, ``ssl_*``, ``dns_name_label``...) are ignored."""
        config = build_config(
            ContainerDeploymentConfig, cpu_cores=cpu_cores, memory_gb=memory_gb, tags=tags,
            properties=properties, description=description, auth_enabled=auth_enabled,
            port=port, primary_key=primary_key, secondary_key=secondary_key, **kwargs,
        )  # fmt: skip
        assert isinstance(config, ContainerDeploymentConfig)
        return config

    # --- reading --------------------------------------------------------------------------------
    @property
    def compute_type(self) -> str:
        return "Local" if self._is_local() else self._compute_type

    @property
    def image_id(self) -> str | None:
        return self._record.spec.get("image")

    def _is_local(self) -> bool:
        return self._record.spec.get("config", {}).get("target") == "local"

    def _target_status(self) -> TargetStatus:
        return DockerTarget().status(self.name, self._service_dir())

    def _read_logs(self, num_lines: int) -> str:  # get_logs() (base) adds request_id
        """The container's log (all restarts): start-up banner, print() output, tracebacks."""
        return DockerTarget().logs(self.name, self._service_dir(), num_lines)

    def serialize(self) -> dict[str, Any]:
        data = super().serialize()
        data["imageId"] = self.image_id
        data["imageLocation"] = self._record.runtime.get("image_location")
        return data

    # --- lifecycle ------------------------------------------------------------------------------
    def update(
        self,
        image: Image | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        auth_enabled: bool | None = None,
        models: list[Any] | None = None,
        inference_config: Any = None,
        deployment_config: DeploymentConfig | None = None,
        **_: Any,
    ) -> None:
        """Roll out a new image, models, script, environment or limits without failed requests.

        The new container starts beside the old one; once it is ready, new connections go to it
        and the old one stops after its requests finish. If the new version fails, the old one
        keeps serving and ``WebserviceException`` says why. Keys are kept.
        """
        config = deployment_config or self._config()
        changes = {"tags": tags, "properties": properties, "description": description,
                   "auth_enabled": auth_enabled}  # fmt: skip
        config = config.model_copy(update={k: v for k, v in changes.items() if v is not None})
        if config.port and config.port != self.port:
            raise DeploymentError(
                f"update() cannot move service {self.name!r} from port {self.port} to {config.port}",
                step="update",
                hint="delete and deploy again to change the port",
            )
        inference = None  # what the service records: its own config, never the image's
        if image is None and (models is not None or inference_config is not None):
            own = inference_config or self._inference_config()
            image = _ensure_image(
                self.workspace, self.name,
                self._models() if models is None else list(models), own,
                lambda message: self._event(f"update: {message}"),
            )  # fmt: skip
            inference = _serialized(own)
        elif image is None:
            inference = self._record.spec.get("inference")
        _roll_out(self, image or self._image(), config, "update", inference)

    def reload(self, wait: bool = False) -> None:
        """Local Docker services: rebuild the image from the edited score.py and source
        directory (only the last layer changes) and switch to it without failed requests."""
        if not self._is_local():
            super().reload()
        own = self._inference_config()
        image = _ensure_image(
            self.workspace, self.name, self._models(), own,
            lambda message: self._event(f"reload: {message}"),
        )  # fmt: skip
        _roll_out(self, image, self._config(), "reload", _serialized(own))

    def start(self) -> None:
        """Start a stopped service on its recorded port (a running one is left as it is)."""
        port = DockerTarget().start(self.name, self._service_dir())
        if port != self._record.runtime.get("port"):
            self._record.runtime["port"] = port
            self._event(f"start: container published on 127.0.0.1:{port}")
        self._refresh()

    def stop(self) -> None:
        DockerTarget().stop(self.name, self._service_dir())
        self._refresh()

    def delete(self) -> None:
        """Remove the service's containers and records (its image and models stay)."""
        DockerTarget().delete(self.name, self._service_dir(), scope=_scope(self.workspace))
        if self.auth_enabled:
            keys.forget(self.workspace, self.name)
        records.remove(self.workspace, self.name)

    def regen_key(self, key: str, set_key: str | None = None) -> None:
        """Regenerate the "Primary" or "Secondary" key; the server reads it within a second."""
        self._require_auth()
        primary, secondary = keys.regenerate(self.workspace, self.name, key, set_key, None)
        write_keys(self._service_dir() / "keys", primary, secondary)

    # --- what was deployed ----------------------------------------------------------------------
    def _config(self) -> DeploymentConfig:
        data = dict(self._record.spec.get("config", {}))
        kind = LocalDeploymentConfig if data.get("target") == "local" else ContainerDeploymentConfig
        return kind(**data)

    def _inference_config(self) -> Any:
        from dockyard.assets.inference import InferenceConfig

        data = self._record.spec.get("inference") or {}
        if not data:
            raise DeploymentError(
                f"Service {self.name!r} records no inference config to rebuild from",
                step="reload",
                hint="use service.update(image=...) or update(inference_config=...)",
            )
        return InferenceConfig.deserialize(self.workspace, data)

    def _models(self) -> list[str]:
        return list(self._record.model_ids)

    def _image(self) -> Image:
        from dockyard.assets.image import Image

        return Image(self.workspace, id=self.image_id)

    def _event(self, message: str) -> None:
        records.save(self.workspace, self._record, event=message)


#: Azure's name for the container target.
AciWebservice = ContainerWebservice


def write_keys(folder: Path, primary: str, secondary: str) -> None:
    """The keys file the container's server reads: owned by the image's user, mode 0600 (when
    this process may chown; else 0644 inside the service's own 0700 folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    keys.write_file(folder / keys.KEYS_FILE, primary, secondary)
    if os.geteuid() == 0:
        for path in (folder, folder / keys.KEYS_FILE):
            os.chown(path, APP_UID, APP_UID)
        os.chmod(folder, 0o700)
    else:
        os.chmod(folder.parent, 0o700)
        os.chmod(folder, 0o711)
        os.chmod(folder / keys.KEYS_FILE, 0o644)


def _ensure_image(
    ws: Workspace, name: str, models: list[Any], inference_config: Any, progress: Any
) -> Image:
    """An image of this content: the newest Succeeded one built from it, else a new build."""
    from dockyard.assets import _image_build, _image_repo
    from dockyard.assets.image import Image, start_build

    if inference_config is None:
        raise ValidationError(
            "An InferenceConfig is needed to deploy: it names the entry script (score.py)",
            hint="InferenceConfig(entry_script='score.py', environment=myenv)",
        )
    key = _image_build.content_hash(ws, inference_config, models)
    found = _image_repo.find_by_content(ws, key)
    if found is not None and _engine_has(found.location):
        progress(f"image: reusing {found.name}:{found.version} (same content)")
        return Image._from_record(ws, found)
    progress("image: building (the full log is kept in the workspace)")
    image = start_build(ws, name, models, None, inference_config=inference_config, content_hash=key)
    image.wait_for_creation()
    progress(f"image: built {image.id} at {image.image_location}")
    return image


def _engine_has(reference: str | None) -> bool:
    if not reference:
        return False
    try:
        DockerTarget().client.images.get(reference)
    except Exception:  # noqa: BLE001 - not there (a registry image is pulled later)
        return "/" in reference.split(":")[0] and not reference.startswith("dockyard-ws-")
    return True


def _local_image(image: Image) -> str:
    """An engine-local reference to ``image``; pulled from the registry when missing."""
    import docker.errors

    reference = image.image_location
    client = DockerTarget().client
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        image.pull()
    return reference


def _scope(ws: Workspace) -> str:
    """The workspace's part of container names and labels (dockyard-<scope>-<service>)."""
    return ws.id[:8] or "local"


def _spec(
    ws: Workspace, name: str, image: Image, config: DeploymentConfig, port: int
) -> ContainerSpec:
    from dockyard.webservice.deploy import server_environment, services_root

    service_dir = services_root(ws) / name
    keys_dir = None
    if config.auth_enabled:
        primary, secondary = keys.ensure(ws, name, config.primary_key, config.secondary_key)
        keys_dir = service_dir / "keys"
        write_keys(keys_dir, primary, secondary)
    env = server_environment(config, service_dir)
    env.pop(contract.KEYS_FILE_ENV, None)  # the target points it at the mounted folder
    env[contract.WORKER_COUNT_ENV] = str(config.worker_count)
    if config.startup_timeout_seconds:
        env[contract.STARTUP_TIMEOUT_ENV] = str(config.startup_timeout_seconds)
    limits = config if isinstance(config, ContainerDeploymentConfig) else None
    return ContainerSpec(
        name=name, service_dir=service_dir, image=_local_image(image),
        scope=_scope(ws), env=env, host_port=port,
        cpu_cores=limits.cpu_cores if limits else None,
        memory_gb=limits.memory_gb if limits else None,
        keys_dir=keys_dir, labels={"dockyard.image": image.id},
    )  # fmt: skip


def _serialized(inference_config: Any) -> dict[str, Any]:
    return dict(inference_config.serialize()) if hasattr(inference_config, "serialize") else {}


def _roll_out(
    service: ContainerWebservice,
    image: Image,
    config: DeploymentConfig,
    what: str,
    inference: dict[str, Any] | None = None,
) -> None:
    """Switch ``service`` to ``image``. ``inference`` is the config the service records (and
    reloads from); None: the image's own (an image given to ``update(image=...)``)."""
    spec = _spec(service.workspace, service.name, image, config, int(service.port or 0))
    service._event(f"{what}: starting {image.id} beside the running version")
    result = DockerTarget().update(spec, on_event=lambda m: service._event(f"{what}: {m}"))
    record = records.require(service.workspace, service.name)
    if inference is None:
        inference = image._record.spec.get("inference") or record.spec.get("inference")
    record.spec.update({"config": config.serialize(), "image": image.id, "inference": inference})
    record.model_ids = image.model_ids
    record.runtime["image_location"] = image.image_location
    record.runtime["last_switch"] = result
    record.tags, record.description = dict(config.tags), config.description
    records.save(service.workspace, record, event=f"{what}: done ({result.get('switch')})")
    service._record = record


def deploy_container(
    ws: Workspace,
    name: str,
    models: list[Any],
    inference_config: Any,
    config: DeploymentConfig,
    overwrite: bool = False,
) -> Webservice:
    """``Model.deploy`` with a container (or ``LocalWebservice`` + ``docker=True``) config:
    build or reuse the image, then run it (see :func:`deploy_from_image`)."""
    records.check_service_name(name)
    DockerTarget().client  # noqa: B018 - an unreachable engine fails now, with how to start one
    _check_port(ws, name, config, overwrite)
    _check_name_free(ws, name, config, overwrite)
    record = _new_record(
        ws, name, config, [f"{m.name}:{m.version}" if not isinstance(m, str) else m for m in models]
    )
    try:
        image = _ensure_image(ws, name, list(models), inference_config,
                              lambda message: records.save(ws, record, event=message))  # fmt: skip
    except DockyardError as exc:
        record.state, record.error = FAILED, str(exc)
        records.save(ws, record, event=f"failed: {getattr(exc, 'message', exc)}")
        raise
    # An image reused by content may come from another folder: the service records its OWN
    # inference config, so that reload() rebuilds from the files this service was deployed from.
    return _run(ws, record, image, config, _serialized(inference_config))


def deploy_from_image(
    workspace: Workspace,
    name: str,
    image: Image,
    deployment_config: DeploymentConfig | None = None,
    deployment_target: Any = None,
    overwrite: bool = False,
) -> Webservice:
    """``Webservice.deploy_from_image``: run a built image as service ``name``."""
    records.check_service_name(name)
    config = deployment_config or ContainerDeploymentConfig()
    if not (config.target == "docker" or getattr(config, "docker", False)):
        raise ValidationError(
            "deploy_from_image runs images in Docker: use AciWebservice.deploy_configuration(...) "
            "or LocalWebservice.deploy_configuration(docker=True)",
            hint="for a local process service, use Model.deploy with an InferenceConfig",
        )
    image._require_succeeded("deploy")
    _check_port(workspace, name, config, overwrite)
    _check_name_free(workspace, name, config, overwrite)
    record = _new_record(workspace, name, config, image.model_ids)
    return _run(workspace, record, image, config, image._record.spec.get("inference") or {})


def _check_port(ws: Workspace, name: str, config: DeploymentConfig, overwrite: bool) -> None:
    """A taken port is refused before anything is recorded or replaced, naming its holder."""
    from dockyard.targets._docker_parts import port_holders, port_is_free

    port = config.port
    if not port:
        return
    existing = records.get(ws, name)
    replacing = existing is not None and (
        overwrite or (config.target == "local" and existing.target in ("docker", "local"))
    )
    if existing is not None and not replacing:
        return  # the name is taken: _check_name_free says so
    if existing is not None and existing.runtime.get("port") == port:
        return  # the service being replaced holds it
    target = DockerTarget()
    if port_is_free(port) and not port_holders(target.client, port):
        return
    raise ConflictError(
        f"Service {name!r} cannot use 127.0.0.1:{port}: {port_owner(ws, port, exclude=name)}",
        hint=PORT_HINT,
    )


def port_owner(ws: Workspace, port: int, exclude: str | None = None) -> str:
    """Who holds ``port`` (taken): "port N is held by dockyard service 'x' (dockyard service show
    x)", else "... by another program". Container services are found on the engine, services of
    other targets in the workspace's records."""
    owner = DockerTarget().port_owner(port, _scope(ws))
    if "dockyard service" in owner:
        return owner
    for record in records.list_all(ws):
        if (
            record.name != exclude
            and record.runtime.get("port") == port
            and record.state not in (FAILED, "Stopped")
        ):
            return f"port {port} is held by dockyard service {record.name!r} (dockyard service show {record.name})"
    return owner


def _check_name_free(ws: Workspace, name: str, config: DeploymentConfig, overwrite: bool) -> None:
    existing = records.get(ws, name)
    if existing is None:
        return
    local = config.target == "local"
    if not overwrite and not (local and existing.target in ("docker", "local")):
        raise ConflictError(
            f"A service named {name!r} already exists (on {existing.target})",
            hint="pick another name, delete it first, or pass overwrite=True",
        )
    Webservice(ws, name).delete()


def _new_record(
    ws: Workspace, name: str, config: DeploymentConfig, model_ids: list[str]
) -> records.ServiceRecord:
    from dockyard.webservice.deploy import services_root

    service_dir = services_root(ws) / name
    service_dir.mkdir(parents=True, exist_ok=True)
    record = records.ServiceRecord(
        name=name, target="docker", state=TRANSITIONING, error=None,
        spec={"config": config.serialize(), "inference": {}, "image": None},
        runtime={"service_dir": str(service_dir), "port": config.port or None},
        model_ids=list(model_ids), restart_count=0, description=config.description,
        tags=dict(config.tags), properties=dict(config.properties),
    )  # fmt: skip
    records.save(ws, record, event="deployment requested")
    return record


def _run(
    ws: Workspace,
    record: records.ServiceRecord,
    image: Image,
    config: DeploymentConfig,
    inference: dict[str, Any],
) -> Webservice:
    target = DockerTarget()
    try:
        spec = _spec(ws, record.name, image, config, int(config.port or 0))
        records.save(ws, record, event=f"start: running {image.image_location}")
        target.deploy(spec)
    except DockyardError as exc:
        with contextlib.suppress(Exception):
            target.delete(
                record.name, Path(record.runtime["service_dir"]), keep_dir=True, scope=_scope(ws)
            )
        record.state, record.error = FAILED, str(exc)
        record.runtime["port"] = None  # nothing of this service listens: no scoring URI
        records.save(ws, record, event=f"failed: {getattr(exc, 'message', exc)}")
        raise
    status = target.status(record.name, Path(record.runtime["service_dir"]))
    record.spec.update({"image": image.id, "inference": inference})
    record.model_ids = image.model_ids
    record.runtime.update({"port": status.port, "image_location": image.image_location})
    records.save(ws, record, event=f"start: container published on 127.0.0.1:{status.port}")
    return Webservice(ws, record.name)


__all__ = ["AciWebservice", "ContainerWebservice", "deploy_container", "deploy_from_image"]
