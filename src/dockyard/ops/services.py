"""The one deployment flow: deploy, update, reload, start, stop and delete a service on any target.

Read this module top to bottom to see what happens to a service. Each call

1. marks where its operation begins in the service's history (so that
   ``wait_for_deployment(show_output=True)`` shows only this operation's events),
2. prepares what the target runs (:mod:`dockyard.ops.release`: an environment and an app root, or
   an image),
3. hands the target a :class:`~dockyard.targets.base.ServiceSpec` through the one
   :class:`~dockyard.targets.base.Target` interface,
4. records every step and the resulting state in the workspace store.

The target is chosen by ``settings.engine`` (:func:`dockyard.targets.target_for`); what differs
between engines is asked of the target (``needs_image``, ``supports_reload``), never compared here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import ConflictError, DeploymentError, DockyardError, WebserviceError
from dockyard.ops import debugger, keys, records
from dockyard.ops.release import image_release, local_release, prune_app_roots
from dockyard.ops.specs import ImageRelease, ServicePlan, ServiceSettings
from dockyard.store import layout
from dockyard.targets import port_is_free, port_owner, target_for
from dockyard.targets.base import FAILED, STOPPED, TRANSITIONING, Target, TargetStatus

if TYPE_CHECKING:
    from dockyard.workspace import Workspace


def services_root(ws: Workspace) -> Path:
    return layout.services_dir(Path(ws.path))


def scope_of(ws: Workspace) -> str:
    """The workspace's part of engine-wide names (container names, labels)."""
    return ws.id[:8] or "local"


def target_of(ws: Workspace, record: records.ServiceRecord) -> Target:
    return target_for(record.target, scope_of(ws))


def needs_image(ws: Workspace, settings: ServiceSettings) -> bool:
    """Does the target of ``settings`` run an image (else an environment on this machine)?"""
    return target_for(settings.engine, scope_of(ws)).needs_image


def ships_environment(ws: Workspace, settings: ServiceSettings) -> bool:
    """Does the target of ``settings`` install the environment on other machines itself?"""
    return target_for(settings.engine, scope_of(ws)).ships_environment


# --- deploy ---------------------------------------------------------------------------------------
def deploy(
    ws: Workspace, name: str, plan: ServicePlan, settings: ServiceSettings, overwrite: bool = False
) -> records.ServiceRecord:
    """Run ``plan`` as service ``name`` with ``settings``; returns its record."""
    records.check_service_name(name)
    target = target_for(settings.engine, scope_of(ws))
    existing = records.get(ws, name)
    if existing is not None:
        if not (overwrite or settings.replaces_same_name):
            raise ConflictError(
                f"A service named {name!r} already exists (on {existing.target})",
                hint="pick another name, delete it first, or pass overwrite=True",
            )
        if not settings.port and existing.target == settings.engine:
            # a re-deploy keeps the service's address
            settings = dataclasses.replace(settings, port=int(existing.runtime.get("port") or 0))
    check_port(ws, name, settings.port, existing)
    debugger.check_port(ws, name, settings, existing)
    if existing is not None and existing.target != settings.engine:
        delete(ws, name)  # moving to another engine: nothing of the old one stays
    service_dir = layout.service_dir(Path(ws.path), name)
    service_dir.mkdir(parents=True, exist_ok=True)
    record = records.ServiceRecord(
        name=name,
        target=settings.engine,
        state=TRANSITIONING,
        error=None,
        spec={"config": settings.config, "inference": dict(plan.inference), "image": None},
        runtime={
            "service_dir": str(service_dir),
            "port": settings.port or None,
            "operation": records.operation_marker(ws, name, "deploy"),
        },
        model_ids=list(plan.model_ids),
        restart_count=0,
        description=settings.description,
        tags=dict(settings.tags),
        properties=dict(settings.properties),
    )
    records.save(ws, record, event="deployment requested")

    def progress(message: str) -> None:
        records.save(ws, record, event=message)

    try:
        _hand_keys(ws, target, name, service_dir, settings)
        spec, image = _release(ws, target, name, plan, settings, service_dir, progress)
        progress("start: starting the service on its target")
        if said := debugger.announcement(settings):
            progress(said.replace("NAME", name))
        status = target.deploy(spec)
    except DockyardError as exc:
        # The record keeps what failed (get_logs() shows it to SDK and CLI users alike).
        record.state, record.error = FAILED, str(exc)
        record.runtime["port"] = None if target.needs_image else record.runtime["port"]
        records.save(ws, record, event=f"failed: {getattr(exc, 'message', exc)}")
        raise
    if spec.app_root is not None:
        prune_app_roots(service_dir, keep={spec.app_root})
    record.runtime["port"] = status.port
    record.runtime["base_uri"] = status.base_uri
    _record_debugger(record, spec)
    _record_image(record, image)
    where = status.base_uri or f"127.0.0.1:{status.port}"
    records.save(ws, record, event=f"start: listening on {where}")
    return record


def check_port(
    ws: Workspace, name: str, port: int, existing: records.ServiceRecord | None = None
) -> None:
    """A taken port is refused before anything is recorded or started, naming who holds it."""
    if not port:
        return
    if existing is not None and existing.runtime.get("port") == port:
        return  # the service being replaced holds it
    if port_is_free(port):
        return
    raise ConflictError(
        f"Service {name!r} cannot use 127.0.0.1:{port}: {port_holder(ws, port, exclude=name)}",
        hint="choose another port in deploy_configuration(port=...), or omit it to get a free one",
    )


def port_holder(ws: Workspace, port: int, exclude: str | None = None) -> str:
    """Who holds ``port``: a dockyard service (any engine, this workspace's records first), or
    another program."""
    for record in records.list_all(ws):
        if (
            record.name != exclude
            and record.runtime.get("port") == port
            and record.state not in (FAILED, STOPPED)
        ):
            return (
                f"port {port} is held by dockyard service {record.name!r} "
                f"(dockyard service show {record.name})"
            )
    return port_owner(port, scope_of(ws)) or f"port {port} is held by another program"


# --- update and reload ----------------------------------------------------------------------------
def roll_out(
    ws: Workspace, name: str, plan: ServicePlan, settings: ServiceSettings, what: str = "update"
) -> records.ServiceRecord:
    """Switch service ``name`` to ``plan``/``settings`` without failed requests.

    The new version starts beside the old one and takes over once it is ready; if it fails, the
    old one keeps serving and :class:`DeploymentError` says why. Keys are kept.
    """
    record = records.require(ws, name)
    target = target_of(ws, record)
    if what == "reload" and not (settings.reloadable and target.supports_reload):
        raise WebserviceError(
            f"reload() works for local services only; {name!r} runs on {record.target}",
            hint="use service.update(inference_config=...) to roll out a changed script",
        )
    current_port = int(record.runtime.get("port") or 0)
    if settings.port and current_port and settings.port != current_port:
        raise DeploymentError(
            f"{what}() cannot move service {name!r} from port {current_port} to {settings.port}",
            step=what,
            hint="delete and deploy again to change the port",
        )
    settings = dataclasses.replace(settings, port=current_port or settings.port)
    debugger.check_port(ws, name, settings, record)
    records.begin_operation(ws, record, what)
    service_dir = Path(record.runtime["service_dir"])

    def progress(message: str) -> None:
        records.save(ws, record, event=f"{what}: {message}")

    _hand_keys(ws, target, name, service_dir, settings)
    spec, image = _release(ws, target, name, plan, settings, service_dir, progress)
    if said := debugger.announcement(settings):
        progress(said.replace("NAME", name))
    result = target.update(spec, on_event=progress)
    if result.state == FAILED:
        if spec.app_root is not None and result.previous_serving:
            prune_app_roots(
                service_dir, keep={p for p in service_dir.glob("app-*") if p != spec.app_root}
            )
        outcome = (
            "the previous version keeps serving"
            if result.previous_serving
            else "no version of it is serving now"
            + (
                " (the debugger is on: the previous version was stopped first)"
                if debugger.port_of(settings)
                else ""
            )
        )
        raise DeploymentError(
            f"{what} of service {name!r} failed; {outcome}.\n{result.error or ''}",
            step=what,
            hint="fix the script or environment and try again; service.get_logs() has the full log",
        )
    record = records.require(ws, name)
    record.spec.update({"config": settings.config, "inference": dict(plan.inference)})
    record.model_ids = list(plan.model_ids)
    record.tags, record.description = dict(settings.tags), settings.description
    record.properties = dict(settings.properties)
    _record_debugger(record, spec)
    _record_image(record, image)
    if result.details:
        record.runtime["last_switch"] = result.details
    refresh(ws, record)  # the new version's state, not the one before it
    records.save(ws, record, event=f"{what}: done")
    if spec.app_root is not None:
        prune_app_roots(service_dir, keep={spec.app_root})
    return record


# --- start, stop, delete --------------------------------------------------------------------------
def start(ws: Workspace, name: str) -> TargetStatus:
    """Start a stopped service again as it was deployed (a running one is left as it is)."""
    record = records.require(ws, name)
    records.begin_operation(ws, record, "start")
    status = target_of(ws, record).start(name, Path(record.runtime["service_dir"]))
    if status.port and status.port != record.runtime.get("port"):
        record.runtime["port"] = status.port
        records.save(ws, record, event=f"start: listening on 127.0.0.1:{status.port}")
    return refresh(ws, record)


def stop(ws: Workspace, name: str) -> TargetStatus:
    """Stop the service's processes or containers; :func:`start` brings it back."""
    record = records.require(ws, name)
    records.begin_operation(ws, record, "stop")
    target_of(ws, record).stop(name, Path(record.runtime["service_dir"]))
    return refresh(ws, record)


def delete(ws: Workspace, name: str) -> None:
    """Free everything the service has on its target, its keys and its records (models and
    images stay)."""
    record = records.require(ws, name)
    target_of(ws, record).delete(name, Path(record.runtime["service_dir"]))
    keys.forget(ws, name)  # key or token auth alike (nothing to forget for an open service)
    records.remove(ws, name)


# --- reading --------------------------------------------------------------------------------------
def refresh(ws: Workspace, record: records.ServiceRecord) -> TargetStatus:
    """The service's status from its target; a change is recorded (with its event) in the store."""
    status = target_of(ws, record).status(record.name, Path(record.runtime["service_dir"]))
    if status.state == STOPPED and record.state == FAILED:
        # Failed before anything ran (environment, layout, port): the store has the reason.
        status = TargetStatus(state=FAILED, error=record.error, port=status.port)
    if status.state != record.state or status.error != record.error:
        message = status.events[-1]["message"] if status.events else status.state
        records.set_state(
            ws, record.name, status.state, status.error, status.restart_count, message
        )
        record.state, record.error = status.state, status.error
    return status


def logs(ws: Workspace, record: records.ServiceRecord, num_lines: int = 5000) -> str:
    return target_of(ws, record).logs(record.name, Path(record.runtime["service_dir"]), num_lines)


def regen_key(ws: Workspace, name: str, which: str, value: str | None = None) -> tuple[str, str]:
    """Regenerate the "Primary" or "Secondary" key; the server reads it without a restart."""
    record = records.require(ws, name)
    primary, secondary = keys.regenerate(ws, name, which, value)
    service_dir = Path(record.runtime["service_dir"])
    if service_dir.exists():
        target_of(ws, record).write_keys(name, service_dir, primary, secondary)
    return primary, secondary


# --- steps ----------------------------------------------------------------------------------------
def _hand_keys(
    ws: Workspace, target: Target, name: str, service_dir: Path, settings: ServiceSettings
) -> None:
    if settings.auth_enabled:
        primary, secondary = keys.ensure(ws, name, settings.primary_key, settings.secondary_key)
        target.write_keys(name, service_dir, primary, secondary)


def _release(
    ws: Workspace,
    target: Target,
    name: str,
    plan: ServicePlan,
    settings: ServiceSettings,
    service_dir: Path,
    progress: Any,
) -> tuple[Any, ImageRelease | None]:
    """What the target runs: an image (found or built by the plan) or a local environment."""
    if target.needs_image:
        if plan.image is None:
            raise DeploymentError(
                f"Service {name!r}: its target runs images, and no image was given",
                step="image",
                hint="deploy with Model.deploy (it builds the image) or Webservice.deploy_from_image",
            )
        image = plan.image(progress)
        return image_release(name, image, settings, service_dir), image
    return (
        local_release(
            name, plan, settings, service_dir, Path(ws.path), progress, target.ships_environment
        ),
        None,
    )


def _record_debugger(record: records.ServiceRecord, spec: Any) -> None:
    """Where the IDE attaches (``dockyard service debug-config``), or nothing."""
    described = debugger.describe(spec)
    if described:
        record.runtime["debugger"] = described
    else:
        record.runtime.pop("debugger", None)


def _record_image(record: records.ServiceRecord, image: ImageRelease | None) -> None:
    if image is None:
        return
    record.spec["image"] = image.image_id
    record.runtime["image_location"] = image.location
    record.model_ids = list(image.model_ids)
