"""Render a Dockerfile and its build context from a plain :class:`ImageSpec`.

The Dockerfile is ordered for Docker's layer cache, so that editing ``score.py`` rebuilds only
the last layer::

    stage "builder" (never shipped): venv + your Python deps, then the server runtime
    final stage:  base image -> app user -> extra Dockerfile steps (OS packages)
                  -> COPY the venv (Python deps) -> COPY the server runtime
                  -> COPY models -> COPY source dir / entry script -> metadata (ENV, LABEL, CMD)

* App root ``/var/azureml-app`` (the server's working directory): models under
  ``azureml-models/<name>/<version>/``, the source directory as ``<its folder name>/`` (or the
  entry script alone), as :mod:`dockyard.builders.app_root` lays out local deployments.
* The server: ``python -m dockyard.server --host 0.0.0.0 --port 5001`` in the app root, as a
  non-root user (``dockyard``, uid 1000), with a ``HEALTHCHECK`` on ``/health/ready``. The script
  and models come from Azure ML v1's variables: ``AML_APP_ROOT=/var/azureml-app``,
  ``AZUREML_ENTRY_SCRIPT`` and ``AZUREML_MODEL_DIR`` relative to it
  (``azureml-models/<name>/<version>``, or ``azureml-models`` for several models).
* Any ``python`` in the image (``docker exec ... python -c "from azureml.core.model import
  Model"``) finds dockyard's ``azureml`` stand-ins: the venv's ``.pth`` file appends the server
  runtime and its ``compat`` folder after site-packages, so installed Azure packages win.
* Python packages come from a wheelhouse resolved on the host (``python_deps="wheelhouse"``, the
  default: offline, nothing secret in the build) or from pip inside the builder stage
  (``python_deps="network"``), which gets the host's CA bundle and http(s) indexes; either way
  only ``/opt/venv`` and ``/opt/dockyard-runtime`` leave the builder stage.

:func:`write_build_context` writes the Dockerfile and everything it copies into a folder
(``Model.package(..., generate_dockerfile=True)`` uses it as is: ``docker build FOLDER``).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

import dockyard
from dockyard.builders import wheelhouse as deps
from dockyard.builders.app_root import model_dir_value, place_models, place_source
from dockyard.builders.base_image import DEFAULT_BASE_IMAGE
from dockyard.builders.runtime import PTH_NAME, build_server_wheel, pth_text
from dockyard.builders.specs import EnvironmentSpec, ModelSpec
from dockyard.errors import ValidationError
from dockyard.server import contract

APP_ROOT = "/var/azureml-app"
VENV = "/opt/venv"
RUNTIME_DIR = "/opt/dockyard-runtime"
APP_USER = "dockyard"
APP_UID = 1000
PORT = 5001
#: Build-only inputs in the context (builder stage); the app root's files go under ``app/``.
_BUILD_DIR = "dockyard"
_PIP = f"python3 -m pip --python {VENV}/bin/python"
_PIP_INSTALL = f"{_PIP} install --no-cache-dir --no-warn-script-location --progress-bar off"
#: Environment variables that depend on the models and the source (set after those layers).
_LAYOUT_ENV = (contract.ENTRY_SCRIPT_ENV, contract.MODEL_DIR_ENV, contract.SOURCE_DIRECTORY_ENV)
_HEALTH = (
    "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open("
    f"'http://127.0.0.1:{PORT}/health/ready', timeout=3)"
)


class ImageSpec(BaseModel):
    """Everything an image is built from; plain data, no workspace objects.

    ``entry_script`` is a host path; when ``source_directory`` is given it must lie inside it and
    the whole folder is copied, else the script is copied alone. ``extra_dockerfile_steps`` is the
    text of a ``Dockerfile.steps`` file (``RUN apt-get update && apt-get -y install vim``): it runs
    as root in the final stage, after the base image and before any Python layer.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_script: Path
    source_directory: Path | None = None
    environment: EnvironmentSpec | None = None
    models: tuple[ModelSpec, ...] = ()
    extra_dockerfile_steps: str | None = None
    #: Overrides ``environment.base_image``; default :data:`DEFAULT_BASE_IMAGE`.
    base_image: str | None = None
    #: ``major.minor`` of the base image's ``python3`` (wheels are resolved for it).
    python_version: str = "3.11"
    #: The server-runtime wheel; None builds it from the installed dockyard.
    runtime_wheel: Path | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    python_deps: Literal["wheelhouse", "network"] = "wheelhouse"
    #: CA bundle for pip in the builder stage (network mode); None: the host's bundle, if any.
    ca_bundle: Path | None = None

    def resolved_base_image(self) -> str:
        env_base = self.environment.base_image if self.environment else None
        return self.base_image or env_base or DEFAULT_BASE_IMAGE


@dataclass
class BuildContext:
    """A written build context: ``docker build path`` builds the image."""

    path: Path
    dockerfile: Path
    base_image: str
    labels: dict[str, str]
    environment: dict[str, str]
    command: list[str]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def write_build_context(
    spec: ImageSpec,
    dest: Path,
    *,
    cache_dir: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> BuildContext:
    """Write the Dockerfile and every file it copies into ``dest`` (emptied first).

    Resolves Python dependencies (wheelhouse mode), builds the server-runtime wheel when the spec
    names none, hard-links (and verifies) model files and copies the source. ``log`` receives
    progress lines. Raises :class:`~dockyard.errors.ImageBuildError` when resolution fails and
    :class:`~dockyard.errors.UserError` for missing scripts or folders.
    """
    say = log or (lambda _line: None)
    started = time.monotonic()
    if dest.exists():
        shutil.rmtree(dest)
    build = dest / _BUILD_DIR
    build.mkdir(parents=True)
    notes: list[str] = []
    steps = _check_steps(spec.extra_dockerfile_steps)

    requirements, constraints = deps.requirements_for(spec.environment, spec.python_version, notes)
    user_wheels: tuple[str, ...] = ()
    network = spec.python_deps == "network"
    if network:
        deps.check_network_requirements(requirements)
        (build / "pip").mkdir()
        deps.write_pip_config(build / "pip", spec.ca_bundle, notes)
        runtime = build / "runtime"
        runtime.mkdir()
        runtime_wheel = _runtime_wheel(spec, runtime, copy=True).name
    elif requirements.strip():
        user = deps.resolve_wheelhouse(
            requirements,
            build / "wheels",
            constraints=constraints,
            python_version=spec.python_version,
            cache_dir=cache_dir,
            log=say,
        )
        user_wheels = user.wheels
    if network or requirements.strip():
        (build / "requirements").mkdir(exist_ok=True)
        (build / "requirements" / "requirements.txt").write_text(requirements)
        (build / "requirements" / "constraints.txt").write_text(constraints)
    if not network:
        wheel = _runtime_wheel(spec, (cache_dir or deps.default_cache_dir()) / "server-wheels")
        deps.resolve_wheelhouse(
            f"{wheel}\n", build / "runtime", python_version=spec.python_version,
            cache_dir=cache_dir, log=say,
        )  # fmt: skip
        runtime_wheel = wheel.name

    place_models(dest / "app" / "models", spec.models)
    (dest / "app" / "source").mkdir(parents=True, exist_ok=True)
    script_rel, source_rel = place_source(
        dest / "app" / "source", spec.entry_script, spec.source_directory
    )
    environment = _environment(spec, script_rel, source_rel)
    # No --entry-script: the server reads AZUREML_ENTRY_SCRIPT (relative to the app root), so
    # the script sees the value Azure ML v1 sets (a flag would be exported as an absolute path).
    command = ["python", "-m", "dockyard.server", "--host", "0.0.0.0", "--port", str(PORT)]
    labels = image_labels(spec, script_rel, runtime_wheel)
    text = render_dockerfile(
        base_image=spec.resolved_base_image(),
        network=network,
        user_wheels=user_wheels,
        runtime_wheel=runtime_wheel,
        has_models=bool(spec.models),
        steps=steps,
        environment=environment,
        labels=labels,
        command=command,
    )
    dockerfile = dest / "Dockerfile"
    dockerfile.write_text(text)
    (dest / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
    return BuildContext(
        path=dest,
        dockerfile=dockerfile,
        base_image=spec.resolved_base_image(),
        labels=labels,
        environment=environment,
        command=command,
        notes=notes,
        seconds=time.monotonic() - started,
    )


def render_dockerfile(
    *,
    base_image: str,
    network: bool,
    user_wheels: tuple[str, ...],
    runtime_wheel: str,
    has_models: bool,
    steps: str,
    environment: dict[str, str],
    labels: dict[str, str],
    command: list[str],
) -> str:
    """The Dockerfile text for a context laid out by :func:`write_build_context` (pure)."""
    b = f"/tmp/{_BUILD_DIR}"
    out = [
        f"# Generated by dockyard {dockyard.__version__}. Build it from this folder:",
        "#   docker build -t NAME .",
        "# Layers: base -> OS steps -> Python deps -> server runtime -> models -> source.",
        "",
        "# ---- builder: installs Python packages; only /opt/venv and /opt/dockyard-runtime leave it",
        f"FROM {base_image} AS builder",
        f"RUN python3 -m venv --without-pip {VENV} && {VENV}/bin/python -c "
        f"\"import sysconfig, pathlib; pathlib.Path(sysconfig.get_path('purelib'), "
        f'{PTH_NAME!r}).write_text({pth_text(RUNTIME_DIR, "/")!r})"',
    ]
    if network:
        pip_env = f"PIP_CONFIG_FILE={b}/pip/pip.conf"
        out += [
            f"COPY {_BUILD_DIR}/pip/ {b}/pip/",
            f"COPY {_BUILD_DIR}/requirements/ {b}/requirements/",
            f"RUN {pip_env} {_PIP_INSTALL} -r {b}/requirements/requirements.txt "
            f"-c {b}/requirements/constraints.txt",
            f"COPY {_BUILD_DIR}/runtime/ {b}/runtime/",
            f"RUN {pip_env} {_PIP_INSTALL} --target {RUNTIME_DIR} {b}/runtime/{runtime_wheel}",
        ]
    else:
        if user_wheels:
            out += [
                f"COPY {_BUILD_DIR}/wheels/ {b}/wheels/",
                f"RUN {_PIP_INSTALL} --no-index --find-links {b}/wheels "
                + " ".join(f"{b}/wheels/{w}" for w in user_wheels),
            ]
        out += [
            f"COPY {_BUILD_DIR}/runtime/ {b}/runtime/",
            f"RUN {_PIP_INSTALL} --no-index --find-links {b}/runtime --target {RUNTIME_DIR} "
            f"{b}/runtime/{runtime_wheel}",
        ]
    out += [
        "",
        "# ---- the image",
        f"FROM {base_image}",
        f"RUN useradd --create-home --uid {APP_UID} --user-group --shell /bin/bash {APP_USER} "
        f"&& mkdir -p {APP_ROOT} && chown {APP_USER}:{APP_USER} {APP_ROOT}",
    ]
    if steps:
        out += ["# -- extra Dockerfile steps (Dockerfile.steps): run as root, before Python", steps]
    static = {k: v for k, v in environment.items() if k not in _LAYOUT_ENV}
    layout = {k: v for k, v in environment.items() if k in _LAYOUT_ENV}
    out += [
        "# -- Python packages (the builder's venv), then the server runtime",
        f"COPY --from=builder {VENV} {VENV}",
        f"COPY --from=builder {RUNTIME_DIR} {RUNTIME_DIR}",
        "# -- settings that do not depend on models or source (cached across rebuilds)",
        "ENV " + " ".join(f"{k}={json.dumps(v)}" for k, v in static.items()),
        f"WORKDIR {APP_ROOT}",
        f"EXPOSE {PORT}",
        "HEALTHCHECK --interval=5s --timeout=5s --start-period=60s --retries=3 "
        f"CMD {json.dumps(['python', '-c', _HEALTH])}",
        f"USER {APP_USER}",
    ]
    if has_models:
        out += ["# -- models (read-only, owned by root)", f"COPY app/models/ {APP_ROOT}/"]
    out += [
        "# -- source directory / entry script (last: an edit rebuilds only from here)",
        f"COPY --chown={APP_USER}:{APP_USER} app/source/ {APP_ROOT}/",
        "ENV " + " ".join(f"{k}={json.dumps(v)}" for k, v in layout.items()),
        "LABEL " + " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in labels.items()),
        f"CMD {json.dumps(command)}",
        "",
    ]
    return "\n".join(out)


def image_labels(spec: ImageSpec, entry_script: str, runtime_wheel: str) -> dict[str, str]:
    """Labels that say what an image contains (no secrets, ever)."""
    env = spec.environment
    labels = {
        "dockyard.version": dockyard.__version__,
        "dockyard.models": ",".join(f"{m.name}:{m.version}" for m in spec.models),
        "dockyard.entry-script": entry_script,
        "dockyard.runtime": runtime_wheel,
        "dockyard.environment": f"{env.name}:{env.version or ''}".rstrip(":") if env else "",
        "dockyard.environment.build-hash": env.build_hash if env else "",
    }
    return {**labels, **spec.labels}


def _environment(spec: ImageSpec, script_rel: str, source_rel: str | None) -> dict[str, str]:
    env = dict(spec.environment.environment_variables) if spec.environment else {}
    env.update(
        {
            "PATH": f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "VIRTUAL_ENV": VENV,
            "PYTHONUNBUFFERED": "1",
            contract.APP_ROOT_ENV: APP_ROOT,
            contract.ENTRY_SCRIPT_ENV: script_rel,
            # Azure ML v1's relative form; the server's working directory is the app root.
            contract.MODEL_DIR_ENV: model_dir_value(spec.models),
        }
    )
    if source_rel:
        env[contract.SOURCE_DIRECTORY_ENV] = source_rel
    return env


def _check_steps(steps: str | None) -> str:
    if not steps or not steps.strip():
        return ""
    for number, line in enumerate(steps.splitlines(), 1):
        word = line.strip().split(" ", 1)[0].upper()
        if word in {"FROM", "CMD", "ENTRYPOINT", "USER", "HEALTHCHECK"}:
            raise ValidationError(
                f"Extra Dockerfile steps, line {number}: {word} is not allowed there ({line.strip()!r})",
                hint="extra steps add to dockyard's image (RUN, ENV, COPY of context files, ...); "
                "to change the base, set base_image instead",
            )
    return steps.strip()


def _runtime_wheel(spec: ImageSpec, folder: Path, *, copy: bool = False) -> Path:
    """The server-runtime wheel (built into ``folder`` unless the spec names one)."""
    folder.mkdir(parents=True, exist_ok=True)
    if spec.runtime_wheel is not None:
        if not spec.runtime_wheel.is_file():
            raise ValidationError(
                f"The server-runtime wheel {spec.runtime_wheel} does not exist",
                hint="omit runtime_wheel to build it from the installed dockyard",
            )
        if not copy:
            return spec.runtime_wheel.resolve()
        target = folder / spec.runtime_wheel.name
        shutil.copy2(spec.runtime_wheel, target)
        return target

    return build_server_wheel(folder)


def context_size(path: Path) -> int:
    """Bytes in a build context (what the engine receives)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


__all__ = [
    "APP_ROOT",
    "BuildContext",
    "ImageSpec",
    "image_labels",
    "render_dockerfile",
    "write_build_context",
]
