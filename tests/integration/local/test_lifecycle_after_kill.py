"""Lifecycle calls after processes of a local service were killed: nothing hangs, every call
either brings the service up on what was asked for or fails within seconds naming the fix."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from dockyard import InferenceConfig, Model, Webservice, Workspace
from tests.integration.local.helpers import holders_of_port, script_folder

pytestmark = pytest.mark.slow

SCORE = """
import os
from azureml.core.model import Model

def init():
    global text
    text = open(Model.get_model_path("weights")).read()

def run(data):
    return {"model": text}
"""


@pytest.fixture
def models(ws: Workspace, tmp_path: Path) -> list[Model]:
    registered = []
    for content in ("v1-weights", "v2-weights"):
        path = tmp_path / f"{content}.txt"
        path.write_text(content)
        registered.append(Model.register(ws, model_path=str(path), model_name="weights"))
    return registered


@pytest.fixture
def inference_config(tmp_path: Path) -> InferenceConfig:
    src = script_folder(tmp_path / "src", SCORE)
    return InferenceConfig(entry_script="score.py", source_directory=str(src))


def kill_everything_holding(port: int) -> list[int]:
    victims = holders_of_port(port)
    assert victims, f"nothing holds port {port}"
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while holders_of_port(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    return victims


def score(service: Webservice) -> str:
    return str(httpx.post(service.scoring_uri or "", content="x", timeout=30).json()["model"])


def test_update_after_every_process_was_killed_serves_the_new_version(
    ws, models, inference_config, services
) -> None:  # type: ignore[no-untyped-def]
    service = Model.deploy(ws, "afterkill", [models[0]], inference_config)
    services.append("afterkill")
    service.wait_for_deployment()
    assert score(service) == "v1-weights"
    kill_everything_holding(service.port)

    started = time.monotonic()
    service.update(models=[models[1]])
    assert time.monotonic() - started < 60
    assert score(service) == "v2-weights"
    assert service.state == "Healthy"


@pytest.mark.parametrize("call", ["reload", "stop-start", "delete"])
def test_lifecycle_calls_after_every_process_was_killed(
    ws, models, inference_config, services, call: str
) -> None:  # type: ignore[no-untyped-def]
    service = Model.deploy(ws, f"killed-{call}", [models[0]], inference_config)
    services.append(f"killed-{call}")
    service.wait_for_deployment()
    port = service.port
    kill_everything_holding(port)
    started = time.monotonic()
    if call == "reload":
        service.reload()
        assert score(service) == "v1-weights"
    elif call == "stop-start":
        service.stop()
        assert service.state == "Stopped"
        service.start()
        service.wait_for_deployment(timeout_sec=60)
        assert score(service) == "v1-weights"
    else:
        service.delete()
        assert not holders_of_port(port)
        with pytest.raises(Exception, match="afterkill|killed-delete"):
            Webservice(ws, f"killed-{call}")
    assert time.monotonic() - started < 60
