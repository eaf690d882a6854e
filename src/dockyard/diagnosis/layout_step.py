"""Step ``layout``: the entry script and source directory are where the deployment expects them,
and the app root is laid out exactly as a deploy lays it out
(:func:`dockyard.builders.app_root.lay_out`: the source directory copied, the models linked under
``azureml-models/<name>/<version>``, ``AZUREML_MODEL_DIR`` as Azure ML v1 sets it).

Paths follow ``InferenceConfig``'s rules: the entry script is relative to the source directory
when one is given, else to the current folder.
"""

from __future__ import annotations

import keyword
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.builders.app_root import AppRoot, lay_out
from dockyard.builders.specs import ModelSpec
from dockyard.diagnosis.report import FAILED, PASSED, Step
from dockyard.errors import DockyardError
from dockyard.server import contract

STEP = "layout"


@dataclass(frozen=True)
class ScriptPaths:
    """The user's entry script and source directory, as absolute paths."""

    entry_script: Path
    source_directory: Path | None


def resolve_paths(
    entry_script: str | os.PathLike[str], source_directory: str | os.PathLike[str] | None
) -> ScriptPaths:
    """Absolute paths by ``InferenceConfig``'s rules (nothing is checked here)."""
    source = _absolute(source_directory, Path.cwd()) if source_directory else None
    return ScriptPaths(_absolute(entry_script, source or Path.cwd()), source)


def _absolute(value: str | os.PathLike[str], anchor: Path) -> Path:
    path = Path(os.path.expanduser(os.fspath(value)))
    return Path(os.path.realpath(path if path.is_absolute() else anchor / path))


def check_layout(
    paths: ScriptPaths, models: Sequence[ModelSpec], folder: Path
) -> tuple[Step, AppRoot | None]:
    """The ``layout`` step and the app root laid out in ``folder``."""
    problem = _path_problem(paths)
    if problem is not None:
        return problem, None
    try:
        app_root, report = lay_out(folder, list(models), paths.entry_script, paths.source_directory)
    except DockyardError as exc:
        return Step(STEP, FAILED, exc.message, fix=exc.hint or ""), None
    variables = {**app_root.environment(), contract.APP_ROOT_ENV: "<a temporary app root>"}
    env = ", ".join(f"{k}={v}" for k, v in sorted(variables.items()))
    copied = f", {report.copied} copied" if report.copied else ""
    return (
        Step(
            STEP,
            PASSED,
            f"app root laid out as a deploy does: entry script {app_root.entry_script}, "
            f"AZUREML_MODEL_DIR={app_root.model_dir_value} ({report.linked} model file(s) "
            f"linked{copied})",
            evidence=f"the server's variables: {env}",
        ),
        app_root,
    )


def _path_problem(paths: ScriptPaths) -> Step | None:
    script, source = paths.entry_script, paths.source_directory
    relative = "--source-directory (source_directory=)" if source else "the current folder"
    if source is not None and not source.is_dir():
        return Step(
            STEP,
            FAILED,
            f"the source directory {source} does not exist",
            fix="pass the folder that holds score.py and the files it imports: "
            "--source-directory DIR",
        )
    if not script.is_file():
        return Step(
            STEP,
            FAILED,
            f"the entry script {script} does not exist",
            fix=f"the entry script is relative to {relative}: check the name and the folder",
        )
    if source is not None and not script.is_relative_to(source):
        return Step(
            STEP,
            FAILED,
            f"the entry script {script} is outside the source directory {source}",
            fix="move the script into the source folder, or give the folder that contains it",
        )
    if script.suffix != ".py" or not script.stem.isidentifier() or keyword.iskeyword(script.stem):
        return Step(
            STEP,
            FAILED,
            f"the entry script {script.name} is not an importable Python module name",
            fix="rename it to a '.py' file whose name is a valid identifier, e.g. score.py",
        )
    return None


__all__ = ["STEP", "ScriptPaths", "check_layout", "resolve_paths"]
