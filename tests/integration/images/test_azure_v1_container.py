"""Azure ML v1's layout inside dockyard's images (issue 9, items 2 and 8).

* An MLOpsPython-style score.py (model name from ``AZUREML_MODEL_DIR.split('/')[1]``, then
  ``Model.get_model_path`` and ``joblib.load``) deploys on the container target and scores.
* The seed's debugging step works in the running container: ``docker exec`` and
  ``python -c "from azureml.core.model import Model; print(Model.get_model_path(...))"``
  finds dockyard's stand-in and the model; a real ``azureml`` package installed in the image wins.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import pytest

from dockyard import InferenceConfig, Model
from dockyard.webservice.container import AciWebservice

pytestmark = [pytest.mark.docker, pytest.mark.slow]

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
    return {"result": predictions, "model_name": model_name, "model_dir": os.environ["AZUREML_MODEL_DIR"]}
"""

ENV_YML = """\
name: mlops
dependencies:
  - python=3.11
  - pip:
      - azureml-defaults
      - joblib
"""

SAMPLE = json.dumps({"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]})
MODEL_FILE = "sklearn_regression_model.pkl"

# The seed's snippet ("Function fails: get_model_path()"), run with `docker exec`.
SEED_SNIPPET = (
    "from azureml.core.model import Model\n"
    "import logging\n"
    "logging.basicConfig(level=logging.DEBUG)\n"
    "print(Model.get_model_path(model_name='summer'))\n"
)


def _container(docker_client: Any, service: Any) -> Any:
    return docker_client.containers.get(service._target_status().details["container"])


def test_mlops_python_score_py_deploys_on_the_container_target_and_scores(
    ws: Any, workdir: Path, made: Any
) -> None:
    (workdir / "score.py").write_text(MLOPS_SCORE)
    (workdir / "myenv.yml").write_text(ENV_YML)
    joblib.dump({"coef": [1.0] * 10, "intercept": 0.5}, workdir / MODEL_FILE)
    model = Model.register(ws, model_path=MODEL_FILE, model_name="diabetes")
    inference = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    made["services"].append("mlops-aci")
    service = Model.deploy(
        ws, "mlops-aci", [model], inference, AciWebservice.deploy_configuration(memory_gb=0.5)
    )
    service.wait_for_deployment(timeout_sec=600)
    assert service.state == "Healthy", service.get_logs()
    body = service.run(SAMPLE)
    assert body == {
        "result": [55.5, 55.5],
        "model_name": "diabetes",
        "model_dir": "azureml-models/diabetes/1",
    }


def test_docker_exec_python_finds_the_stand_ins_and_the_model_and_real_azureml_wins(
    ws: Any, project: Path, made: Any, docker_client: Any
) -> None:
    """Item 8: the seed's debugging step in the running container, as the image's user."""
    model = Model.register(ws, model_path="model.json", model_name="summer")
    inference = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    made["services"].append("exec-aci")
    service = Model.deploy(
        ws, "exec-aci", [model], inference, AciWebservice.deploy_configuration(memory_gb=0.5)
    )
    service.wait_for_deployment(timeout_sec=600)
    container = _container(docker_client, service)
    code, out = container.exec_run(["python", "-c", SEED_SNIPPET], demux=True)
    stdout, stderr = (part.decode() if part else "" for part in out)
    assert code == 0, stderr
    assert stdout.strip() == "/var/azureml-app/azureml-models/summer/1/model.json"
    assert "Found model path at" in stderr  # the stand-in's DEBUG lines, as the seed expects
    code, out = container.exec_run(
        ["python3", "-c", "import azureml.core.model as m; print(m.__file__)"]
    )
    assert code == 0 and "/opt/dockyard-runtime/dockyard/server/compat/" in out.decode()

    # A real azureml package installed in the image wins over the stand-ins.
    site = container.exec_run(
        ["python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    ).output.decode()
    fake = (
        f"import os; site = {site.strip()!r}; os.makedirs(site + '/azureml/core', exist_ok=True)\n"
        "open(site + '/azureml/__init__.py', 'w').write('')\n"
        "open(site + '/azureml/core/__init__.py', 'w').write('')\n"
        "open(site + '/azureml/core/model.py', 'w').write('class Model:\\n    REAL = True\\n')\n"
    )
    code, out = container.exec_run(["python", "-c", fake], user="root")
    assert code == 0, out
    code, out = container.exec_run(
        ["python", "-c", "from azureml.core.model import Model; print(Model.REAL)"]
    )
    assert (code, out.decode().strip()) == (0, "True")
