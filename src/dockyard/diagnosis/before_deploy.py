"""Diagnosing a score.py before deploying it: the seed's isolation steps, in a deploy's order.

``models`` (registered, files verified) -> ``environment`` (resolves and installs) -> ``layout``
(the app root a deploy makes) -> ``import`` -> ``signatures`` (init() and run() usable) ->
``init`` (against the real model folder) -> ``score`` (a sample answered as JSON). The steps
after the first failure are reported as not checked. Nothing is deployed: the environment built
here is the one a deploy of the same environment reuses, and the app root is a temporary folder.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.builders.envs import ResolvedEnvironment
from dockyard.diagnosis.environment_step import check_environment, environment_of
from dockyard.diagnosis.layout_step import check_layout, resolve_paths
from dockyard.diagnosis.models_step import check_models
from dockyard.diagnosis.probe import run_probe
from dockyard.diagnosis.probe_steps import STEPS, ScriptContext, steps_of
from dockyard.diagnosis.report import DiagnosisReport, Step, run_steps
from dockyard.errors import ValidationError

if TYPE_CHECKING:
    from dockyard.assets.environment import Environment
    from dockyard.builders.app_root import AppRoot
    from dockyard.workspace import Workspace

#: How long import, init() and the sample may take together by default (seconds).
DEFAULT_TIMEOUT = 600.0


def sample_text(sample: Any) -> str | None:
    """The request body to send: JSON text as given, ``@file`` read, other values as JSON."""
    if sample is None:
        return None
    if isinstance(sample, bytes):
        return sample.decode("utf-8")
    if isinstance(sample, str):
        if sample.startswith("@"):
            path = Path(sample[1:]).expanduser()
            if not path.is_file():
                raise ValidationError(
                    f"The sample file {path} does not exist.",
                    hint="pass --sample @FILE with the request body, or --sample '<JSON>'",
                )
            return path.read_text(encoding="utf-8")
        return sample
    try:
        return json.dumps(sample)
    except TypeError as exc:
        raise ValidationError(
            f"sample is not JSON-serialisable: {exc}",
            hint="pass a str (the request body), or plain lists, dicts and numbers",
        ) from None


def diagnose_script(
    ws: Workspace,
    entry_script: Any,
    *,
    source_directory: Any = None,
    models: Sequence[Any] = (),
    environment: Environment | str | None = None,
    conda_file: Any = None,
    sample: Any = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[str], None] | None = None,
) -> DiagnosisReport:
    """Run the pre-deploy steps for ``entry_script`` (see the module docstring)."""
    say = progress or (lambda _line: None)
    paths = resolve_paths(entry_script, source_directory)
    body = sample_text(sample)
    conda = Path(conda_file).expanduser().resolve() if conda_file else None
    source = _environment_source(environment, conda)
    found: dict[str, Any] = {"models": [], "resolved": None, "app_root": None}
    folder = Path(tempfile.mkdtemp(prefix="dockyard-diagnose-"))

    def models_step() -> Step:
        say("diagnose: models")
        step, found["models"] = check_models(ws, list(models))
        return step

    def environment_step() -> Step:
        say("diagnose: environment")
        found["env"] = env = environment_of(ws, environment, conda)
        step, found["resolved"] = check_environment(ws, env, source or "", say)
        return step

    def layout_step() -> Step:
        step, found["app_root"] = check_layout(paths, found["models"], folder / "app")
        return step

    def probe_steps() -> list[Step]:
        say("diagnose: import, init() and a sample in a child process")
        app_root: AppRoot = found["app_root"]
        resolved: ResolvedEnvironment | None = found["resolved"]
        own = getattr(found.get("env"), "environment_variables", None) or {}
        variables = {str(k): str(v) for k, v in own.items()}
        result = run_probe(resolved, app_root, variables, body, timeout)
        ctx = ScriptContext(
            paths.entry_script, paths.source_directory, app_root, found["models"], source
        )
        return steps_of(result, ctx, timeout)

    try:
        steps = run_steps(
            [
                ("models", models_step),
                ("environment", environment_step),
                ("layout", layout_step),
                (STEPS, probe_steps),
            ]
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return DiagnosisReport(f"entry script {paths.entry_script}", steps)


def _environment_source(environment: Any, conda: Path | None) -> str | None:
    """How the findings name the environment (None: dockyard's own Python)."""
    if environment is not None and not isinstance(environment, str):
        return f"environment {environment.name!r}"
    if environment:
        return f"environment {environment!r} (`dockyard env show {environment.split(':')[0]}`)"
    if conda is not None:
        return f"the conda file {conda}"
    return None


__all__ = ["DEFAULT_TIMEOUT", "diagnose_script", "sample_text"]
