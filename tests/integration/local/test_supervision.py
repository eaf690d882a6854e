"""Supervision of local services: a dead supervisor is noticed and `service start` recovers it;
keys on a local service; the CLI over the same services; a conda spec that cannot install."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from dockyard import Environment, InferenceConfig, LocalWebservice, Model, Webservice, Workspace
from dockyard.errors import WebserviceException
from tests.integration.local.helpers import run_cli, script_folder

pytestmark = pytest.mark.slow

SCORE = "def init():\n    print('ready to score')\n\ndef run(data):\n    return {'echo': data}\n"


@pytest.fixture
def model(ws: Workspace, tmp_path: Path) -> Model:
    path = tmp_path / "model.txt"
    path.write_text("weights")
    return Model.register(ws, model_path=str(path), model_name="echo")


@pytest.fixture
def inference_config(tmp_path: Path) -> InferenceConfig:
    src = script_folder(tmp_path / "src", SCORE)
    return InferenceConfig(entry_script="score.py", source_directory=str(src))


def test_a_dead_supervisor_is_noticed_and_service_start_recovers(
    ws, model, inference_config, services
) -> None:  # type: ignore[no-untyped-def]
    service = Model.deploy(ws, "phoenix", [model], inference_config)
    services.append("phoenix")
    service.wait_for_deployment()
    port = service.port
    status = service._target_status()
    supervisor = status.details["supervisor_pid"]
    # Simulate a reboot: everything of the service dies at once.
    os.killpg(supervisor, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and service.state != "Unhealthy":
        time.sleep(0.1)
    assert service.state == "Unhealthy"
    assert "dockyard service start phoenix" in (service.error or "")
    with pytest.raises(WebserviceException, match="not running"):
        service.wait_for_deployment(timeout_sec=5)

    result = run_cli(ws, "service", "start", "phoenix")
    assert result.returncode == 0, result.stderr
    assert Webservice(ws, "phoenix").state == "Healthy"
    assert Webservice(ws, "phoenix").port == port
    assert service.run("hello") == {"echo": "hello"}


def test_keys_on_a_local_service_rotate_without_restart(
    ws, model, inference_config, services
) -> None:  # type: ignore[no-untyped-def]
    config = LocalWebservice.deploy_configuration(auth_enabled=True)
    service = Model.deploy(ws, "guarded", [model], inference_config, config)
    services.append("guarded")
    service.wait_for_deployment()
    primary, secondary = service.get_keys()
    assert primary and secondary and primary != secondary
    uri = service.scoring_uri
    assert httpx.post(uri, content=b'"x"').status_code == 401
    assert (
        httpx.post(
            uri, content=b'"x"', headers={"Authorization": f"Bearer {secondary}"}
        ).status_code
        == 200
    )
    assert service.run("x") == {"echo": "x"}  # run() sends the primary key
    pid_before = service._target_status().pids
    service.regen_key("Primary")
    new_primary, _ = service.get_keys()
    assert new_primary != primary
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if (
            httpx.post(
                uri, content=b'"x"', headers={"Authorization": f"Bearer {primary}"}
            ).status_code
            == 401
        ):
            break
        time.sleep(0.1)
    assert (
        httpx.post(uri, content=b'"x"', headers={"Authorization": f"Bearer {primary}"}).status_code
        == 401
    )
    assert service.run("x") == {"echo": "x"}
    assert service._target_status().pids == pid_before  # no restart
    # Keys never reach the logs.
    assert new_primary not in service.get_logs() and secondary not in service.get_logs()
    # update() keeps the keys.
    service.update()
    assert service.get_keys() == (new_primary, secondary)


def test_cli_lists_shows_runs_and_deletes(ws, model, inference_config, services) -> None:  # type: ignore[no-untyped-def]
    service = Model.deploy(ws, "cli-echo", [model], inference_config)
    services.append("cli-echo")
    service.wait_for_deployment()
    listing = run_cli(ws, "service", "list", "--output", "json")
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)
    assert rows[0]["name"] == "cli-echo" and rows[0]["state"] == "Healthy"
    assert rows[0]["scoringUri"] == service.scoring_uri
    ran = run_cli(ws, "service", "run", "cli-echo", "--data", '"ping"')
    assert ran.returncode == 0 and json.loads(ran.stdout) == {"echo": '"ping"'}
    logs = run_cli(ws, "service", "logs", "cli-echo", "-n", "200")
    assert "ready to score" in logs.stdout
    missing = run_cli(ws, "service", "show", "no-such")
    assert missing.returncode != 0
    assert "no-such" in missing.stderr and "Traceback" not in missing.stderr
    deleted = run_cli(ws, "service", "delete", "cli-echo")
    assert deleted.returncode == 0
    assert "cli-echo" not in ws.webservices


@pytest.mark.parametrize(
    ("dependency", "named"),
    [
        ("  - pip:\n      - no-such-package-dockyard-xyz", "no-such-package-dockyard-xyz"),
        ("  - pip:\n      - six==99.0.0", "six==99.0.0"),
        ("  - no-such-conda-only-pkg-xyz=1.2", "no-such-conda-only-pkg-xyz"),
    ],
)
def test_an_environment_that_cannot_install_names_the_package(
    ws, model, tmp_path, services, dependency, named
) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    src.mkdir()
    (src / "score.py").write_text(SCORE)
    (src / "env.yml").write_text(f"name: bad\ndependencies:\n  - python=3.11\n{dependency}\n")
    env = Environment.from_conda_specification(name="bad-env", file_path=str(src / "env.yml"))
    config = InferenceConfig(entry_script="score.py", source_directory=str(src), environment=env)
    services.append("bad-env-svc")
    with pytest.raises(WebserviceException) as info:
        Model.deploy(ws, "bad-env-svc", [model], config)
    assert named in str(info.value)
    assert "[environment]" in str(info.value)
    assert Webservice(ws, "bad-env-svc").state == "Failed"


def test_a_server_that_stops_answering_is_unhealthy_then_recovers(
    ws, model, inference_config, services
) -> None:  # type: ignore[no-untyped-def]
    service = Model.deploy(ws, "frozen", [model], inference_config)
    services.append("frozen")
    service.wait_for_deployment()
    pid = service._target_status().pids[0]
    os.kill(pid, signal.SIGSTOP)  # the process lives but answers nothing
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and service.state != "Unhealthy":
            time.sleep(0.2)
        assert service.state == "Unhealthy"
        assert "did not answer" in (service.error or "")
    finally:
        os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and service.state != "Healthy":
        time.sleep(0.2)
    assert service.state == "Healthy"
    assert service.run("again") == {"echo": "again"}
