"""Lay out an app root the way Azure ML lays out ``/var/azureml-app``.

::

    <app_root>/
      azureml-models/<model name>/<version>/<the model's files>
      <source dir name>/...            (the InferenceConfig's source_directory, copied)
      score.py                         (or the entry script alone, when there is no source dir)

``AZUREML_MODEL_DIR`` is ``azureml-models/<name>/<version>`` when one model is deployed and
``azureml-models`` when several (or none) are: Azure ML v1's values, relative to the app root, which
is the server's working directory on every target (scripts such as MLOpsPython's take
``AZUREML_MODEL_DIR.split('/')[1]`` as the model name). Model files are hard-linked from
the workspace's read-only blob store (verified once, when linked) and copied where a link is not
possible (another filesystem). Linked files stay read-only, so a script that writes into its model
folder cannot damage the registry.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.builders.specs import ModelSpec
from dockyard.errors import IntegrityError, UserError
from dockyard.server import contract
from dockyard.store.layout import WORKSPACE_ENTRIES, WORKSPACE_FILE

MODELS_DIR = "azureml-models"
_CHUNK = 1024 * 1024
_JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".git", ".ipynb_checkpoints")


def is_workspace_folder(path: Path) -> bool:
    """Is ``path`` a dockyard workspace (its registry, blobs and services)?"""
    return (path / WORKSPACE_FILE).is_file() and (path / "blobs").is_dir()


def source_ignore(directory: str, names: list[str]) -> set[str]:
    """What a source directory's copy leaves out: caches, ``.git``, any dockyard workspace inside
    it, and a workspace's own entries when the folder is one (a workspace created in the project
    folder holds the very app roots being laid out, and the model store)."""
    skipped = set(_JUNK(directory, names))
    if is_workspace_folder(Path(directory)):
        skipped.update(n for n in names if n in WORKSPACE_ENTRIES)
    skipped.update(n for n in names if n not in skipped and is_workspace_folder(Path(directory, n)))
    return skipped


@dataclass(frozen=True)
class AppRoot:
    """A laid-out app root and the environment variables the scoring server needs for it."""

    path: Path
    entry_script: str  # relative to the app root
    source_directory: str | None  # relative to the app root
    model_dir: Path  # absolute: path / model_dir_value
    #: ``AZUREML_MODEL_DIR`` as Azure ML v1 sets it: relative to the app root.
    model_dir_value: str = MODELS_DIR

    def environment(self) -> dict[str, str]:
        """Variables for a server started in ``path`` (its working directory)."""
        env = {
            contract.APP_ROOT_ENV: str(self.path),
            contract.ENTRY_SCRIPT_ENV: self.entry_script,
            contract.MODEL_DIR_ENV: self.model_dir_value,
        }
        if self.source_directory:
            env[contract.SOURCE_DIRECTORY_ENV] = self.source_directory
        return env


@dataclass
class LayoutReport:
    linked: int = 0
    copied: int = 0
    verified_bytes: int = 0
    notes: list[str] = field(default_factory=list)


def model_dir_value(models: list[ModelSpec] | tuple[ModelSpec, ...]) -> str:
    """``AZUREML_MODEL_DIR`` as Azure ML v1 sets it, relative to the app root (``/`` separators):
    ``azureml-models/<name>/<version>`` for one model, ``azureml-models`` for several."""
    if len(models) == 1:
        return f"{MODELS_DIR}/{models[0].name}/{models[0].version}"
    return MODELS_DIR


def model_dir_for(app_root: Path, models: list[ModelSpec] | tuple[ModelSpec, ...]) -> Path:
    """The absolute folder ``AZUREML_MODEL_DIR`` names inside ``app_root``."""
    return app_root / model_dir_value(models)


def place_models(app_root: Path, models: list[ModelSpec] | tuple[ModelSpec, ...]) -> LayoutReport:
    """Link (or copy) every model file under ``app_root/azureml-models``; verify each blob once."""
    report = LayoutReport()
    for model in models:
        target_base = app_root / MODELS_DIR / model.name / str(model.version)
        for file in model.files:
            rel = Path(file.relative_path)
            if rel.is_absolute() or ".." in rel.parts:
                raise UserError(
                    f"Model {model.name}:{model.version} has an unsafe file path {file.relative_path!r}"
                )
            dest = target_base / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            _verify_blob(model, file.blob_path, file.sha256)
            report.verified_bytes += file.size
            if dest.exists():
                dest.unlink()
            try:
                os.link(file.blob_path, dest)
                report.linked += 1
            except OSError:
                shutil.copyfile(file.blob_path, dest)
                os.chmod(dest, 0o444)
                report.copied += 1
    if report.copied:
        report.notes.append(
            f"{report.copied} model file(s) copied: the blob store is on another filesystem"
        )
    return report


def _verify_blob(model: ModelSpec, blob: Path, sha256: str) -> None:
    digest = hashlib.sha256()
    try:
        with open(blob, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        raise IntegrityError(
            f"Model {model.name}:{model.version}: stored file {blob} is missing",
            hint="run `dockyard workspace verify`, then register the model again",
        ) from None
    if digest.hexdigest() != sha256:
        raise IntegrityError(
            f"Model {model.name}:{model.version}: stored file {blob} is damaged (sha256 mismatch)",
            hint="run `dockyard workspace verify`, then register the model again",
        )


def place_source(
    app_root: Path, entry_script: Path, source_directory: Path | None
) -> tuple[str, str | None]:
    """Copy the source directory (or the entry script alone) into the app root.

    Returns the entry script and the source directory, relative to the app root. Earlier copies
    are replaced, so this doubles as the "reload" step.
    """
    if source_directory is not None:
        if not source_directory.is_dir():
            raise UserError(
                f"Source directory {source_directory} does not exist",
                hint="fix InferenceConfig(source_directory=...)",
            )
        try:
            script_rel = entry_script.resolve().relative_to(source_directory.resolve())
        except ValueError:
            raise UserError(
                f"Entry script {entry_script} is not inside the source directory {source_directory}",
                hint="give entry_script relative to source_directory",
            ) from None
        name = source_directory.resolve().name or "src"
        dest = app_root / name
        tmp = app_root / f".{name}.incoming"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source_directory, tmp, ignore=source_ignore, symlinks=False)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
        return str(Path(name) / script_rel), name
    if not entry_script.is_file():
        raise UserError(
            f"Entry script {entry_script} does not exist",
            hint="fix InferenceConfig(entry_script=...)",
        )
    tmp = app_root / f".{entry_script.name}.incoming"
    shutil.copyfile(entry_script, tmp)
    tmp.replace(app_root / entry_script.name)
    return entry_script.name, None


def lay_out(
    app_root: Path,
    models: list[ModelSpec] | tuple[ModelSpec, ...],
    entry_script: Path,
    source_directory: Path | None = None,
) -> tuple[AppRoot, LayoutReport]:
    """Create ``app_root`` with the models and the scripts; return it with a report."""
    app_root.mkdir(parents=True, exist_ok=True)
    report = place_models(app_root, models)
    script_rel, source_rel = place_source(app_root, entry_script, source_directory)
    return (
        AppRoot(
            path=app_root,
            entry_script=script_rel,
            source_directory=source_rel,
            model_dir=model_dir_for(app_root, models),
            model_dir_value=model_dir_value(models),
        ),
        report,
    )
