"""Deploying: turn registered models + an InferenceConfig + a deployment config into a running
service, step by step (environment, layout, start), recording each step in the store.

This is where user-facing objects become plain specs: ``Environment.to_spec()`` for ``build/``,
``ModelSpec`` for the app-root layout, and a ``DeploymentSpec`` for the target.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.builders.layout import lay_out
from dockyard.errors import (
    ConflictError,
    DeploymentError,
    DockyardError,
    StepError,
    ValidationError,
)
from dockyard.server import contract
from dockyard.targets.base import FAILED, TRANSITIONING, DeploymentSpec
from dockyard.webservice import keys, records
from dockyard.webservice.config import DeploymentConfig, LocalDeploymentConfig

if TYPE_CHECKING:
    from dockyard.webservice.base import Webservice
    from dockyard.workspace import Workspace


def services_root(ws: Workspace) -> Path:
    return Path(ws.path) / "services"


def environments_cache(ws: Workspace) -> Path:
    override = os.environ.get("DOCKYARD_ENV_CACHE")
    return Path(override) if override else Path(ws.path) / "envs"


def _model_id(model: Any) -> tuple[str, int]:
    if isinstance(model, str):
        name, _, version = model.partition(":")
        if not version.isdigit():
            raise ValidationError(f"Model id {model!r} is not of the form 'name:version'")
        return name, int(version)
    model_name, model_version = getattr(model, "name", None), getattr(model, "version", None)
    if model_name is None or model_version is None:
        raise ValidationError(
            f"{model!r} is not a registered model",
            hint="pass Model objects from Model.register or Model(ws, name)",
        )
    return str(model_name), int(model_version)


def resolve_python(
    ws: Workspace, environment: Any, progress: Any
) -> tuple[list[str], dict[str, str]]:
    """The argv that starts the server, and the environment's variables.

    No environment: dockyard's own interpreter (the fastest path). Otherwise a cached virtual
    environment keyed by the environment's build hash.
    """
    if environment is None:
        progress("environment: none given; using dockyard's own Python")
        return [sys.executable, "-m", "dockyard.server"], {}
    variables = {
        str(k): str(v)
        for k, v in (getattr(environment, "environment_variables", None) or {}).items()
    }
    from dockyard.builders.envs import ensure_environment

    spec = environment.to_spec()
    resolved = ensure_environment(spec, environments_cache(ws), progress=progress)
    versions = ", ".join(f"{k}=={v}" for k, v in sorted(resolved.packages.items()))
    progress(f"environment: Python {resolved.python_version} at {resolved.python}; {versions}")
    return resolved.server_command(), variables


def server_environment(config: DeploymentConfig, service_dir: Path) -> dict[str, str]:
    """Settings the scoring server reads from its environment."""
    env = {
        contract.SCORING_TIMEOUT_ENV: str(config.scoring_timeout_ms),
        contract.MAX_CONCURRENT_REQUESTS_ENV: str(config.replica_max_concurrent_requests),
        contract.SERVICE_NAME_ENV: service_dir.name,
    }
    if config.max_request_wait_time is not None:
        env[contract.MAX_REQUEST_WAIT_TIME_ENV] = str(config.max_request_wait_time)
    if config.auth_enabled:
        env[contract.KEYS_FILE_ENV] = str(service_dir / keys.KEYS_FILE)
    if config.debug:
        env[contract.DEBUG_RESPONSES_ENV] = "1"
    env.update(config.environment_variables)
    return env


def _new_app_root(service_dir: Path) -> Path:
    return service_dir / f"app-{time.time_ns():x}"


def prune_app_roots(service_dir: Path, keep: set[Path]) -> None:
    """Remove app roots no running version uses."""
    for path in service_dir.glob("app-*"):
        if path not in keep:
            shutil.rmtree(path, ignore_errors=True)


def prepare(
    ws: Workspace,
    name: str,
    models: list[Any],
    inference_config: Any,
    config: DeploymentConfig,
    service_dir: Path,
    port: int,
    progress: Any,
) -> DeploymentSpec:
    """Environment + layout: everything before the target starts anything."""
    if inference_config is None:
        raise ValidationError(
            "An InferenceConfig is needed to deploy: it names the entry script (score.py)",
            hint="InferenceConfig(entry_script='score.py', environment=myenv)",
        )
    environment = getattr(inference_config, "environment", None)
    try:
        argv, variables = resolve_python(ws, environment, progress)
    except StepError as exc:
        raise DeploymentError(
            f"Service {name!r}: creating the Python environment failed: {exc.message}",
            step="environment",
            log_tail=exc.log_tail,
            hint=exc.hint,
        ) from exc
    from dockyard.assets.model import model_specs

    specs = model_specs(ws, models)
    app_root_dir = _new_app_root(service_dir)
    entry = Path(inference_config.entry_script)
    source = getattr(inference_config, "source_directory", None)
    try:
        app_root, report = lay_out(app_root_dir, specs, entry, Path(source) if source else None)
    except DockyardError as exc:
        shutil.rmtree(app_root_dir, ignore_errors=True)
        raise DeploymentError(
            f"Service {name!r}: laying out the app root failed: {exc.message}",
            step="layout",
            hint=exc.hint,
        ) from exc
    progress(
        f"layout: app root {app_root.path} ({report.linked} model file(s) linked, {report.copied} copied)"
    )
    env = {**variables, **server_environment(config, service_dir), **app_root.environment()}
    return DeploymentSpec(
        name=name,
        service_dir=service_dir,
        app_root=app_root.path,
        python=argv[0],
        server_argv=tuple(argv),
        env=env,
        port=port,
        worker_count=config.worker_count,
        startup_timeout_seconds=config.startup_timeout_seconds,
    )


def deploy(
    ws: Workspace,
    name: str,
    models: list[Any],
    inference_config: Any = None,
    deployment_config: DeploymentConfig | None = None,
    overwrite: bool = False,
) -> Webservice:
    """``Model.deploy``: run the models as a web service named ``name``."""
    from dockyard.webservice.base import Webservice

    records.check_service_name(name)
    config = deployment_config or LocalDeploymentConfig()
    if not isinstance(config, DeploymentConfig):
        raise ValidationError(
            f"deployment_config must come from a deploy_configuration() call, not {type(config).__name__}",
            hint="LocalWebservice.deploy_configuration(port=8890)",
        )
    models = list(models or [])
    if config.target == "docker" or getattr(config, "docker", False):
        from dockyard.webservice.container import deploy_container

        return deploy_container(ws, name, models, inference_config, config, overwrite=overwrite)
    target = target_for(config)
    existing = records.get(ws, name)
    port = config.port or 0
    if existing is not None:
        if (existing.target != config.target or config.target != "local") and not overwrite:
            raise ConflictError(
                f"A service named {name!r} already exists (on {existing.target})",
                hint="pick another name, delete it first, or pass overwrite=True",
            )
        if existing.target == config.target == "local" and not config.port:
            port = int(existing.runtime.get("port") or 0)
        if existing.target != config.target:
            Webservice(ws, name).delete()
    _check_port_free(name, config, existing)
    service_dir = services_root(ws) / name
    service_dir.mkdir(parents=True, exist_ok=True)
    record = records.ServiceRecord(
        name=name,
        target=config.target,
        state=TRANSITIONING,
        error=None,
        spec={
            "config": config.serialize(),
            "inference": _serialize_inference(inference_config),
        },
        runtime={
            "service_dir": str(service_dir),
            "port": port or None,
            "operation": records.operation_marker(ws, name, "deploy"),
        },
        model_ids=[f"{n}:{v}" for n, v in (_model_id(m) for m in models)],
        restart_count=0,
        description=config.description,
        tags=dict(config.tags),
        properties=dict(config.properties),
    )
    records.save(ws, record, event="deployment requested")

    def progress(message: str) -> None:
        records.save(ws, record, event=message)

    try:
        if config.auth_enabled:
            primary, secondary = keys.ensure(ws, name, config.primary_key, config.secondary_key)
            keys.write_file(service_dir / keys.KEYS_FILE, primary, secondary)
        spec = prepare(ws, name, models, inference_config, config, service_dir, port, progress)
        progress("start: starting the supervisor (it holds the port and runs the server)")
        target.deploy(spec)
        prune_app_roots(service_dir, keep={spec.app_root})
    except DockyardError as exc:
        # The record keeps what failed (shown by get_logs() to SDK and CLI users alike); the
        # exception also says how to deploy again (run() and start() say it from the record).
        record.state, record.error = FAILED, str(exc)
        records.save(ws, record, event=f"failed: {getattr(exc, 'message', exc)}")
        if isinstance(exc, DeploymentError) and exc.step in ("environment", "layout"):
            exc.hint = _then_deploy_again(exc.hint, name, record.model_ids)
            exc.args = (str(exc),)
        raise
    status = target.status(name, service_dir)
    record.runtime["port"] = status.port
    records.save(ws, record)
    return Webservice(ws, name)


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


def _check_port_free(name: str, config: DeploymentConfig, existing: Any) -> None:
    """A taken port is a clear error before anything is recorded or started."""
    from dockyard.targets.local import port_is_free

    if not config.port:
        return
    if existing is not None and existing.runtime.get("port") == config.port:
        return  # the service being replaced holds it
    if not port_is_free(config.port):
        raise ConflictError(
            f"Port {config.port} on 127.0.0.1 is already in use, so service {name!r} cannot start there",
            hint="choose another port in deploy_configuration(port=...), or omit it to get a free one",
        )


def _serialize_inference(inference_config: Any) -> dict[str, Any]:
    if inference_config is None:
        return {}
    if hasattr(inference_config, "serialize"):
        return dict(inference_config.serialize())
    return {"entry_script": str(inference_config.entry_script)}


def target_for(config: DeploymentConfig) -> Any:
    if config.target == "local" and not getattr(config, "docker", False):
        from dockyard.targets.local import LocalTarget

        return LocalTarget()
    raise ValidationError(
        f"The {config.target!r} target is not available in this version of dockyard",
        hint="deploy with LocalWebservice.deploy_configuration() for now",
    )
