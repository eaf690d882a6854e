"""From the user's objects to the deploy flow: ``Model.deploy``, ``Webservice.deploy_from_image``
and the plans that ``update()`` and ``reload()`` roll out.

Registered models, an ``InferenceConfig`` and a deployment configuration become the plain
:class:`~dockyard.ops.specs.ServicePlan` and :class:`~dockyard.ops.specs.ServiceSettings`, and ONE
call of :mod:`dockyard.ops.services` does the rest, for every target. When the target runs images,
the plan carries the function that finds the image built from the same content or builds it
(:func:`dockyard.ops.images.find_or_build`, from the plain plan of
:func:`dockyard.assets.image_config.image_plan`). The functions here return plain records; the
user objects (``Model.deploy``, ``Webservice.deploy_from_*``) hand back the ``Webservice``.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.assets.image_config import image_plan
from dockyard.assets.inference import InferenceConfig
from dockyard.errors import DeploymentError, ValidationError
from dockyard.ops import images, services
from dockyard.ops import models as model_specs
from dockyard.ops.records import ServiceRecord
from dockyard.ops.specs import Progress, ServicePlan, ServiceSettings
from dockyard.webservice.config import (
    ContainerDeploymentConfig,
    DeploymentConfig,
    LocalDeploymentConfig,
)

if TYPE_CHECKING:
    from dockyard.assets.image import Image
    from dockyard.ops.images import ImageRecord
    from dockyard.webservice.base import Webservice
    from dockyard.workspace import Workspace


def deploy(
    ws: Workspace,
    name: str,
    models: list[Any],
    inference_config: Any = None,
    deployment_config: DeploymentConfig | None = None,
    overwrite: bool = False,
    deployment_target: Any = None,
) -> ServiceRecord:
    """``Model.deploy``: run ``models`` with ``inference_config`` as service ``name``."""
    settings = settings_of(deployment_config or LocalDeploymentConfig(), ws, deployment_target)
    models = list(models or [])
    plan = plan_of(ws, name, models, inference_config, services.needs_image(ws, settings))
    try:
        return services.deploy(ws, name, plan, settings, overwrite=overwrite)
    except DeploymentError as exc:
        if exc.step in ("environment", "layout"):
            # the exception also says how to deploy again (run() and start() say it from the record)
            exc.hint = _then_deploy_again(exc.hint, name, list(plan.model_ids))
            exc.args = (str(exc),)
        raise


def deploy_from_image(
    ws: Workspace,
    name: str,
    image: Image,
    deployment_config: DeploymentConfig | None = None,
    overwrite: bool = False,
    deployment_target: Any = None,
) -> ServiceRecord:
    """``Webservice.deploy_from_image``: run a built image as service ``name``.

    On a target that runs environments rather than images (a Ray cluster), the image's own
    models, script and environment are deployed: the same content the image was built from."""
    settings = settings_of(deployment_config or ContainerDeploymentConfig(), ws, deployment_target)
    if not services.needs_image(ws, settings):
        if not services.ships_environment(ws, settings):
            raise ValidationError(
                "deploy_from_image runs images in Docker: use AciWebservice.deploy_configuration(...) "
                "or LocalWebservice.deploy_configuration(docker=True)",
                hint="for a local process service, use Model.deploy with an InferenceConfig",
            )
        plan = image_content_plan(ws, name, image)
        return services.deploy(ws, name, plan, settings, overwrite=overwrite)
    plan = image_service_plan(ws, image, "deploy")
    return services.deploy(ws, name, plan, settings, overwrite=overwrite)


def update_plan(
    service: Webservice,
    settings: ServiceSettings,
    models: list[Any] | None,
    inference_config: Any,
    image: Image | None,
) -> ServicePlan:
    """What ``service.update(...)`` rolls out: a given image, the same image again (settings
    only), or new models / a new InferenceConfig (the recorded ones where not given)."""
    if image is not None:
        return image_service_plan(service.workspace, image)
    if models is None and inference_config is None and service.image_id:
        name, _, version = service.image_id.rpartition(":")
        current = images.require(service.workspace, name, int(version))
        return ServicePlan(
            model_ids=tuple(service.models),
            inference=dict(service._record.spec.get("inference") or {}),
            image=lambda progress: images.release(service.workspace, current),
        )
    chosen = service.models if models is None else list(models)
    return plan_of(
        service.workspace, service.name, chosen,
        inference_config or service._inference_config("update"),
        services.needs_image(service.workspace, settings),
    )  # fmt: skip


def reload_plan(service: Webservice, settings: ServiceSettings) -> ServicePlan:
    """What ``service.reload()`` rolls out: the recorded InferenceConfig, read again from disk."""
    if not settings.reloadable:
        return ServicePlan(model_ids=(), inference={})  # the flow refuses it, saying why
    return plan_of(
        service.workspace, service.name, service.models, service._inference_config("reload"),
        services.needs_image(service.workspace, settings),
    )  # fmt: skip


def settings_of(
    config: Any, ws: Workspace | None = None, deployment_target: Any = None
) -> ServiceSettings:
    """The plain settings of ``config``; for a cluster configuration, with the place it runs:
    ``deployment_target`` (a ComputeTarget or its name), else the workspace's cluster target
    (:func:`dockyard.ops.cluster_choice.resolve` says when it starts a local one)."""
    if not isinstance(config, DeploymentConfig):
        raise ValidationError(
            f"deployment_config must come from a deploy_configuration() call, not {type(config).__name__}",
            hint="LocalWebservice.deploy_configuration(port=8890)",
        )
    if deployment_target is not None and not config.runs_on_cluster:
        raise ValidationError(
            f"deployment_target is for cluster services; {type(config).__name__} does not run "
            "on a cluster",
            hint="use AksWebservice.deploy_configuration(...) with deployment_target, or drop it",
        )
    settings = config.to_settings()
    if ws is None or not config.runs_on_cluster:
        return settings
    from dockyard.ops import cluster_choice  # Ray's cluster tools: for cluster services only

    named = getattr(deployment_target, "name", deployment_target) or config.config_target_name()
    cluster = cluster_choice.resolve(ws, named, _say)
    place = {
        "name": cluster.name,
        "address": cluster.address,
        "serve_host": cluster.serve_host,
        "serve_port": cluster.serve_port,
        "dashboard_url": getattr(cluster, "dashboard_url", None),
    }
    recorded = {**settings.config, "compute_target_name": cluster.name}
    return dataclasses.replace(settings, placement=place, config=recorded)


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def image_content_plan(ws: Workspace, name: str, image: Image) -> ServicePlan:
    """The models, script and environment an image was built from, as a plan for a target that
    installs environments itself."""
    record = images.require_succeeded(ws, image._record, "deploy")
    inference = InferenceConfig.deserialize(ws, dict(record.spec.get("inference") or {}))
    return plan_of(ws, name, list(record.model_ids), inference, False)


def plan_of(
    ws: Workspace, name: str, models: list[Any], inference_config: Any, with_image: bool
) -> ServicePlan:
    """The plain plan of ``models`` + ``inference_config``; with an image finder when the
    target runs images (the image is found or built once the service is recorded)."""
    if inference_config is None:
        raise ValidationError(
            "An InferenceConfig is needed to deploy: it names the entry script (score.py)",
            hint="InferenceConfig(entry_script='score.py', environment=myenv)",
        )
    model_ids = tuple(model_id(m) for m in models)
    inference = dict(inference_config.serialize()) if hasattr(inference_config, "serialize") else {}
    if with_image:
        return ServicePlan(
            model_ids=model_ids,
            inference=inference,
            image=lambda progress: images.release(
                ws, ensure_image(ws, name, models, inference_config, progress)
            ),
        )
    environment = getattr(inference_config, "environment", None)
    source = getattr(inference_config, "source_directory", None)
    return ServicePlan(
        model_ids=model_ids,
        inference=inference,
        models=tuple(model_specs.specs(ws, model_ids)),
        entry_script=Path(inference_config.entry_script),
        source_directory=Path(source) if source else None,
        environment=environment.to_spec() if environment is not None else None,
        environment_variables={
            str(k): str(v)
            for k, v in (getattr(environment, "environment_variables", None) or {}).items()
        },
    )


def model_id(model: Any) -> str:
    """``"name:version"`` of a registered model (a Model object or an id)."""
    if isinstance(model, str):
        name, _, version = model.partition(":")
        if not version.isdigit():
            raise ValidationError(f"Model id {model!r} is not of the form 'name:version'")
        return model
    model_name, model_version = getattr(model, "name", None), getattr(model, "version", None)
    if model_name is None or model_version is None:
        raise ValidationError(
            f"{model!r} is not a registered model",
            hint="pass Model objects from Model.register or Model(ws, name)",
        )
    return f"{model_name}:{int(model_version)}"


# --- images ---------------------------------------------------------------------------------------
def ensure_image(
    ws: Workspace, name: str, models: list[Any], inference_config: Any, progress: Progress
) -> ImageRecord:
    """An image of this content: the newest Succeeded one built from it, else a new build."""
    return images.find_or_build(ws, name, image_plan(ws, models, inference_config), progress)


def image_service_plan(ws: Workspace, image: Image, what: str | None = None) -> ServicePlan:
    """The plan that runs a built ``Image`` (checked to have Succeeded when ``what`` is said)."""
    record = image._record
    if what is not None:
        record = images.require_succeeded(ws, record, what)
    return ServicePlan(
        model_ids=tuple(record.model_ids),
        inference=dict(record.spec.get("inference") or {}),
        image=lambda progress: images.release(ws, record),
    )


# --- hints ----------------------------------------------------------------------------------------
def redeploy_call(name: str, model_ids: list[str]) -> str:
    """The ``Model.deploy`` call that deploys service ``name`` again with its models (the user
    passes the fixed ``inference_config`` and the ``deployment_config`` they deployed with)."""
    models = ", ".join(
        f"Model(ws, {n!r}, version={v})" for n, _, v in (m.partition(":") for m in model_ids)
    )
    return (
        f"Model.deploy(ws, {name!r}, [{models}], inference_config, deployment_config, "
        "overwrite=True)"
    )


def _then_deploy_again(hint: str | None, name: str, model_ids: list[str]) -> str:
    """``hint`` (what to fix) followed by the call that deploys the fixed service."""
    again = "then deploy again with the fixed inference_config: " + redeploy_call(name, model_ids)
    return f"{hint.rstrip('. ')}; {again}" if hint else again
