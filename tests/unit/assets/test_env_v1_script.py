"""A v1 (azureml.core) environment script runs after changing only its import lines."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

V1_SCRIPT = """
from azureml.core import Workspace
from azureml.core.environment import Environment
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.model import InferenceConfig

ws = Workspace.from_config()

# Usually a good idea to choose specific version numbers
# so training is made on same packages as scoring
myenv = CondaDependencies.create(conda_packages=['numpy==1.15.4',
                            'scikit-learn==0.19.1', 'pandas==0.23.4'],
                             pip_packages = ['azureml-defaults==1.0.17', 'ptvsd'])

with open("myenv.yml","w") as f:
    f.write(myenv.serialize_to_string())

env = Environment.from_conda_specification(name="env", file_path="myenv.yml")
env.python.conda_dependencies.add_pip_package("joblib")
env.python.conda_dependencies.add_channel("conda-forge")
env.docker.base_image = "mcr.microsoft.com/azureml/base:intelmpi2018.3-ubuntu16.04"
env.environment_variables = {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}
env.inferencing_stack_version = "latest"
registered = env.register(workspace=ws)
print("registered", registered.name, registered.version)
print("again", env.register(workspace=ws).version)

fetched = Environment.get(workspace=ws, name="env")
inference_config = InferenceConfig(entry_script="score.py", environment=fetched)
legacy_config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml")

for name, e in Environment.list(workspace=ws).items():
    print("listed", name, e.version)
print("view", ws.environments["env"].version)
print("pip", list(fetched.python.conda_dependencies.pip_packages))
print("legacy", legacy_config.environment.python.conda_dependencies.pip_packages)
"""


def port(script: str) -> str:
    """The only change a user makes: the import lines."""
    return re.sub(
        r"^from azureml\.core(\.\w+)* import ", "from dockyard import ", script, flags=re.M
    )


def test_v1_script_runs_with_only_imports_changed(workdir: Path) -> None:
    (workdir / ".azureml").mkdir()
    (workdir / ".azureml" / "config.json").write_text(
        json.dumps({"subscription_id": "sub", "resource_group": "rg", "workspace_name": "v1ws"})
    )
    (workdir / "score.py").write_text(
        "def init():\n    pass\n\n\ndef run(data):\n    return data\n"
    )
    ported = port(V1_SCRIPT)
    assert "azureml" not in ported.replace("azureml-defaults", "").replace("azureml/base", "")
    out = subprocess.run(
        [sys.executable, "-c", ported], cwd=workdir, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "registered env 1" in lines
    assert "again 1" in lines
    assert "listed env 1" in lines
    assert "view 1" in lines
    assert "pip ['azureml-defaults==1.0.17', 'ptvsd', 'joblib']" in lines
    assert "legacy ['azureml-defaults==1.0.17', 'ptvsd']" in lines
