"""An MLOpsPython-style score.py on the local target (issue 9, item 2).

microsoft/MLOpsPython's ``diabetes_regression/scoring/score.py`` takes the model name from
``os.getenv("AZUREML_MODEL_DIR").split('/')[1]``: Azure ML v1 sets ``azureml-models/<name>/<version>``
(``azureml-models`` for several models) with the app root as the working directory. The script
below does the same, then ``Model.get_model_path(name)`` and ``joblib.load``.
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pytest

from dockyard import InferenceConfig, LocalWebservice, Model, Workspace
from tests.integration.local.helpers import script_folder

pytestmark = pytest.mark.slow

# Written for this test in the shape of MLOpsPython's scoring script.
MLOPS_SCORE = """
import json, os
import joblib
from azureml.core.model import Model


def init():
    global model, model_name
    # AZUREML_MODEL_DIR is azureml-models/<name>/<version> in an Azure ML v1 deployment
    model_name = os.getenv("AZUREML_MODEL_DIR").split("/")[1]
    model = joblib.load(Model.get_model_path(model_name))


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    predictions = [sum(c * x for c, x in zip(model["coef"], row)) + model["intercept"] for row in rows]
    return {
        "result": predictions,
        "model_name": model_name,
        "model_dir": os.environ["AZUREML_MODEL_DIR"],
        "entry_script": os.environ["AZUREML_ENTRY_SCRIPT"],
    }
"""

SAMPLE = json.dumps({"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]})


def register_regression(ws: Workspace, folder: Path, intercept: float) -> Model:
    """A 'diabetes' model saved with joblib, as the MLOpsPython training step registers it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sklearn_regression_model.pkl"
    joblib.dump({"coef": [1.0] * 10, "intercept": intercept}, path)
    return Model.register(ws, model_path=str(path), model_name="diabetes")


def test_mlops_python_score_py_deploys_and_scores_locally(
    ws: Workspace, tmp_path: Path, services: list[str]
) -> None:
    project = script_folder(tmp_path / "scoring", MLOPS_SCORE)
    model = register_regression(ws, tmp_path / "m1", 0.5)
    config = InferenceConfig(entry_script="score.py", source_directory=str(project))
    service = Model.deploy(ws, "mlops-v1", [model], config, LocalWebservice.deploy_configuration())
    services.append(service.name)
    service.wait_for_deployment(timeout_sec=120)
    assert service.state == "Healthy", service.get_logs()
    body = service.run(SAMPLE)
    assert body["result"] == [55.5, 55.5]
    assert body["model_name"] == "diabetes"
    assert body["model_dir"] == "azureml-models/diabetes/1"
    assert body["entry_script"] == "scoring/score.py"  # relative to the app root, as on Azure

    # A new version: the script sees its folder, still relative
    model2 = register_regression(ws, tmp_path / "m2", 2.0)
    service.update(models=[model2])
    body = service.run(SAMPLE)
    assert body["result"] == [57.0, 57.0] and body["model_dir"] == "azureml-models/diabetes/2"
