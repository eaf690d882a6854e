"""The SDK's run() errors on the container target too (issue 9 items 4 and 12): a 500 names its
request id and ``get_logs(request_id=...)`` prints that request's traceback from the container's
log; run() on a crash-looping container fails at once with the state and the traceback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from dockyard import AciWebservice, InferenceConfig, Model
from dockyard.errors import WebserviceException

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SCORE = """\
def init():
    print("ready")

def run(data):
    print("scoring", data)
    if "boom" in data:
        raise ValueError("boom in the container")
    return {"echo": data}
"""


def test_container_run_errors_name_the_request_and_the_state(
    ws: Any, project: Path, made: Any
) -> None:
    Path("score.py").write_text(SCORE)
    model = Model.register(ws, model_path="model.json", model_name="summer")
    inference = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    made["services"].append("boomer")
    service = Model.deploy(ws, "boomer", [model], inference, AciWebservice.deploy_configuration())
    service.wait_for_deployment(timeout_sec=120)
    assert service.run("hello") == {"echo": "hello"}
    with pytest.raises(WebserviceException) as info:
        service.run("boom")
    request_id = info.value.request_id
    assert request_id and f"\nRequest id: {request_id}\n" in str(info.value)
    assert f"service.get_logs(request_id={request_id!r})" in (info.value.hint or "")
    deadline = time.monotonic() + 10
    logs = ""
    while time.monotonic() < deadline and "ValueError" not in logs:
        logs = service.get_logs(request_id=request_id)
        time.sleep(0.2)
    assert "ValueError: boom in the container" in logs and "scoring boom" in logs
    assert "scoring hello" not in logs

    # a crash-looping container: run() fails at once with the state and the traceback
    Path("score.py").write_text(
        "def init():\n    raise ValueError('model file is corrupt: xyzzy')\n"
        "def run(data):\n    return data\n"
    )
    made["services"].append("crashrun")
    crashy = Model.deploy(ws, "crashrun", [model], inference, AciWebservice.deploy_configuration())
    with pytest.raises(WebserviceException):
        crashy.wait_for_deployment(timeout_sec=120)
    started = time.monotonic()
    with pytest.raises(WebserviceException) as info:
        crashy.run("hello")
    assert time.monotonic() - started < 5
    assert info.value.state == "CrashLoopBackOff"
    assert "xyzzy" in str(info.value)
    assert "service.update(inference_config=" in (info.value.hint or "")
