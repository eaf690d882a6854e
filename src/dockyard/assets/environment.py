"""``Environment``: the Python packages, base image and variables a deployment runs with.

Mirrors ``azureml.core.environment.Environment`` (v1), so that ported code keeps working::

    from dockyard import Environment

    env = Environment.from_conda_specification(name="env", file_path="myenv.yml")
    env.environment_variables["MODE"] = "fast"
    env.register(ws)                        # versions 1, 2, 3 ... per name

An environment is plain data in three sections: ``env.python`` (a :class:`PythonSection` holding
:class:`~dockyard.assets.conda.CondaDependencies`), ``env.docker`` (a :class:`DockerSection`: base
image or base Dockerfile) and ``env.environment_variables``. Two content hashes identify it:

* :meth:`Environment.build_hash` covers everything that changes what gets *built* (packages,
  Python version, channels, pip options and the files ``-r`` includes, base image/Dockerfile). It
  keys cached virtual environments and image layers.
* :meth:`Environment.full_hash` is the build hash plus the environment variables, so changing a
  variable never rebuilds anything, but still makes a new registered version.

Both are sha256 of canonical JSON: stable across processes, machines and Python versions.
:meth:`Environment.to_spec` translates the environment into the plain
:class:`~dockyard.builders.specs.EnvironmentSpec` that the environment builder takes.
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.assets import _env_format as env_format
from dockyard.assets import _env_registry as registry
from dockyard.assets import _specfiles as sf
from dockyard.assets._env_parts import (
    NAME_RULE,
    ContainerRegistry,
    DockerSection,
    PythonSection,
    build_payload,
    canonical_sha256,
    validate_name,
)
from dockyard.assets.conda import DEFAULT_NAME, PYTHON, CondaDependencies
from dockyard.builders.specs import EnvironmentSpec
from dockyard.errors import ValidationError

if TYPE_CHECKING:
    from dockyard.store.environments import EnvironmentRecord

__all__ = [
    "NAME_RULE",
    "ContainerRegistry",
    "DockerSection",
    "Environment",
    "PythonSection",
    "EnvironmentsView",
    "canonical_sha256",
    "validate_name",
]


class Environment:
    """A named, versionable Python environment for deployments (see the module docstring).

    :param name: the environment's name (letters, digits, ``-``, ``_``, ``.``; checked when it
        is registered).
    """

    def __init__(self, name: str, _skip_defaults: bool = False) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Environment name must be a str, got {type(name).__name__}")
        self.name = name
        #: registered version as a string ("1", "2" ...), None until registered.
        self.version: str | None = None
        self.python = PythonSection(_skip_defaults=_skip_defaults)
        self.docker = DockerSection(_skip_defaults=_skip_defaults)
        self.environment_variables: dict[str, str] = {}
        #: accepted for compatibility; dockyard always adds its own scoring runtime.
        self.inferencing_stack_version: str | None = None
        #: when the registry recorded this version (None until registered).
        self.created_time: Any = None

    # --- construction ---------------------------------------------------------------------------
    @staticmethod
    def from_conda_specification(name: str, file_path: str | os.PathLike[str]) -> Environment:
        """An environment from a conda environment YAML file.

        The file is read and checked now: a YAML error, an unknown key or a bad package raises
        ``SpecError`` naming the file and line. Files included with ``-r`` are read too.
        """
        conda = CondaDependencies(conda_dependencies_file_path=file_path)
        conda.included_files()
        env = Environment(name=name)
        env.python.conda_dependencies = conda
        return env

    @staticmethod
    def from_pip_requirements(
        name: str, file_path: str | os.PathLike[str], pip_version: str | None = None
    ) -> Environment:
        """An environment from a pip ``requirements.txt`` (plus conda's ``pip`` package).

        Every line is checked now; a bad line raises ``SpecError`` naming the file and line.
        """
        path = Path(os.path.normpath(os.fspath(file_path)))
        lines = sf.parse_requirements(sf.read_text(path, "Requirements file"), str(path))
        conda = CondaDependencies(_underlying_structure={"name": DEFAULT_NAME})
        conda._source, conda._base_dir = str(path), path.resolve().parent
        conda.set_pip_requirements([line.text for line in lines])
        conda.add_conda_package(f"pip={pip_version}" if pip_version else "pip")
        conda.included_files()
        env = Environment(name=name)
        env.python.conda_dependencies = conda
        return env

    @staticmethod
    def _from_dependencies(
        name: str, conda_specification: str | None, pip_requirements: str | None
    ) -> Environment:
        if conda_specification and pip_requirements:
            raise ValidationError(
                "Give either conda_specification or pip_requirements, not both.",
                hint="merge the pip requirements into the conda file's 'pip:' list",
            )
        if conda_specification:
            return Environment.from_conda_specification(name, conda_specification)
        if pip_requirements:
            return Environment.from_pip_requirements(name, pip_requirements)
        env = Environment(name)
        env.python.user_managed_dependencies = True
        return env

    @staticmethod
    def from_docker_image(
        name: str,
        image: str,
        container_registry: ContainerRegistry | None = None,
        conda_specification: str | None = None,
        pip_requirements: str | None = None,
    ) -> Environment:
        """An environment on ``image``; without a spec file the image's own Python is used."""
        env = Environment._from_dependencies(name, conda_specification, pip_requirements)
        env.docker.base_image = image
        if container_registry is not None:
            env.docker.base_image_registry = container_registry
        return env

    @staticmethod
    def from_dockerfile(
        name: str,
        dockerfile: str,
        conda_specification: str | None = None,
        pip_requirements: str | None = None,
    ) -> Environment:
        """An environment on a base Dockerfile (its text or a path to it)."""
        env = Environment._from_dependencies(name, conda_specification, pip_requirements)
        env.docker.base_dockerfile = dockerfile
        return env

    def clone(self, new_name: str) -> Environment:
        """A copy under ``new_name``, not registered."""
        env = Environment.deserialize(self.serialize())
        env.name, env.version, env.created_time = new_name, None, None
        return env

    # --- hashes and the build spec --------------------------------------------------------------
    def build_hash(self) -> str:
        """sha256 of what is built: packages, Python, channels, pip options, ``-r`` files'
        content, local wheel files, base image or Dockerfile. Package order does not matter."""
        return canonical_sha256(build_payload(self.python, self.docker))

    def full_hash(self) -> str:
        """sha256 of the build hash plus the environment variables."""
        variables = {str(k): str(v) for k, v in (self.environment_variables or {}).items()}
        return canonical_sha256({"build_hash": self.build_hash(), "variables": variables})

    def to_spec(self) -> EnvironmentSpec:
        """The plain, validated spec the environment builder consumes."""
        conda = self.python.conda_dependencies
        packages = conda.conda_packages if conda else []
        extra: dict[str, Any] = {}
        if (
            "interpreter_path" in EnvironmentSpec.model_fields
            and self.python.user_managed_dependencies
        ):
            extra["interpreter_path"] = self.python.interpreter_path
        return EnvironmentSpec(
            name=validate_name(self.name),
            version=self.version,
            python_version=conda.get_python_version() if conda else None,
            conda_packages=tuple(p for p in packages if sf.conda_name(p) != PYTHON),
            pip_packages=tuple(conda.pip_packages if conda else ()),
            pip_options=tuple(conda.pip_options if conda else ()),
            channels=tuple(conda.conda_channels if conda else ()),
            included_files=conda.included_files() if conda else {},
            base_image=self.docker.base_image,
            base_dockerfile=self.docker.base_dockerfile,
            environment_variables={
                str(k): str(v) for k, v in (self.environment_variables or {}).items()
            },
            user_managed=bool(self.python.user_managed_dependencies),
            build_hash=self.build_hash(),
            base_dir=conda._base_dir if conda else None,
            **extra,
        )

    # --- serialization (azureml.core's camelCase dict, plus a "dockyard" block: _env_format) ----
    def serialize(self) -> dict[str, Any]:
        """A JSON-ready dict in azureml.core's environment format."""
        return env_format.to_dict(self)

    @staticmethod
    def deserialize(data: Mapping[str, Any]) -> Environment:
        """The inverse of :meth:`serialize` (also reads azureml.core's environment JSON)."""
        if not isinstance(data, dict) or "name" not in data:
            raise ValidationError(
                "An environment definition must be a JSON object with at least a 'name'.",
                hint="export one with env.serialize() or env.save_to_directory()",
            )
        env = Environment(data["name"], _skip_defaults=True)
        env_format.fill(env, data)
        return env

    def save_to_directory(self, path: str | os.PathLike[str], overwrite: bool = False) -> None:
        """Write the definition to a folder in an editable form (azureml.core's file names)."""
        folder = Path(path)
        if folder.exists() and not overwrite:
            raise ValidationError(
                f"Folder {str(folder)!r} already exists.",
                hint="pass overwrite=True or choose a new folder",
            )
        env_format.write_folder(self, folder)

    @staticmethod
    def load_from_directory(path: str | os.PathLike[str]) -> Environment:
        """Read a folder written by :meth:`save_to_directory`."""
        folder = Path(path)
        data = env_format.read_definition(folder)
        env = Environment.deserialize(data)
        env_format.read_folder_files(env, folder, data)
        return env

    # --- the registry (records kept by _env_registry over dockyard.store.environments) ----------
    @staticmethod
    def _from_record(record: EnvironmentRecord) -> Environment:
        env = Environment.deserialize(dict(record.spec))
        env.name = record.name
        env.version = str(record.version)
        env.created_time = record.created_at
        return env

    def register(self, workspace: Any) -> Environment:
        """Register in ``workspace``; identical content to the latest version returns it,
        new content gets the next version. Returns the registered environment."""
        name = validate_name(self.name)
        build_hash, full_hash = self.build_hash(), self.full_hash()
        spec = self.serialize()  # after hashing: includes the -r files' content just read
        spec["version"] = None
        record = registry.add(
            workspace, name=name, build_hash=build_hash, full_hash=full_hash, spec=spec
        )
        return Environment._from_record(record)

    @staticmethod
    def get(
        workspace: Any, name: str, version: str | int | None = None, label: str | None = None
    ) -> Environment:
        """A registered environment: ``version`` or else the latest. (Azure's ``label`` is
        accepted in the signature; dockyard has no labels yet, so giving one is an error.)"""
        if label is not None:
            raise ValidationError(
                f"Environment labels are not supported (asked for label {label!r} of {name!r}).",
                hint="ask for a version instead: Environment.get(ws, name, version='2')",
            )
        return Environment._from_record(registry.get(workspace, name, version))

    @staticmethod
    def list(workspace: Any) -> dict[str, Environment]:
        """Every registered environment name mapped to its latest version."""
        return {r.name: Environment._from_record(r) for r in registry.latest(workspace)}

    @staticmethod
    def list_versions(workspace: Any, name: str | None = None) -> builtins.list[Environment]:
        """Every registered version (of ``name``, or of every name), by name then version
        (what ``dockyard env list --all-versions`` shows)."""
        return [Environment._from_record(r) for r in registry.versions(workspace, name)]

    def __str__(self) -> str:
        return f"Environment(Name: {self.name},\nVersion: {self.version})"

    def __repr__(self) -> str:
        return json.dumps(self.serialize(), indent=4, sort_keys=True)


class EnvironmentsView(Mapping[str, Environment]):
    """``ws.environments``: a read-only mapping of name -> latest registered Environment."""

    def __init__(self, workspace: Any) -> None:
        self._workspace = workspace

    def __getitem__(self, name: str) -> Environment:
        record = registry.find(self._workspace, name)
        if record is None:
            raise KeyError(name)
        return Environment._from_record(record)

    def __iter__(self) -> Iterator[str]:
        return iter(registry.names(self._workspace))

    def __len__(self) -> int:
        return len(registry.names(self._workspace))

    def __repr__(self) -> str:
        return f"EnvironmentsView({sorted(self)!r})"
