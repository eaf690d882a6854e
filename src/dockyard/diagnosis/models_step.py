"""Step ``models``: every model named is registered, and every one of its stored files still has
the bytes it was registered with (SHA-256 and size, as ``dockyard workspace verify`` checks).

The models are given as the CLI takes them (``NAME`` for the latest version, ``NAME:VERSION``)
or as ``Model`` objects; the result keeps their plain specs for the app-root layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dockyard.assets.model import Model
from dockyard.builders.specs import ModelSpec
from dockyard.diagnosis.report import FAILED, PASSED, SKIPPED, Step
from dockyard.errors import IntegrityError, ModelNotFoundError

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

STEP = "models"


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"name"`` -> ``("name", None)``; ``"name:3"`` -> ``("name", 3)``."""
    name, sep, version = ref.rpartition(":")
    if sep and version.isdigit() and name:
        return name, int(version)
    return ref, None


def check_models(ws: Workspace, models: Sequence[Any]) -> tuple[Step, list[ModelSpec]]:
    """The ``models`` step and, when it passed, the specs the layout links."""
    if not models:
        return (
            Step(
                STEP,
                SKIPPED,
                "no model given (--model NAME[:VERSION]): the script gets an empty azureml-models "
                "folder as AZUREML_MODEL_DIR",
            ),
            [],
        )
    specs: list[ModelSpec] = []
    lines: list[str] = []
    for given in models:
        model = given if isinstance(given, Model) else _find(ws, str(given))
        if isinstance(model, Step):
            return model, []
        spec = model.to_spec()
        bad = _damaged(ws, spec)
        if bad:
            return _damaged_step(spec, bad), []
        size = sum(f.size for f in spec.files)
        lines.append(f"{spec.name}:{spec.version} ({len(spec.files)} file(s), {size} bytes)")
        specs.append(spec)
    finding = "registered, every file verified (SHA-256): " + ", ".join(lines)
    return Step(STEP, PASSED, finding), specs


def _find(ws: Workspace, ref: str) -> Model | Step:
    name, version = parse_ref(ref)
    try:
        return Model(ws, name, version=version)
    except ModelNotFoundError:
        pass
    versions = sorted(m.version for m in Model.list(ws, name=name))
    if versions:
        latest = versions[-1]
        return Step(
            STEP,
            FAILED,
            f"model {name!r} has no version {version} in workspace {ws.name!r} "
            f"(its versions: {', '.join(map(str, versions))})",
            fix=f"pass a registered version, e.g. --model {name}:{latest} "
            f"(Model(ws, {name!r}, version={latest})); `dockyard model list --name {name}` lists them",
        )
    names = sorted(ws.models)
    known = f"registered models: {', '.join(names)}" if names else "no model is registered yet"
    return Step(
        STEP,
        FAILED,
        f"model {name!r} is not registered in workspace {ws.name!r} ({known})",
        evidence=f"workspace {ws.name!r} at {ws.path}",
        fix=f"register it: `dockyard model register PATH --name {name}` "
        f"(Model.register(ws, model_path=PATH, model_name={name!r})), or pass the name it was "
        "registered under (`dockyard model list`)",
    )


def _damaged(ws: Workspace, spec: ModelSpec) -> list[str]:
    """``path: why`` for every file of ``spec`` whose stored bytes are missing or changed."""
    bad = []
    for file in spec.files:
        try:
            ws.blobs.path(file.sha256, size=file.size)
        except IntegrityError as exc:
            why = "missing" if "missing" in exc.message else "damaged (SHA-256 or size differs)"
            bad.append(f"{file.relative_path}: stored file {file.blob_path} is {why}")
    return bad


def _damaged_step(spec: ModelSpec, bad: list[str]) -> Step:
    return Step(
        STEP,
        FAILED,
        f"model {spec.name}:{spec.version}: {len(bad)} of its {len(spec.files)} stored file(s) "
        "no longer hold the bytes they were registered with",
        evidence="\n".join(bad),
        fix=f"register the model again from its original files (`dockyard model register PATH "
        f"--name {spec.name}`: a new version), then pass that version; `dockyard workspace "
        "verify` lists every damaged file of the workspace",
    )


__all__ = ["STEP", "check_models", "parse_ref"]
