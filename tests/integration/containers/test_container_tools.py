"""The seed guide's container paths on a real Docker engine: edit score.py inside a running
container service (exec), commit the container as a new image version, deploy that image and
score the edited behaviour; exec's exit codes, output and users; the shell refused without a
terminal; the image run by hand on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from dockyard import InferenceConfig, Model, Webservice
from dockyard.assets.image import Image
from dockyard.errors import ConflictError, DeploymentError, ValidationError
from dockyard.webservice import (
    commit_service,
    exec_in_service,
    launch_config,
    run_image,
    stop_image,
)
from dockyard.webservice.container import AciWebservice

from .conftest import image_app, on_terminal, service_app, test_sample

pytestmark = [pytest.mark.docker, pytest.mark.slow]

EDIT = 'sed -i "s/^VERSION = 1$/VERSION = 2/" "$AZUREML_ENTRY_SCRIPT"'


def _deploy(ws: Any, name: str, **config: Any) -> Any:
    model = Model.register(ws, model_path="model.json", model_name="summer")
    inference = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    settings = AciWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=0.5, **config)
    service = Model.deploy(ws, name, [model], inference, settings)
    service.wait_for_deployment(timeout_sec=600)
    return service


def test_edit_in_the_container_commit_deploy_and_run_the_image(
    ws: Any, project: Path, made: Any, docker_client: Any
) -> None:
    made["services"] += ["edited", "fixed"]
    service = _deploy(ws, "edited", auth_enabled=True)
    assert service.run(test_sample) == {"version": 1, "result": [110, 110]}

    # exec: output of both streams, the command's exit code, the app root, the users
    code, output = exec_in_service(service, "echo to-out; echo to-err >&2; exit 3")
    assert code == 3 and "to-out" in output and "to-err" in output
    assert exec_in_service(service, ["pwd"]) == (0, "/var/azureml-app\n")
    assert exec_in_service(service, ["id", "-un"]) == (0, "dockyard\n")
    assert exec_in_service(service, ["id", "-un"], user="root") == (0, "root\n")
    code, output = exec_in_service(service, ["no-such-command"])
    assert code != 0 and "no-such-command" in output

    # the CLI: exit code and streams of the command; no shell without a terminal
    runner = CliRunner()
    done = runner.invoke(
        service_app(), ["exec", "edited", "-w", ws.path, "--", "sh", "-c", "echo hi; exit 7"]
    )
    assert done.exit_code == 7 and "hi" in done.stdout
    done = runner.invoke(service_app(), ["shell", "edited", "-w", ws.path])
    assert isinstance(done.exception, ValidationError)
    assert "needs a terminal" in str(done.exception)
    assert "dockyard service exec edited --" in str(done.exception)

    # the shell on a real terminal, as root (the seed's apt-get), at the app root
    code, text = on_terminal(
        ["shell", "edited", "-u", "root", "-w", ws.path], b"id -un; pwd; exit 3\n"
    )
    assert code == 3, text
    assert "\nroot" in text.replace("\r", "") and "/var/azureml-app" in text
    assert "shell in container dockyard-" in text and "as root" in text
    # the same without the Docker CLI: the SDK's exec with a pty
    no_cli = "/nonexistent-dockyard-test-path"
    assert shutil.which("docker", path=no_cli) is None
    code, text = on_terminal(
        ["shell", "edited", "-w", ws.path], b"id -un; pwd; exit 5\n", path=no_cli
    )
    assert code == 5, text
    assert "dockyard" in text and "/var/azureml-app" in text

    # the seed: edit score.py in the running container, then commit the container
    assert exec_in_service(service, EDIT)[0] == 0
    image = commit_service(service)
    assert (image.name, image.version, image.creation_state) == ("edited", 2, "Succeeded")
    assert image.id in [i.id for i in Image.list(ws)]
    assert Image(ws, "edited").version == 2
    log = Path(image.build_log_path or "").read_text()
    assert "committed from container dockyard-" in log and "of service 'edited'" in log
    assert "C /var/azureml-app/score.py" in log
    assert image.committed_from is not None
    assert image.committed_from["service"] == "edited"
    assert "C /var/azureml-app/score.py" in image.committed_from["changes"]

    # the CLI's commit: another image name, the changes in JSON
    done = runner.invoke(
        service_app(), ["commit", "edited", "-w", ws.path, "--image", "edited-copy", "-o", "json"]
    )
    assert done.exit_code == 0, done.output
    copy = json.loads(done.stdout)
    assert (copy["id"], copy["creationState"]) == ("edited-copy:1", "Succeeded")
    assert copy["committedFrom"]["service"] == "edited"
    assert "C /var/azureml-app/score.py" in copy["committedFrom"]["changes"]

    # the committed image as a new service: the edit, and nothing of the old deployment
    fixed = Webservice.deploy_from_image(
        ws, "fixed", image, AciWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=0.5)
    )
    fixed.wait_for_deployment(timeout_sec=300)
    assert fixed.run(test_sample) == {"version": 2, "result": [110, 110]}
    assert httpx.post(fixed.scoring_uri, content=test_sample).status_code == 200  # no key
    assert exec_in_service(fixed, 'echo "${DOCKYARD_KEYS_FILE:-unset}"') == (0, "unset\n")

    # the image by hand, as `docker run -p`: published on 127.0.0.1, scored, stopped
    started = run_image(image)
    try:
        assert started.scoring_uri.startswith("http://127.0.0.1:")
        answer = httpx.post(
            started.scoring_uri, content=test_sample, headers={"Content-Type": "application/json"}
        )
        assert answer.json() == {"version": 2, "result": [110, 110]}
        assert launch_config(started) is None
        with pytest.raises(ConflictError, match="already runs by hand"):
            run_image(image)
    finally:
        assert stop_image(image) is True
    assert stop_image(image) is False
    assert not docker_client.containers.list(all=True, filters={"name": started.container})


def test_image_run_on_the_command_line(
    ws: Any, project: Path, made: Any, docker_client: Any
) -> None:
    model = Model.register(ws, model_path="model.json", model_name="summer")
    from dockyard.assets.image import ContainerImage

    config = ContainerImage.image_configuration(entry_script="score.py", conda_file="myenv.yml")
    image = Image.create(ws, "byhand", [model], config)
    image.wait_for_creation()
    runner = CliRunner()
    done = runner.invoke(
        image_app(), ["run", "byhand:1", "-w", ws.path, "--debugger-port", "0", "-o", "json"]
    )
    try:
        if done.exit_code == 0:  # the image has debugpy
            data = json.loads(done.stdout)
            assert data["scoringUri"].startswith("http://127.0.0.1:")
            assert data["stopCommand"] == f"docker rm -f {data['container']}"
            attach = data["launchConfig"]
            assert attach["connect"] == {"host": "127.0.0.1", "port": data["debuggerPort"]}
            assert attach["pathMappings"][0]["remoteRoot"] == "/var/azureml-app"
        else:  # it has not: the failing step, the server's own words, and what to do
            assert isinstance(done.exception, DeploymentError), done.output
            assert done.exception.step == "debugger"
            assert "debugpy is not installed" in (done.exception.log_tail or "")
            assert "the image needs debugpy" in str(done.exception)
    finally:
        done = runner.invoke(image_app(), ["run", "byhand:1", "-w", ws.path, "--stop"])
        assert done.exit_code == 0, done.output
    done = runner.invoke(image_app(), ["run", "byhand:1", "-w", ws.path])
    assert done.exit_code == 0, done.output
    try:
        uri = next(
            line.split()[-1] for line in done.stdout.splitlines() if line.startswith("scoring URI")
        )
        assert uri.startswith("http://127.0.0.1:")
        answer = httpx.post(uri, content=test_sample, headers={"Content-Type": "application/json"})
        assert answer.json() == {"version": 1, "result": [110, 110]}
        assert "stop it:     docker rm -f dockyard-run-" in done.stdout
        # a run stopped by hand (kept for `docker logs`) is replaced by the next one
        container = done.stdout.split("runs in container ")[1].split()[0]
        docker_client.containers.get(container).stop(timeout=2)
        done = runner.invoke(
            image_app(), ["run", "byhand:1", "-w", ws.path, "-p", uri.split(":")[2].split("/")[0]]
        )
        assert done.exit_code == 0, done.output
        assert f"scoring URI: {uri}" in done.stdout
    finally:
        runner.invoke(image_app(), ["run", "byhand:1", "-w", ws.path, "--stop"])
    with pytest.raises(httpx.TransportError):
        httpx.post(uri, content=test_sample, timeout=3)

    # `dockyard image deploy`: the image as a container service (deploy_from_image), in JSON
    made["services"].append("byhand-svc")
    done = runner.invoke(
        image_app(), ["deploy", "byhand:1", "-n", "byhand-svc", "-w", ws.path, "-o", "json"]
    )
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert (data["name"], data["image"], data["state"]) == ("byhand-svc", "byhand:1", "Healthy")
    answer = httpx.post(data["scoringUri"], content=test_sample)
    assert answer.json() == {"version": 1, "result": [110, 110]}


def test_image_run_in_the_foreground_stops_on_ctrl_c(ws: Any, project: Path, made: Any) -> None:
    model = Model.register(ws, model_path="model.json", model_name="summer")
    from dockyard.assets.image import ContainerImage

    config = ContainerImage.image_configuration(entry_script="score.py", conda_file="myenv.yml")
    Image.create(ws, "front", [model], config).wait_for_creation()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from dockyard.cli.image import app; app()",
         "run", "front:1", "-w", ws.path, "--foreground"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    uri, seen = None, []
    try:
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("scoring URI: "):
                uri = line.split()[-1]
                break
        assert uri is not None, "".join(seen)
        answer = httpx.post(uri, content=test_sample, headers={"Content-Type": "application/json"})
        assert answer.json() == {"version": 1, "result": [110, 110]}
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, "".join(seen) + rest
    with pytest.raises(httpx.TransportError):
        httpx.post(uri, content=test_sample, timeout=3)


def test_a_commit_is_pushed_to_the_workspaces_registry_and_deploys_from_it(
    ws: Any, project: Path, made: Any, registry: str, docker_client: Any
) -> None:
    Image.set_container_registry(ws, f"{registry}/dockyard-tests-{uuid.uuid4().hex[:8]}")
    made["services"] += ["pushed", "pulled"]
    service = _deploy(ws, "pushed")
    assert exec_in_service(service, EDIT)[0] == 0
    image = commit_service(service, "pushed-edit")
    assert image.image_location.startswith(f"{registry}/")
    assert image.image_location.endswith("/pushed-edit:1")
    assert "# docker push " + image.image_location in Path(image.build_log_path or "").read_text()
    for tag in (image.image_location, image._record.spec["local_tag"]):
        docker_client.images.remove(tag)
    pulled = Webservice.deploy_from_image(
        ws, "pulled", image, AciWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=0.5)
    )
    pulled.wait_for_deployment(timeout_sec=300)
    assert pulled.run(test_sample) == {"version": 2, "result": [110, 110]}
