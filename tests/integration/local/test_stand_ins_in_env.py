"""The seed's get_model_path debugging step in a local service's environment (issue 9, item 8).

Any ``python`` of the environment dockyard built for a service finds the ``azureml`` stand-ins
(a ``.pth`` file appends them after site-packages), so
``python -c "from azureml.core.model import Model; print(Model.get_model_path(...))"`` run in the
app root answers as in a deployment; a real ``azureml`` package installed in it wins.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard import Environment, InferenceConfig, LocalWebservice, Model, Workspace
from dockyard.builders import runtime
from dockyard.ops.services import services_root
from dockyard.targets.supervisor import SPEC_FILE

pytestmark = pytest.mark.slow

SCORE = """
import json, os
def init():
    global factor
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.json")) as f:
        factor = json.load(f)["factor"]
def run(raw_data):
    return {"factor": factor}
"""

ENV_YML = """\
name: standins
dependencies:
  - python=3.11
  - pip:
      - azureml-defaults
      - joblib
"""

SEED_SNIPPET = (
    "from azureml.core.model import Model\n"
    "import logging\n"
    "logging.basicConfig(level=logging.DEBUG)\n"
    "print(Model.get_model_path(model_name='summer'))\n"
)


def _python(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # a user's shell: none of the service's variables
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AML_", "AZUREML_"))}
    env.pop("PYTHONPATH", None)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_python_of_a_local_services_environment_finds_the_stand_ins(
    ws: Workspace, tmp_path: Path, services: list[str]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "score.py").write_text(SCORE)
    (project / "env.yml").write_text(ENV_YML)
    (project / "model.json").write_text(json.dumps({"factor": 3}))
    model = Model.register(ws, model_path=str(project / "model.json"), model_name="summer")
    env = Environment.from_conda_specification(name="standins", file_path=str(project / "env.yml"))
    config = InferenceConfig(
        entry_script="score.py", source_directory=str(project), environment=env
    )
    service = Model.deploy(ws, "standins", [model], config, LocalWebservice.deploy_configuration())
    services.append(service.name)
    service.wait_for_deployment(timeout_sec=600)
    assert service.run(json.dumps({})) == {"factor": 3}

    deployment = json.loads((services_root(ws) / "standins" / SPEC_FILE).read_text())
    python, app_root = deployment["python"], Path(deployment["app_root"])
    # the venv built for the service, not dockyard's own interpreter
    assert python != sys.executable and (Path(python).parent.parent / "pyvenv.cfg").is_file()
    done = _python([python, "-c", SEED_SNIPPET], app_root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "azureml-models/summer/1/model.json"  # relative, as azureml-core
    assert "Found model path at" in done.stderr

    # A real azureml package installed in the environment wins over the stand-ins.
    site = runtime.site_packages(Path(python).parent.parent)
    (site / "azureml" / "core").mkdir(parents=True)
    (site / "azureml" / "__init__.py").write_text("")
    (site / "azureml" / "core" / "__init__.py").write_text("")
    (site / "azureml" / "core" / "model.py").write_text("class Model:\n    REAL = True\n")
    done = _python(
        [python, "-c", "from azureml.core.model import Model; print(Model.REAL)"], app_root
    )
    assert (done.returncode, done.stdout.strip()) == (0, "True"), done.stderr
