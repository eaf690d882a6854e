"""Diagnosing an image: ``image`` (its record: which version, its state) and ``build log`` (the
log every build keeps in the workspace, scanned for known failures by
:func:`dockyard.diagnosis.image_log.scan`). Read-only: nothing is built or pulled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.diagnosis.image_log import scan
from dockyard.diagnosis.models_step import parse_ref
from dockyard.diagnosis.report import FAILED, PASSED, SKIPPED, DiagnosisReport, Step, run_steps
from dockyard.ops import images as records
from dockyard.ops.images.records import FAILED as BUILD_FAILED
from dockyard.ops.images.records import SUCCEEDED

if TYPE_CHECKING:
    from dockyard.ops.images import ImageRecord
    from dockyard.workspace import Workspace


def diagnose_image(ws: Workspace, ref: str) -> DiagnosisReport:
    """The ``image`` and ``build log`` steps of image ``NAME[:VERSION]`` (latest without one)."""
    name, version = parse_ref(ref)
    found: dict[str, Any] = {}

    def image_step() -> Step:
        record = records.get(ws, name, version)
        if record is None:
            known = sorted(records.names(ws))
            listed = f"images: {', '.join(known)}" if known else "no image is recorded yet"
            what = f"{name}:{version}" if version is not None else name
            return Step(
                "image",
                FAILED,
                f"image {what!r} is not in workspace {ws.name!r} ({listed})",
                fix="`dockyard image list` lists the images and their versions",
            )
        found["record"] = record = records.refresh(ws, record)
        where = records.location(record)
        return Step(
            "image",
            PASSED,
            f"image {records.image_id(record)} is recorded: {record.state}"
            + (f" ({where})" if where else ""),
        )

    def log_step() -> Step:
        return _build_log(found["record"])

    steps = run_steps([("image", image_step), ("build log", log_step)])
    what = f"{name}:{version}" if version is not None else name
    return DiagnosisReport(f"image {what}", steps)


def _build_log(record: ImageRecord) -> Step:
    path = Path(record.build_log_path) if record.build_log_path else None
    text = path.read_text(encoding="utf-8", errors="replace") if path and path.is_file() else ""
    shown = f"`dockyard image logs {records.image_id(record)}`"
    if record.state == SUCCEEDED:
        return Step("build log", PASSED, f"the build succeeded (the full log: {shown})")
    if record.state != BUILD_FAILED:
        return Step(
            "build log",
            SKIPPED,
            f"the build is {record.state}: nothing failed yet (follow it: {shown})",
        )
    steps_file = (record.spec.get("image_config") or {}).get("dockerFile") or (
        record.spec.get("inference") or {}
    ).get("extraDockerfileSteps")
    finding = scan(text, steps_file) if text else None
    if finding is None:
        return Step(
            "build log",
            FAILED,
            f"the build failed before its log says why: {record.error or 'no error recorded'}",
            evidence=f"build log: {path or 'none'}",
            fix="fix what the error names, then build again (Image.create, or `dockyard image "
            "create`)",
        )
    return Step(
        "build log",
        FAILED,
        f"{finding.finding} [{finding.cause}]",
        evidence=f"{finding.evidence}\n(the full log: {path})",
        fix=f"{finding.fix}; then build again (`dockyard image create ...`, Image.create)",
    )


__all__ = ["diagnose_image"]
