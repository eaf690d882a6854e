"""The app-root layout: Azure's folders, AZUREML_MODEL_DIR's rule, linking and verification."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from dockyard.builders.app_root import lay_out
from dockyard.builders.specs import ModelFileSpec, ModelSpec
from dockyard.errors import IntegrityError, UserError


def _blob(tmp: Path, data: bytes) -> tuple[Path, str]:
    sha = hashlib.sha256(data).hexdigest()
    path = tmp / "blobs" / sha
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o444)
    return path, sha


def _model(tmp: Path, name: str, version: int, files: dict[str, bytes]) -> ModelSpec:
    specs = []
    for rel, data in files.items():
        path, sha = _blob(tmp, data)
        specs.append(ModelFileSpec(relative_path=rel, blob_path=path, sha256=sha, size=len(data)))
    return ModelSpec(name=name, version=version, files=tuple(specs))


@pytest.fixture
def script(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "score.py").write_text("def init(): pass\ndef run(d): return d\n")
    (src / "pkg" / "helper.py").write_text("X = 1\n")
    return src


def test_one_model_gets_its_version_folder(tmp_path: Path, script: Path) -> None:
    model = _model(tmp_path, "diabetes", 3, {"model.pkl": b"weights"})
    app, report = lay_out(tmp_path / "app", [model], script / "score.py", script)
    assert app.model_dir == tmp_path / "app" / "azureml-models" / "diabetes" / "3"
    assert (app.model_dir / "model.pkl").read_bytes() == b"weights"
    assert report.linked == 1
    env = app.environment()
    # Azure ML v1's relative form (the server runs in the app root); model_dir is absolute
    assert env["AZUREML_MODEL_DIR"] == "azureml-models/diabetes/3"
    assert (app.path / env["AZUREML_MODEL_DIR"]) == app.model_dir
    assert env["AZUREML_ENTRY_SCRIPT"] == "src/score.py"
    assert env["AZUREML_SOURCE_DIRECTORY"] == "src"
    assert (tmp_path / "app" / "src" / "pkg" / "helper.py").exists()


def test_several_models_share_the_models_folder(tmp_path: Path, script: Path) -> None:
    a = _model(tmp_path, "a", 1, {"a.bin": b"a"})
    b = _model(tmp_path, "b", 2, {"outputs/b.bin": b"b"})
    app, _ = lay_out(tmp_path / "app", [a, b], script / "score.py", None)
    assert app.model_dir == tmp_path / "app" / "azureml-models"
    assert app.environment()["AZUREML_MODEL_DIR"] == "azureml-models"
    assert (app.model_dir / "b" / "2" / "outputs" / "b.bin").read_bytes() == b"b"
    assert app.entry_script == "score.py" and app.source_directory is None


def test_linked_model_files_cannot_be_written(tmp_path: Path, script: Path) -> None:
    model = _model(tmp_path, "m", 1, {"model.pkl": b"weights"})
    app, _ = lay_out(tmp_path / "app", [model], script / "score.py", script)
    target = app.model_dir / "model.pkl"
    assert not os.access(target, os.W_OK) or os.geteuid() == 0
    assert target.stat().st_mode & 0o222 == 0


def test_a_damaged_blob_is_refused(tmp_path: Path, script: Path) -> None:
    model = _model(tmp_path, "m", 1, {"model.pkl": b"weights"})
    blob = model.files[0].blob_path
    blob.chmod(0o644)
    blob.write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="damaged"):
        lay_out(tmp_path / "app", [model], script / "score.py", script)


def test_missing_script_and_script_outside_source_dir(tmp_path: Path, script: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        lay_out(tmp_path / "app", [], tmp_path / "nope.py", None)
    outside = tmp_path / "other.py"
    outside.write_text("")
    with pytest.raises(UserError, match="not inside the source directory"):
        lay_out(tmp_path / "app", [], outside, script)


def test_relayout_replaces_the_old_source(tmp_path: Path, script: Path) -> None:
    lay_out(tmp_path / "app", [], script / "score.py", script)
    (script / "score.py").write_text("VERSION = 2\n")
    lay_out(tmp_path / "app", [], script / "score.py", script)
    assert (tmp_path / "app" / "src" / "score.py").read_text() == "VERSION = 2\n"
