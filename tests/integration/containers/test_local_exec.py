"""``service exec`` and ``service shell`` on a local service: the command runs in the service's
own environment (its virtual environment's ``sys.prefix``, ``VIRTUAL_ENV``, ``PATH``) at its
app root, with the variables the server gets; the shell opens there on a real terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from dockyard import Environment, InferenceConfig, LocalWebservice, Model, Webservice, Workspace
from dockyard.ops.services import services_root
from dockyard.targets.supervisor import SPEC_FILE
from dockyard.webservice import exec_in_service

from .conftest import on_terminal

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
name: toolsenv
dependencies:
  - python=3.11
  - pip:
      - azureml-defaults
      - joblib
"""


@pytest.fixture
def local_service(tmp_path: Path) -> Any:
    ws = Workspace.create("tools-local", path=str(tmp_path / "ws"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "score.py").write_text(SCORE)
    (project / "env.yml").write_text(ENV_YML)
    (project / "model.json").write_text(json.dumps({"factor": 3}))
    model = Model.register(ws, model_path=str(project / "model.json"), model_name="summer")
    env = Environment.from_conda_specification(name="toolsenv", file_path=str(project / "env.yml"))
    config = InferenceConfig(
        entry_script="score.py", source_directory=str(project), environment=env
    )
    service = Model.deploy(ws, "tools", [model], config, LocalWebservice.deploy_configuration())
    try:
        service.wait_for_deployment(timeout_sec=600)
        yield service
    finally:
        Webservice(ws, "tools").delete()


def test_exec_runs_in_the_services_environment_at_its_app_root(local_service: Any) -> None:
    ws = local_service.workspace
    deployment = json.loads((services_root(ws) / "tools" / SPEC_FILE).read_text())
    prefix = str(Path(deployment["python"]).parent.parent)
    assert prefix != sys.prefix and Path(prefix, "pyvenv.cfg").is_file()
    code, output = exec_in_service(
        local_service,
        ["python", "-c", "import os, sys; print(sys.prefix); print(os.getcwd()); "
         "print(os.environ['VIRTUAL_ENV']); print(os.environ['AZUREML_MODEL_DIR'])"],
    )  # fmt: skip
    assert code == 0, output
    lines = output.splitlines()
    assert lines[:3] == [prefix, deployment["app_root"], prefix]
    assert lines[3] == deployment["env"]["AZUREML_MODEL_DIR"]
    # the seed's model-path check, run where the service runs
    code, output = exec_in_service(
        local_service, ["python", "-c", "import azureml; print('stand-ins found')"]
    )
    assert (code, output.strip()) == (0, "stand-ins found")
    code, output = exec_in_service(local_service, "echo oops >&2; exit 5")
    assert (code, output) == (5, "oops\n")
    code, output = exec_in_service(local_service, ["no-such-program-here"])
    assert code == 127 and "command not found" in output


def test_the_shell_opens_in_the_environment_on_a_terminal(local_service: Any) -> None:
    ws = local_service.workspace
    deployment = json.loads((services_root(ws) / "tools" / SPEC_FILE).read_text())
    prefix = str(Path(deployment["python"]).parent.parent)
    code, text = on_terminal(
        ["shell", "tools", "-w", ws.path],
        b"python -c \"import sys; print('PREFIX=' + sys.prefix)\"; pwd; exit 4\n",
    )
    assert f"PREFIX={prefix}" in text, text
    assert deployment["app_root"] in text
    assert "shell in the environment of service 'tools'" in text
    assert code == 4
