"""Azure ML v1's AZUREML_MODEL_DIR values and the stand-ins line of the image's .pth file."""

from __future__ import annotations

from pathlib import Path

from dockyard.builders.app_root import model_dir_for, model_dir_value
from dockyard.builders.dockerfile import RUNTIME_DIR, render_dockerfile
from dockyard.builders.specs import ModelSpec


def _model(name: str, version: int) -> ModelSpec:
    return ModelSpec(name=name, version=version, files=())


def test_model_dir_value_is_relative_as_azure_ml_v1_sets_it() -> None:
    one = model_dir_value([_model("diabetes", 3)])
    assert one == "azureml-models/diabetes/3"
    assert one.split("/")[1] == "diabetes"  # MLOpsPython's model name
    assert model_dir_value([_model("a", 1), _model("b", 2)]) == "azureml-models"
    assert model_dir_value([]) == "azureml-models"
    root = Path("/srv/app")
    assert model_dir_for(root, [_model("diabetes", 3)]) == root / "azureml-models/diabetes/3"


def test_image_pth_appends_the_runtime_then_the_stand_ins() -> None:
    text = render_dockerfile(
        base_image="base",
        network=False,
        user_wheels=(),
        runtime_wheel="w.whl",
        has_models=False,
        steps="",
        environment={"AZUREML_MODEL_DIR": "azureml-models"},
        labels={},
        command=["python", "-m", "dockyard.server"],
    )
    pth_line = next(line for line in text.splitlines() if "zz_dockyard_runtime.pth" in line)
    assert f"'{RUNTIME_DIR}\\n{RUNTIME_DIR}/dockyard/server/compat\\n'" in pth_line
    assert 'ENV AZUREML_MODEL_DIR="azureml-models"' in text
