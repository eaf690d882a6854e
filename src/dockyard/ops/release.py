"""Preparing what a target runs: a virtual environment and an app root on this machine, or an
image (found or built by the plan's own function), and the server's settings.

This is where a :class:`~dockyard.ops.specs.ServicePlan` becomes a
:class:`~dockyard.targets.base.ServiceSpec`; each step names itself (``environment``, ``layout``,
``image``) in its progress lines and in the :class:`~dockyard.errors.DeploymentError` it raises.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from dockyard.builders.app_root import lay_out
from dockyard.builders.portable import frozen_requirements, server_package
from dockyard.errors import DeploymentError, DockyardError, StepError, ValidationError
from dockyard.ops.specs import ImageRelease, Progress, ServicePlan, ServiceSettings
from dockyard.server import contract
from dockyard.store import layout
from dockyard.targets.base import ServiceSpec

#: The link to the running version's app root in a service's folder (services with the debugger).
STABLE_APP_ROOT = "app"


def environments_cache(workspace_path: Path) -> Path:
    """Where built virtual environments are kept (``DOCKYARD_ENV_CACHE`` overrides)."""
    return layout.environments_cache(workspace_path)


def server_argv(plan: ServicePlan, workspace_path: Path, progress: Progress) -> list[str]:
    """The argv that starts the server: dockyard's own interpreter when the plan has no
    environment (the fastest path), else a cached virtual environment keyed by its build hash."""
    if plan.environment is None:
        progress("environment: none given; using dockyard's own Python")
        return [sys.executable, "-m", "dockyard.server"]
    from dockyard.builders.envs import ensure_environment  # uv and the resolver: only when needed

    resolved = ensure_environment(
        plan.environment, environments_cache(workspace_path), progress=progress
    )
    versions = ", ".join(f"{k}=={v}" for k, v in sorted(resolved.packages.items()))
    progress(f"environment: Python {resolved.python_version} at {resolved.python}; {versions}")
    return resolved.server_command()


def server_env(settings: ServiceSettings, name: str) -> dict[str, str]:
    """The settings the scoring server reads from its environment."""
    return {contract.SERVICE_NAME_ENV: name, **settings.server_env}


def local_release(
    name: str,
    plan: ServicePlan,
    settings: ServiceSettings,
    service_dir: Path,
    workspace_path: Path,
    progress: Progress,
    portable: bool = False,
) -> ServiceSpec:
    """Environment and app-root layout: everything before a local target starts anything.

    ``portable``: the target runs the service on other machines, so the environment (built here
    all the same, as the local target would run it) also goes as exact pins, with the server
    runtime as a package folder (:mod:`dockyard.builders.portable`).
    """
    if plan.entry_script is None:
        raise ValidationError(
            "An InferenceConfig is needed to deploy: it names the entry script (score.py)",
            hint="InferenceConfig(entry_script='score.py', environment=myenv)",
        )
    try:
        argv = server_argv(plan, workspace_path, progress)
    except StepError as exc:
        raise DeploymentError(
            f"Service {name!r}: creating the Python environment failed: {exc.message}",
            step="environment",
            log_tail=exc.log_tail,
            hint=exc.hint,
        ) from exc
    folder = service_dir / f"app-{time.time_ns():x}"
    try:
        app_root, report = lay_out(folder, plan.models, plan.entry_script, plan.source_directory)
    except DockyardError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise DeploymentError(
            f"Service {name!r}: laying out the app root failed: {exc.message}",
            step="layout",
            hint=exc.hint,
        ) from exc
    progress(
        f"layout: app root {app_root.path} ({report.linked} model file(s) linked, "
        f"{report.copied} copied)"
    )
    if contract.DEBUGPY_LISTEN_ENV in settings.server_env and not portable:
        # the debugger's path mappings name one folder for the service's whole life
        app_root = dataclasses.replace(app_root, path=point_stable_app_root(service_dir, folder))
    elif stable_app_root(service_dir).is_symlink():
        stable_app_root(service_dir).unlink()  # the debugger is off now
    env = {**plan.environment_variables, **server_env(settings, name), **app_root.environment()}
    if (
        not portable
    ):  # the server samples its metrics into the service folder (every process reads it)
        env.setdefault(contract.METRICS_HISTORY_ENV, str(layout.metrics_history_file(service_dir)))
    if contract.DEBUGPY_LISTEN_ENV in env and portable:
        # the replica's files are unpacked elsewhere each time: it links this path to them
        env[contract.DEBUGPY_APP_ROOT_ENV] = f"/tmp/dockyard-debug/{name}/app"
    spec = _spec(name, settings, service_dir, env, app_root=app_root.path, argv=tuple(argv))
    if not portable:
        return spec
    return dataclasses.replace(spec, **_portable_environment(argv, workspace_path, progress))


def _portable_environment(
    argv: list[str], workspace_path: Path, progress: Progress
) -> dict[str, Any]:
    """The environment of ``argv``'s interpreter as exact pins, its Python and the server runtime
    (no pins: the engine's own Python, as a local service without an environment)."""
    python = argv[0]
    pins = [] if python == sys.executable else frozen_requirements(python)
    server = server_package(layout.environments_cache(workspace_path) / "wheels")
    progress(
        f"environment: shipped as {len(pins)} exact pin(s) and the server runtime {server.parent.name}"
        if pins
        else f"environment: none given; replicas use the cluster's own Python (server runtime {server.parent.name})"
    )
    return {
        "requirements": tuple(pins),
        "python_version": platform.python_version(),
        "server_runtime": server,
    }


def image_release(
    name: str, image: ImageRelease, settings: ServiceSettings, service_dir: Path
) -> ServiceSpec:
    """An image target's spec: the image and the server's settings."""
    return _spec(
        name,
        settings,
        service_dir,
        server_env(settings, name),
        image=image.reference,
        labels={"dockyard.image": image.image_id},
    )


def _spec(
    name: str,
    settings: ServiceSettings,
    service_dir: Path,
    env: dict[str, str],
    *,
    app_root: Path | None = None,
    argv: tuple[str, ...] = (),
    image: str | None = None,
    labels: dict[str, str] | None = None,
) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        service_dir=service_dir,
        env=env,
        port=settings.port,
        worker_count=settings.worker_count,
        startup_timeout_seconds=settings.startup_timeout_seconds,
        auth_enabled=settings.auth_enabled,
        app_root=app_root,
        server_argv=argv,
        image=image,
        cpu_cores=settings.cpu_cores,
        memory_gb=settings.memory_gb,
        labels=dict(labels or {}),
        config=dict(settings.config),
        placement=dict(settings.placement),
    )


def stable_app_root(service_dir: Path) -> Path:
    """The app root's path that stays the same across reloads (a link to the version's folder):
    the server of a service with the debugger runs there, so the IDE's path mappings stay valid."""
    return service_dir / STABLE_APP_ROOT


def point_stable_app_root(service_dir: Path, folder: Path) -> Path:
    """Point :func:`stable_app_root` at ``folder`` (atomically) and return it."""
    link = stable_app_root(service_dir)
    tmp = service_dir / f".{STABLE_APP_ROOT}.{time.time_ns():x}"
    tmp.symlink_to(folder.name, target_is_directory=True)
    os.replace(tmp, link)
    return link


def prune_app_roots(service_dir: Path, keep: set[Path]) -> None:
    """Remove app roots no running version uses (``keep`` may name them through the stable
    link)."""
    kept = {path.resolve() for path in keep}
    for path in service_dir.glob("app-*"):
        if path.resolve() not in kept:
            shutil.rmtree(path, ignore_errors=True)
