"""``dockyard diagnose SERVICE`` on a container service (real engine): a crash-looping container
shows init()'s traceback in the user's own file (not ``/var/azureml-app``), with a fix for a
target that cannot reload; a healthy one passes every step and is left as it was."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import dockyard
from dockyard import InferenceConfig, Model, Webservice
from dockyard.ops import records
from dockyard.webservice.container import AciWebservice

from .conftest import test_sample

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _deploy(ws: Any, name: str) -> Webservice:
    model = Model.register(ws, model_path="model.json", model_name="summer")
    inference = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    config = AciWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=0.5, auth_enabled=False)
    return Model.deploy(ws, name, [model], inference, config, overwrite=True)


def test_a_crash_looping_container_is_diagnosed_in_the_users_file(
    ws: Any, project: Path, made: Any
) -> None:
    score = project / "score.py"
    healthy = score.read_text()
    score.write_text(healthy.replace("    global model\n", '    raise RuntimeError("no forecast model")\n', 1))  # fmt: skip
    made["services"].append("boxed")
    service = _deploy(ws, "boxed")
    deadline = time.monotonic() + 180
    while service.state not in ("CrashLoopBackOff", "Failed"):
        assert time.monotonic() < deadline, (service.state, service.error)
        time.sleep(1)

    report = dockyard.diagnose(ws, "boxed")
    failed = report.failed
    assert failed is not None and failed.step == "state", report
    assert "RuntimeError: no forecast model" in failed.finding
    assert f'File "{score.resolve()}", line 6, in init' in failed.evidence, failed.evidence
    assert "/var/azureml-app" not in failed.evidence
    assert "dockyard service update boxed" in failed.fix  # a container service is not reloaded

    score.write_text(healthy)  # the fix, rolled out as the finding says
    inference = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    service.update(inference_config=inference)
    service.wait_for_deployment(timeout_sec=300)
    assert service.run(test_sample) == {"version": 1, "result": [110, 110]}
    before = (Webservice(ws, "boxed").serialize(), len(records.events(ws, "boxed")))
    report = dockyard.diagnose(ws, "boxed")
    assert report.ok, report
    assert [s.step for s in report.steps] == ["port", "state", "readiness", "errors", "overload"]
    assert (Webservice(ws, "boxed").serialize(), len(records.events(ws, "boxed"))) == before
