"""``InferenceConfig``: which scoring script to run, from which folder, in which environment.

Mirrors ``azureml.core.model.InferenceConfig`` (v1). Both forms work::

    InferenceConfig(entry_script="score.py", source_directory="src", environment=env)
    InferenceConfig(entry_script="score.py", runtime="python", conda_file="myenv.yml",
                    extra_docker_file_steps="Dockerfile.steps")          # the legacy form

(``execution_script=`` is accepted for ``entry_script=``, as in the seed's samples.)

Path rules, as in Azure: ``entry_script``, ``conda_file`` and ``extra_docker_file_steps`` are
relative to ``source_directory`` when one is given, else to the current folder. Everything is
checked at once (a missing file or folder, a script that is not an importable ``.py`` module or
does not parse) and stored as absolute paths, so that a later command run from another folder
still finds the files. A legacy ``conda_file`` becomes an :class:`Environment`.

``serialize()``/``deserialize()`` and :meth:`InferenceConfig.from_file` read and write the v1
CLI's ``inferenceconfig.json`` (keys ``entryScript``, ``runtime``, ``condaFile``,
``extraDockerfileSteps``, ``sourceDirectory``, ``environment`` ...).
"""

from __future__ import annotations

import ast
import json
import keyword
import os
import re
from pathlib import Path
from typing import Any

from dockyard.assets import _specfiles as sf
from dockyard.assets.environment import Environment
from dockyard.errors import ValidationError

SUPPORTED_RUNTIMES = ("python",)

# JSON key -> attribute, in the order the v1 CLI writes them.
_JSON_KEYS = {
    "entryScript": "entry_script",
    "runtime": "runtime",
    "condaFile": "conda_file",
    "extraDockerfileSteps": "extra_docker_file_steps",
    "sourceDirectory": "source_directory",
    "enableGpu": "enable_gpu",
    "cudaVersion": "cuda_version",
    "baseImage": "base_image",
    "description": "description",
}


class InferenceConfig:
    """The scoring script, its folder and its environment for a deployment.

    Arguments follow azureml.core's order. ``environment`` excludes the legacy ``runtime``,
    ``conda_file``, ``extra_docker_file_steps``, ``enable_gpu``, ``cuda_version`` and
    ``base_image`` (give either, as Azure requires).

    :ivar entry_script: absolute path of the scoring script.
    :ivar source_directory: absolute path of the source folder, or None.
    :ivar environment: the Environment to run in (None: dockyard's default environment).
    """

    def __init__(
        self,
        entry_script: str | os.PathLike[str] | None = None,
        runtime: str | None = None,
        conda_file: str | os.PathLike[str] | None = None,
        extra_docker_file_steps: str | os.PathLike[str] | None = None,
        source_directory: str | os.PathLike[str] | None = None,
        enable_gpu: bool | None = None,
        description: str | None = None,
        base_image: str | None = None,
        base_image_registry: Any = None,
        cuda_version: str | None = None,
        environment: Environment | None = None,
        *,
        execution_script: str | os.PathLike[str] | None = None,
        _base: Path | None = None,
    ) -> None:
        if entry_script is not None and execution_script is not None:
            raise ValidationError(
                "Give entry_script or execution_script, not both (they are the same setting).",
                hint="keep entry_script='score.py'",
            )
        script = entry_script if entry_script is not None else execution_script
        if not script:
            raise ValidationError(
                "InferenceConfig needs an entry_script (the score.py with init() and run()).",
                hint="e.g. InferenceConfig(entry_script='score.py', environment=env)",
            )
        legacy = {
            "runtime": runtime,
            "conda_file": conda_file,
            "extra_docker_file_steps": extra_docker_file_steps,
            "enable_gpu": enable_gpu,
            "cuda_version": cuda_version,
            "base_image": base_image,
        }
        if environment is not None and any(legacy.values()):
            given = ", ".join(k for k, v in legacy.items() if v)
            raise ValidationError(
                f"InferenceConfig got an environment and also {given}; give one or the other.",
                hint="put packages in the environment (env.python.conda_dependencies) and the "
                "base image in env.docker.base_image",
            )
        if runtime is not None and runtime.lower() not in SUPPORTED_RUNTIMES:
            raise ValidationError(
                f"Runtime {runtime!r} is not supported; dockyard runs {', '.join(SUPPORTED_RUNTIMES)}.",
                hint="use runtime='python' or leave it out",
            )
        if environment is not None and not isinstance(environment, Environment):
            raise ValidationError(
                f"environment must be a dockyard Environment, got {type(environment).__name__}.",
                hint="build one with Environment.from_conda_specification(name, file_path)",
            )
        base = _base or Path.cwd()
        self.source_directory: str | None = None
        if source_directory is not None:
            folder = _absolute(source_directory, base)
            if not folder.is_dir():
                raise ValidationError(
                    f"source_directory {str(source_directory)!r} "
                    f"({'not a folder' if folder.exists() else 'does not exist'}: {folder}).",
                    hint="give the folder that holds score.py and the files it imports",
                )
            self.source_directory = str(folder)
        anchor = Path(self.source_directory) if self.source_directory else base
        self.entry_script = str(_check_script(script, anchor, self.source_directory))
        self.runtime = runtime.lower() if runtime else None
        self.conda_file = _existing_file(conda_file, anchor, "conda_file")
        self.extra_docker_file_steps = _existing_file(
            extra_docker_file_steps, anchor, "extra_docker_file_steps"
        )
        self.enable_gpu = enable_gpu
        self.cuda_version = cuda_version
        self.description = description
        self.base_image = base_image
        self.base_image_registry = base_image_registry
        self.environment = environment if environment is not None else self._legacy_environment()

    def _legacy_environment(self) -> Environment | None:
        """The Environment the legacy arguments describe (None when none was given)."""
        if not (self.conda_file or self.base_image or self.runtime):
            return None
        if self.conda_file:
            stem = re.sub(r"[^A-Za-z0-9._-]", "-", Path(self.conda_file).stem).strip("-._")
            env = Environment.from_conda_specification(stem or "inference-env", self.conda_file)
        else:
            env = Environment("inference-env")
        if self.base_image:
            env.docker.base_image = self.base_image
        if self.base_image_registry is not None:
            env.docker.base_image_registry = self.base_image_registry
        return env

    @property
    def entry_script_relative(self) -> str:
        """The script's path inside ``source_directory`` (its file name when there is none),
        with '/' separators: what ``AZUREML_ENTRY_SCRIPT`` holds inside a deployment."""
        script = Path(self.entry_script)
        if self.source_directory:
            return script.relative_to(self.source_directory).as_posix()
        return script.name

    # --- inferenceconfig.json -------------------------------------------------------------------
    def serialize(self) -> dict[str, Any]:
        """A JSON-ready dict with the v1 CLI's ``inferenceconfig.json`` keys (absolute paths)."""
        data: dict[str, Any] = {key: getattr(self, attr) for key, attr in _JSON_KEYS.items()}
        legacy_env = self.runtime or self.conda_file or self.base_image
        data["environment"] = (
            self.environment.serialize() if self.environment and not legacy_env else None
        )
        return data

    @staticmethod
    def deserialize(
        workspace: Any,
        data: dict[str, Any] | None = None,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> InferenceConfig:
        """Build from an ``inferenceconfig.json`` dict, like azureml's ``X.deserialize(workspace,
        payload)``; ``InferenceConfig.deserialize(data)`` works too.

        Relative paths resolve against ``base_dir`` (default: the current folder). An
        ``environment`` that only names a registered environment (``{"name": ..., "version":
        ...}``) is fetched from ``workspace``.
        """
        if data is None and isinstance(workspace, dict):
            workspace, data = None, workspace
        if not isinstance(data, dict):
            raise ValidationError(
                f"An inference config must be a JSON object, got {type(data).__name__}.",
                hint='start from {"entryScript": "score.py", "environment": {...}}',
            )
        known = {*_JSON_KEYS, "environment", "baseImageRegistry"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError(
                f"Unknown inference config key(s): {', '.join(unknown)}.",
                hint=f"use only {', '.join(sorted(known))}",
            )
        kwargs = {attr: data.get(key) for key, attr in _JSON_KEYS.items()}
        base = Path(base_dir).resolve() if base_dir is not None else None
        return InferenceConfig(
            environment=_environment_from(data.get("environment"), workspace), _base=base, **kwargs
        )

    @staticmethod
    def from_file(path: str | os.PathLike[str], workspace: Any = None) -> InferenceConfig:
        """Read an ``inferenceconfig.json``. Relative paths in it resolve against the file's
        folder, or against the current folder when only the current folder has them (v1's
        CLI resolved them against the current folder)."""
        file = Path(path)
        text = sf.read_text(file, "Inference config file")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"{file}, line {exc.lineno}: not valid JSON ({exc.msg}).",
                hint="fix the JSON syntax (quotes around keys, no trailing commas)",
            ) from exc
        folder = file.resolve().parent
        if isinstance(data, dict):
            first = data.get("sourceDirectory") or data.get("entryScript")
            if isinstance(first, str) and not (folder / first).exists() and Path(first).exists():
                folder = Path.cwd()
        try:
            return InferenceConfig.deserialize(workspace, data, base_dir=folder)
        except ValidationError as exc:
            raise ValidationError(f"{file}: {exc.message}", hint=exc.hint) from exc

    def __repr__(self) -> str:
        return (
            f"InferenceConfig(entry_script={self.entry_script!r}, "
            f"source_directory={self.source_directory!r}, runtime={self.runtime!r}, "
            f"conda_file={self.conda_file!r}, "
            f"extra_docker_file_steps={self.extra_docker_file_steps!r}, "
            f"environment={self.environment.name if self.environment else None!r})"
        )


def _environment_from(data: Any, workspace: Any) -> Environment | None:
    """The environment of an inference config dict: inline, or a reference to a registered one."""
    if not data:
        return None
    if isinstance(data, dict) and set(data) <= {"name", "version"}:
        if workspace is None:
            raise ValidationError(
                f"The inference config names registered environment {data.get('name')!r} "
                f"(version {data.get('version') or 'latest'}) but no workspace was given to "
                "fetch it from.",
                hint="pass workspace=ws, or inline the environment definition",
            )
        return Environment.get(workspace, data["name"], data.get("version"))
    return Environment.deserialize(data)


def _absolute(value: str | os.PathLike[str], anchor: Path) -> Path:
    path = Path(os.path.expanduser(os.fspath(value)))
    return Path(os.path.realpath(path if path.is_absolute() else anchor / path))


def _existing_file(value: str | os.PathLike[str] | None, anchor: Path, what: str) -> str | None:
    if not value:
        return None
    path = _absolute(value, anchor)
    if not path.is_file():
        raise ValidationError(
            f"{what} {str(value)!r} does not exist (looked for {path}).",
            hint=f"{what} is relative to source_directory when one is given, else to the "
            "current folder",
        )
    return str(path)


def _check_script(value: str | os.PathLike[str], anchor: Path, source_dir: str | None) -> Path:
    """Resolve and check the entry script: exists, inside the source folder, importable."""
    path = _absolute(value, anchor)
    relative_to = "source_directory" if source_dir else "the current folder"
    if not path.is_file():
        raise ValidationError(
            f"entry_script {str(value)!r} does not exist (looked for {path}).",
            hint=f"entry_script is relative to {relative_to}; check the name and the folder",
        )
    if source_dir and not path.is_relative_to(source_dir):
        raise ValidationError(
            f"entry_script {str(value)!r} ({path}) is outside source_directory {source_dir}.",
            hint="move the script into the source folder, or give the folder that contains it",
        )
    if path.suffix != ".py" or not path.stem.isidentifier() or keyword.iskeyword(path.stem):
        raise ValidationError(
            f"entry_script {str(value)!r} must be an importable Python module: a '.py' file "
            "whose name is a valid identifier (letters, digits, '_'; not a keyword).",
            hint="rename it, e.g. 'score.py' or 'score_v2.py'",
        )
    try:
        ast.parse(sf.read_text(path, "entry_script"), filename=str(path))
    except SyntaxError as exc:
        raise ValidationError(
            f"entry_script {path}, line {exc.lineno}: syntax error ({exc.msg}).",
            hint="fix the script, then try a local deployment to check it",
        ) from exc
    return path
