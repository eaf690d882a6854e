"""A local service whose start failed answers its port at once (503, Retry-After, the state and the
command that shows why), also while a back-off retry runs init() again; nothing hangs."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from dockyard import InferenceConfig, Model, Webservice, Workspace
from tests.integration.local.helpers import run_cli, script_folder

pytestmark = pytest.mark.slow

FAILING = """
import time

def init():
    time.sleep(1.0)  # a back-off retry spends this long in init() before failing again
    raise RuntimeError("the model file is corrupt")

def run(data):
    return "never"
"""


@pytest.fixture
def deployed(ws: Workspace, tmp_path: Path, services: list[str]) -> Webservice:
    path = tmp_path / "model.txt"
    path.write_text("weights")
    model = Model.register(ws, model_path=str(path), model_name="broken")
    src = script_folder(tmp_path / "src", FAILING)
    config = InferenceConfig(entry_script="score.py", source_directory=str(src))
    services.append("crashport")
    return Model.deploy(ws, "crashport", [model], config)


def test_crash_looping_service_answers_503_at_once_while_retries_run(deployed, ws) -> None:  # type: ignore[no-untyped-def]
    service = deployed
    deadline = time.monotonic() + 60
    while service.state != "CrashLoopBackOff":
        assert time.monotonic() < deadline, service.state
        time.sleep(0.1)
    # Sample for a while: across back-off waits and retries whose init() runs again.
    seen = []
    end = time.monotonic() + 6
    while time.monotonic() < end:
        sent = time.monotonic()
        response = httpx.post(service.scoring_uri or "", content="x", timeout=20)
        seen.append((response.status_code, time.monotonic() - sent, response))
        time.sleep(0.1)
    assert {status for status, _, _ in seen} == {503}
    assert max(elapsed for _, elapsed, _ in seen) < 1.0
    last = seen[-1][2]
    assert int(last.headers["retry-after"]) >= 1
    body = last.json()
    assert body["state"] == "CrashLoopBackOff"
    assert "dockyard service logs crashport" in body["message"]
    # the command it names works and shows why
    shown = run_cli(ws, "service", "logs", "crashport", timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "RuntimeError: the model file is corrupt" in shown.stdout
