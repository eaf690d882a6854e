"""The azureml.* stand-ins inside the server, and real Azure packages winning over them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SHIM_USER = """
from azureml.core.model import Model
from azureml.core import Model as Model2
from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse
import azureml.core.model

def init():
    global path
    path = Model.get_model_path("iris")

@rawhttp
def run(request):
    return AMLResponse({"path": path, "same": Model is Model2, "module": azureml.core.model.__file__}, 200, json_str=True)
"""


def test_score_py_imports_azureml_without_azure_packages(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(SHIM_USER, files={"azureml-models/iris/3/model.pkl": "x"})
    body = server.get("/score").json()
    assert body["path"] == str(server.root / "azureml-models" / "iris" / "3" / "model.pkl")
    assert body["same"] is True
    assert "dockyard/server/compat" in body["module"]


def test_real_azureml_packages_win(start_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    real = tmp_path / "site"
    (real / "azureml" / "core").mkdir(parents=True)
    (real / "azureml" / "__init__.py").write_text(
        "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"
    )
    (real / "azureml" / "core" / "__init__.py").write_text("")
    (real / "azureml" / "core" / "model.py").write_text("class Model:\n    REAL = True\n")
    server = start_server(
        """
        from azureml.core.model import Model
        from azureml.contrib.services.aml_response import AMLResponse
        def init(): pass
        def run(data):
            return {"real": getattr(Model, "REAL", False)}
        """,
        env={"PYTHONPATH": str(real)},
    )
    # the real azureml.core wins; the missing azureml.contrib still comes from the stand-ins
    assert server.post("/score", content="x").json() == {"real": True}


def test_shims_are_not_importable_outside_the_server() -> None:
    code = "import dockyard.server.app\ntry:\n    import azureml.contrib.services\nexcept ImportError:\n    print('absent')\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "absent"
