"""Step ``environment``: the Python environment resolves and installs, with the builder a deploy
uses (:func:`dockyard.builders.envs.ensure_environment`, cached by content: a later deploy of
the same environment reuses what this step built).

When it fails, the finding names the requirements the installer could not install, the pins as
written, and the Python they were for; the evidence is the installer's last lines and the full
log's path.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.assets.environment import Environment
from dockyard.builders.envs import ResolvedEnvironment, ensure_environment
from dockyard.diagnosis.models_step import parse_ref
from dockyard.diagnosis.report import FAILED, PASSED, Step
from dockyard.errors import EnvironmentBuildError
from dockyard.store.layout import environments_cache

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

STEP = "environment"


def environment_of(ws: Workspace, environment: Any, conda_file: Path | None) -> Environment | None:
    """The Environment to check: an Environment, a registered ``NAME[:VERSION]``, or the conda
    file (as ``InferenceConfig(conda_file=...)`` makes it); None for dockyard's own Python."""
    if isinstance(environment, Environment):
        return environment
    if environment:
        name, version = parse_ref(str(environment))
        return Environment.get(ws, name, version)
    if conda_file is not None:
        return Environment.from_conda_specification(conda_file.stem or "diagnose", conda_file)
    return None


def check_environment(
    ws: Workspace, env: Environment | None, source: str, progress: Any
) -> tuple[Step, ResolvedEnvironment | None]:
    """The ``environment`` step and the environment to run the script in (None: dockyard's own
    Python, as a deploy without an environment does)."""
    if env is None:
        return (
            Step(
                STEP,
                PASSED,
                f"none given: the script runs in dockyard's own Python {platform.python_version()} "
                f"({sys.executable}), as a deploy without an environment does",
            ),
            None,
        )
    spec = env.to_spec()
    try:
        resolved = ensure_environment(spec, environments_cache(Path(ws.path)), progress=progress)
    except EnvironmentBuildError as exc:
        return _failed(exc, spec.name, source), None
    versions = ", ".join(f"{k}=={v}" for k, v in sorted(resolved.packages.items()))
    notes = [*resolved.warnings, *resolved.notes]
    how = "reused from the cache" if resolved.reused else "built now"
    return (
        Step(
            STEP,
            PASSED,
            f"{source} resolves and installs: Python {resolved.python_version} at "
            f"{resolved.python} ({how})",
            evidence="\n".join([f"versions in use: {versions}", *notes]),
        ),
        resolved,
    )


def _failed(exc: EnvironmentBuildError, name: str, source: str) -> Step:
    named = list(exc.details.get("requirements") or [])
    pins = f" (as written: {', '.join(named)})" if named else ""
    log = exc.details.get("log_path")
    evidence = (exc.log_tail or "").rstrip()
    if log:
        evidence += f"\nfull log: {log}"
    return Step(
        STEP,
        FAILED,
        f"{source} does not install for Python {platform.python_version()}: {exc.message}{pins}",
        evidence=evidence.strip(),
        fix=f"edit {source}: {exc.hint}" if exc.hint else f"edit {source}",
    )


__all__ = ["STEP", "check_environment", "environment_of"]
