"""The seed's "debug locally" story on the real local target (supervised server processes).

Each test deploys real scoring servers on 127.0.0.1 and deletes them at the end. No environment
is given, so the server runs in this interpreter (the fast path); environment builds are covered
by tests/integration/builders.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from dockyard import InferenceConfig, LocalWebservice, Model, Workspace
from dockyard.errors import ConflictError, WebserviceException
from tests.integration.local.helpers import script_folder

pytestmark = pytest.mark.slow

test_sample = json.dumps(
    {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}
)

SCORE = """
import json, os
model = None

def init():
    global model
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.json")) as f:
        model = json.load(f)
    print("init done, factor", model["factor"])

def run(raw_data):
    rows = json.loads(raw_data)["data"]
    return {"version": VERSION, "result": [sum(r) * model["factor"] for r in rows]}

VERSION = 1
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return script_folder(tmp_path / "project", SCORE)


def _register(ws: Workspace, tmp_path: Path, factor: int) -> Model:
    folder = tmp_path / f"model-{factor}"
    folder.mkdir(exist_ok=True)
    (folder / "model.json").write_text(json.dumps({"factor": factor}))
    return Model.register(ws, model_path=str(folder / "model.json"), model_name="summer")


def _deploy(ws, name, models, project, services, port=None):  # type: ignore[no-untyped-def]
    config = InferenceConfig(entry_script="score.py", source_directory=str(project))
    service = Model.deploy(
        ws, name, models, config, LocalWebservice.deploy_configuration(port=port)
    )
    services.append(name)
    return service


def test_deploy_run_reload_update_logs_delete(ws, tmp_path, project, services) -> None:  # type: ignore[no-untyped-def]
    model1 = _register(ws, tmp_path, 1)
    service = _deploy(ws, "summer-svc", [model1], project, services)
    service.wait_for_deployment(show_output=True)
    assert service.state == "Healthy"
    port = service.port
    assert service.scoring_uri == f"http://127.0.0.1:{port}/score"
    assert service.run(input_data=test_sample) == {"version": 1, "result": [55, 55]}
    assert service.run(input_data=test_sample.encode()) == {"version": 1, "result": [55, 55]}

    # Edit score.py and reload: the change is served at once, same port.
    (project / "score.py").write_text(SCORE.replace("VERSION = 1", "VERSION = 2"))
    started = time.monotonic()
    service.reload()
    assert time.monotonic() - started < 10
    assert service.run(input_data=test_sample)["version"] == 2
    assert service.port == port

    # Update to a new model version: different predictions on the same port.
    model2 = _register(ws, tmp_path, 3)
    assert model2.version == 2
    service.update(models=[model2])
    assert service.run(input_data=test_sample)["result"] == [165, 165]
    assert service.port == port

    logs = service.get_logs()
    assert "init done, factor 1" in logs and "init done, factor 3" in logs
    assert (
        ws.webservices["summer-svc"].get_logs() == service.get_logs()
        or "init done" in ws.webservices["summer-svc"].get_logs()
    )

    service.delete()
    services.clear()
    assert "summer-svc" not in ws.webservices
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # the port is free again
    assert Model(ws, "summer", version=1).version == 1  # models stay registered


def test_init_failure_is_crashloop_with_traceback_then_reload_fixes_it(
    ws, tmp_path, project, services
) -> None:  # type: ignore[no-untyped-def]
    model = _register(ws, tmp_path, 1)
    (project / "score.py").write_text(
        "def init():\n    raise ValueError('model file is corrupt: cannot load weights')\n\n"
        "def run(data):\n    return data\n"
    )
    service = _deploy(ws, "broken-svc", [model], project, services)
    started = time.monotonic()
    with pytest.raises(WebserviceException) as info:
        service.wait_for_deployment()
    assert time.monotonic() - started < 30
    text = str(info.value)
    assert "CrashLoopBackOff" in text
    assert "ValueError: model file is corrupt: cannot load weights" in text
    assert "score.py" in text and "line 2" in text
    assert service.state == "CrashLoopBackOff"
    assert "ValueError" in (service.error or "")
    first = service.restart_count
    assert first >= 2
    time.sleep(2.5)
    assert service.restart_count >= first
    assert "ValueError: model file is corrupt" in service.get_logs()

    (project / "score.py").write_text(SCORE)
    service.reload()
    service.wait_for_deployment(timeout_sec=30)
    assert service.state == "Healthy"
    assert service.run(test_sample)["result"] == [55, 55]


def test_get_model_path_names_missing_model_and_lists_present(
    ws, tmp_path, project, services
) -> None:  # type: ignore[no-untyped-def]
    model = _register(ws, tmp_path, 1)
    (project / "score.py").write_text(
        "from azureml.core.model import Model\n"
        "def init():\n    Model.get_model_path('no-such-model')\n"
        "def run(data):\n    return data\n"
    )
    service = _deploy(ws, "gmp-svc", [model], project, services)
    with pytest.raises(WebserviceException) as info:
        service.wait_for_deployment(timeout_sec=60)
    text = str(info.value)
    assert "no-such-model" in text
    assert "summer" in text  # the model that is there is listed


def test_kill_9_of_the_server_is_restarted(ws, tmp_path, project, services) -> None:  # type: ignore[no-untyped-def]
    model = _register(ws, tmp_path, 1)
    service = _deploy(ws, "kill-svc", [model], project, services)
    service.wait_for_deployment()
    status = service._target_status()
    assert status.pids
    os.kill(status.pids[0], signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if service.state == "Healthy" and service.restart_count >= 1:
                break
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.1)
    assert service.restart_count >= 1
    assert service.state == "Healthy"
    assert service.run(test_sample)["result"] == [55, 55]


def test_update_under_light_load_has_no_failed_request(ws, tmp_path, project, services) -> None:  # type: ignore[no-untyped-def]
    model1 = _register(ws, tmp_path, 1)
    service = _deploy(ws, "load-svc", [model1], project, services)
    service.wait_for_deployment()
    uri = service.scoring_uri
    failures: list[str] = []
    answers: list[int] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=10) as client:
            for _ in range(2000):  # bounded
                if stop.is_set():
                    return
                try:
                    response = client.post(
                        uri, content=test_sample, headers={"Content-Type": "application/json"}
                    )
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text}")
                    else:
                        answers.append(response.json()["result"][0])
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                time.sleep(0.01)

    thread = threading.Thread(target=load)
    thread.start()
    time.sleep(0.5)
    model2 = _register(ws, tmp_path, 2)
    service.update(models=[model2])
    after = service.run(test_sample)["result"][0]
    time.sleep(0.5)
    stop.set()
    thread.join(timeout=30)
    assert failures == []
    assert after == 110
    assert 55 in answers and 110 in answers


def test_failing_update_keeps_the_old_version_serving(ws, tmp_path, project, services) -> None:  # type: ignore[no-untyped-def]
    model = _register(ws, tmp_path, 1)
    service = _deploy(ws, "keep-svc", [model], project, services)
    service.wait_for_deployment()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "score.py").write_text("import no_such_module_xyz\n")
    with pytest.raises(WebserviceException) as info:
        service.update(
            inference_config=InferenceConfig(entry_script="score.py", source_directory=str(broken))
        )
    assert "no_such_module_xyz" in str(info.value)
    assert service.run(test_sample)["result"] == [55, 55]
    assert service.state == "Healthy"


def test_two_services_a_taken_port_and_redeploy_replaces(ws, tmp_path, project, services) -> None:  # type: ignore[no-untyped-def]
    model = _register(ws, tmp_path, 1)
    a = _deploy(ws, "svc-a", [model], project, services)
    b = _deploy(ws, "svc-b", [model], project, services)
    a.wait_for_deployment()
    b.wait_for_deployment()
    assert a.port != b.port
    assert a.run(test_sample) == b.run(test_sample)

    with pytest.raises(ConflictError, match=str(a.port)):
        _deploy(ws, "svc-c", [model], project, services, port=a.port)

    port = a.port
    (project / "score.py").write_text(SCORE.replace("VERSION = 1", "VERSION = 7"))
    again = _deploy(ws, "svc-a", [model], project, services)
    again.wait_for_deployment()
    assert again.port == port
    assert again.run(test_sample)["version"] == 7
    assert sorted(ws.webservices) == ["svc-a", "svc-b"]


def test_seed_local_deployment_sample_with_only_imports_changed(
    ws, tmp_path, project, services
) -> None:  # type: ignore[no-untyped-def]
    """The seed guide's sample, verbatim apart from the imports and the file paths."""
    from dockyard import Environment

    model = _register(ws, tmp_path, 1)
    different_model = _register(ws, tmp_path, 2)
    os.chdir(project)
    (project / "myenv.yml").write_text("name: env\ndependencies:\n  - python=3.11\n")

    # --- the seed, imports changed -------------------------------------------------------------
    myenv = Environment.from_conda_specification(name="env", file_path="myenv.yml")
    inference_config = InferenceConfig(entry_script="score.py", environment=myenv)
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    deployment_config = LocalWebservice.deploy_configuration(port=port)
    service = Model.deploy(ws, "mymodel", [model], inference_config, deployment_config)
    services.append(service.name)
    service.wait_for_deployment(True)
    print(service.port)
    prediction = service.run(input_data=bytes(test_sample, encoding="utf8"))
    print(prediction)
    service.reload()
    print(service.run(input_data=test_sample))
    service.update([different_model], inference_config, deployment_config)
    print(service.get_logs())
    print(ws.webservices["mymodel"].get_logs())
    # ---------------------------------------------------------------------------------------------
    assert service.port == port
    assert prediction == {"version": 1, "result": [55, 55]}
    assert service.run(input_data=test_sample)["result"] == [110, 110]
    service.delete()
    services.clear()
    assert "mymodel" not in ws.webservices


def test_warm_reload_reads_edited_user_modules_fresh(ws, tmp_path, project, services) -> None:  # type: ignore[no-untyped-def]
    """Reloads fork from a warm parent that preloaded installed packages, never user code."""
    model = _register(ws, tmp_path, 1)
    (project / "helper.py").write_text("ANSWER = 'first'\n")
    (project / "score.py").write_text(
        "import json\nimport helper\n\ndef init():\n    pass\n\n"
        "def run(raw):\n    return {'answer': helper.ANSWER}\n"
    )
    service = _deploy(ws, "warm-svc", [model], project, services)
    service.wait_for_deployment()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "warm parent pid" not in service.get_logs():
        time.sleep(0.1)
    time.sleep(1.0)  # let the warm parent finish its imports
    (project / "helper.py").write_text("ANSWER = 'second'\n")
    started = time.monotonic()
    service.reload()
    took = time.monotonic() - started
    assert service.run("{}") == {"answer": "second"}
    assert "forked from the warm parent" in service.get_logs()
    assert took < 10
    # A crash of the forked server is still seen and restarted.
    pid = service._target_status().pids[0]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (
        service.restart_count >= 1 and service.state == "Healthy"
    ):
        time.sleep(0.1)
    assert service.state == "Healthy" and service.restart_count >= 1
    assert service.run("{}") == {"answer": "second"}
