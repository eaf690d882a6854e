"""An ``Environment`` written down: azureml.core's camelCase JSON (plus a ``dockyard`` block that
keeps the base folder and the content of the files ``-r`` includes), and the folder form of
``save_to_directory`` with azureml.core's file names.

``Environment.serialize``/``deserialize`` and ``save_to_directory``/``load_from_directory`` check
their input and call these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.assets import _specfiles as sf
from dockyard.assets._env_parts import ContainerRegistry
from dockyard.assets.conda import CondaDependencies
from dockyard.errors import ValidationError

if TYPE_CHECKING:
    from dockyard.assets.environment import Environment

DEFINITION_FILE = "azureml_environment.json"
CONDA_FILE = "conda_dependencies.yml"
DOCKERFILE_FILE = "BaseDockerfile"


def to_dict(env: Environment) -> dict[str, Any]:
    """``env`` as a JSON-ready dict in azureml.core's environment format."""
    conda = env.python.conda_dependencies
    registry = env.docker.base_image_registry
    return {
        "name": env.name,
        "version": env.version,
        "environmentVariables": dict(env.environment_variables or {}),
        "python": {
            "userManagedDependencies": bool(env.python.user_managed_dependencies),
            "interpreterPath": env.python.interpreter_path,
            "condaDependenciesFile": env.python.conda_dependencies_file,
            "baseCondaEnvironment": env.python.base_conda_environment,
            "condaDependencies": conda.as_dict() if conda else None,
        },
        "docker": {
            "enabled": bool(env.docker.enabled),
            "baseImage": env.docker.base_image,
            "baseDockerfile": env.docker.base_dockerfile,
            "sharedVolumes": env.docker.shared_volumes,
            "shmSize": env.docker.shm_size,
            "arguments": list(env.docker.arguments or []),
            "baseImageRegistry": {
                "address": registry.address,
                "username": registry.username,
            },
        },
        "inferencingStackVersion": env.inferencing_stack_version,
        "dockyard": {
            "baseDir": str(conda._base_dir) if conda and conda._base_dir else None,
            "includedFiles": dict(conda._included) if conda else {},
        },
    }


def fill(env: Environment, data: Mapping[str, Any]) -> None:
    """Set ``env``'s sections from ``data`` (what :func:`to_dict` wrote, or azureml.core's
    environment JSON)."""
    version = data.get("version")
    env.version = None if version is None else str(version)
    env.environment_variables = dict(data.get("environmentVariables") or {})
    env.inferencing_stack_version = data.get("inferencingStackVersion")
    python = data.get("python") or {}
    env.python.user_managed_dependencies = bool(python.get("userManagedDependencies", False))
    env.python.interpreter_path = python.get("interpreterPath") or "python"
    env.python.conda_dependencies_file = python.get("condaDependenciesFile")
    env.python.base_conda_environment = python.get("baseCondaEnvironment")
    extra = data.get("dockyard") or {}
    if python.get("condaDependencies") is not None:
        conda = CondaDependencies(_underlying_structure=python["condaDependencies"])
        base_dir = extra.get("baseDir")
        conda._base_dir = Path(base_dir) if base_dir else None
        conda._included = dict(extra.get("includedFiles") or {})
        conda._frozen_includes = True
        env.python.conda_dependencies = conda
    docker = data.get("docker") or {}
    env.docker.enabled = bool(docker.get("enabled", False))
    env.docker.shared_volumes = bool(docker.get("sharedVolumes", True))
    env.docker.shm_size = docker.get("shmSize")
    env.docker.arguments = list(docker.get("arguments") or [])
    registry = docker.get("baseImageRegistry") or {}
    env.docker.base_image_registry = ContainerRegistry(
        registry.get("address"), registry.get("username")
    )
    env.docker.base_image = docker.get("baseImage")
    if docker.get("baseDockerfile"):
        env.docker._base_dockerfile = docker["baseDockerfile"]
        env.docker._base_image = None


def write_folder(env: Environment, folder: Path) -> None:
    """The definition, the conda file and the base Dockerfile as separate, editable files."""
    folder.mkdir(parents=True, exist_ok=True)
    data = to_dict(env)
    conda = env.python.conda_dependencies
    if conda is not None:
        conda.save(folder / CONDA_FILE)
        data["python"]["condaDependencies"] = None
    if env.docker.base_dockerfile:
        (folder / DOCKERFILE_FILE).write_text(env.docker.base_dockerfile, encoding="utf-8")
        data["docker"]["baseDockerfile"] = None
    (folder / DEFINITION_FILE).write_text(json.dumps(data, indent=4), encoding="utf-8")


def read_definition(folder: Path) -> dict[str, Any]:
    """The definition file of a folder :func:`write_folder` wrote, parsed."""
    definition = folder / DEFINITION_FILE
    text = sf.read_text(definition, "Environment definition")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{definition}, line {exc.lineno}: not valid JSON ({exc.msg}).",
            hint="fix the JSON or save the environment again",
        ) from exc
    return data


def read_folder_files(env: Environment, folder: Path, data: Mapping[str, Any]) -> None:
    """Put the folder's conda file and base Dockerfile (edited or not) into ``env``."""
    if (folder / CONDA_FILE).is_file():
        conda = CondaDependencies(folder / CONDA_FILE)
        extra = data.get("dockyard") or {}
        conda._base_dir = Path(extra["baseDir"]) if extra.get("baseDir") else folder
        conda._included = dict(extra.get("includedFiles") or {})
        conda._frozen_includes = True
        env.python.conda_dependencies = conda
    if (folder / DOCKERFILE_FILE).is_file():
        env.docker.base_dockerfile = (folder / DOCKERFILE_FILE).read_text(encoding="utf-8")
