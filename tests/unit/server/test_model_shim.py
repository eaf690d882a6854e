"""The azureml.core.model shim: Model.get_model_path follows azureml-core's rules in a deployment."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from dockyard.server.compat.azureml.core.model import Model
from dockyard.server.compat.azureml.exceptions import ModelNotFoundException, WebserviceException


@pytest.fixture
def app_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    files = {
        "azureml-models/iris/1/model.joblib": "v1",
        "azureml-models/iris/2/model.joblib": "v2",
        "azureml-models/iris/10/model.joblib": "v10",
        "azureml-models/two/1/a.txt": "a",
        "azureml-models/two/1/b.txt": "b",
        "azureml-models/folder/3/weights/w.bin": "w",
        "local.pkl": "x",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setenv("AML_APP_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_latest_version_is_the_highest_number(app_root: Path) -> None:
    assert Model.get_model_path("iris") == os.path.join(
        app_root, "azureml-models", "iris", "10", "model.joblib"
    )


def test_explicit_version(app_root: Path) -> None:
    assert Model.get_model_path("iris", version=2).endswith(
        os.path.join("iris", "2", "model.joblib")
    )


def test_a_folder_model_returns_the_folder(app_root: Path) -> None:
    assert Model.get_model_path("folder") == os.path.join(
        app_root, "azureml-models", "folder", "3", "weights"
    )


def test_one_entry_rule(app_root: Path) -> None:
    with pytest.raises(WebserviceException, match=r"can contain only 1 file or folder\. Found"):
        Model.get_model_path("two")


def test_fallback_to_the_working_directory(app_root: Path) -> None:
    assert Model.get_model_path("local.pkl") == "local.pkl"


def test_not_found_names_the_paths_and_lists_the_folder(app_root: Path) -> None:
    with pytest.raises(ModelNotFoundException) as info:
        Model.get_model_path("nope")
    message = str(info.value)
    assert message.startswith(
        f"Model nope not found in cache at {app_root}/azureml-models or in current working directory"
    )
    assert os.path.join(app_root, "azureml-models", "nope") in message
    assert "model.joblib" in message  # the listing of what is there


def test_missing_version_is_a_webservice_exception(app_root: Path) -> None:
    with pytest.raises(WebserviceException, match="Model iris not found"):
        Model.get_model_path("iris", version=5)


def test_version_must_be_an_int(app_root: Path) -> None:
    with pytest.raises(WebserviceException, match="version should be an int"):
        Model.get_model_path("iris", version="2")  # type: ignore[arg-type]


def test_debug_logging_shows_every_candidate(
    app_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG), pytest.raises(ModelNotFoundException):
        Model.get_model_path("nope")
    probes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Probing")]
    assert probes == [f"Probing {app_root}/azureml-models/nope", f"Probing {app_root}/nope"]


def test_model_objects_need_a_workspace() -> None:
    with pytest.raises(WebserviceException, match="get_model_path"):
        Model("ws", "name")
