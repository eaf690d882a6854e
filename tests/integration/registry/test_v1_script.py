"""A v1 Azure ML script runs after changing only its import lines (acceptance test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

V1_SCRIPT = textwrap.dedent(
    """
    # from azureml.core import Workspace, Environment
    # from azureml.core.model import Model
    # from azureml.core.conda_dependencies import CondaDependencies
    from dockyard import Workspace, Environment, Model, CondaDependencies

    ws = Workspace.from_config()
    print(ws.name, ws.subscription_id, ws.resource_group, sep="\\t")

    model = Model.register(model_path="sklearn_regression_model.pkl",
                           model_name="sklearn_regression_model",
                           tags={'area': "diabetes", 'type': "regression"},
                           description="Ridge regression model to predict diabetes",
                           workspace=ws)
    print(model.name, model.description, model.version, sep="\\t")

    outputs = Model.register(workspace=ws, model_path="outputs", model_name="folder_model")
    for m in Model.list(ws, tags=[["area", "diabetes"]]):
        print("listed", m.name, m.version, sep="\\t")

    myenv = Environment.from_conda_specification(name="myenv", file_path="myenv.yml")
    conda = CondaDependencies.create(conda_packages=["scikit-learn"], pip_packages=["joblib"])
    print("env", myenv.name, "joblib" in conda.serialize_to_string(), sep="\\t")
    print("path", Model.get_model_path("sklearn_regression_model", _workspace=ws), sep="\\t")
    """
)


def test_a_v1_script_runs_with_only_its_imports_changed(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".azureml").mkdir(parents=True)
    (project / ".azureml" / "config.json").write_text(
        json.dumps(
            {"subscription_id": "0000-1111", "resource_group": "ml-rg", "workspace_name": "ported"}
        )
    )
    (project / "sklearn_regression_model.pkl").write_bytes(b"ridge model")
    (project / "outputs").mkdir()
    (project / "outputs" / "w.bin").write_bytes(b"w")
    (project / "myenv.yml").write_text(
        "name: myenv\ndependencies:\n  - python=3.11\n  - pip:\n    - numpy\n"
    )
    (project / "score_v1.py").write_text(V1_SCRIPT)
    result = subprocess.run(
        [sys.executable, "score_v1.py"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.strip().splitlines()]
    assert lines[0] == ["ported", "0000-1111", "ml-rg"]
    assert lines[1] == [
        "sklearn_regression_model",
        "Ridge regression model to predict diabetes",
        "1",
    ]
    assert ["listed", "sklearn_regression_model", "1"] in lines
    assert not any(line[:2] == ["listed", "folder_model"] for line in lines)
    assert ["env", "myenv", "True"] in lines
    path_line = next(line for line in lines if line[0] == "path")
    assert Path(path_line[1]).read_bytes() == b"ridge model"
