"""The container target on a real engine: registry round trip, limits, out-of-memory,
CrashLoopBackOff with the traceback, keys kept out of ``docker inspect``, the image run by hand."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard import InferenceConfig, Model, Webservice
from dockyard.assets.image import ContainerImage, Image
from dockyard.errors import DeploymentError
from dockyard.webservice.container import AciWebservice

from .conftest import test_sample

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _image(ws: Any, name: str = "testimg") -> Image:
    model = Model.register(ws, model_path="model.json", model_name="summer")
    config = ContainerImage.image_configuration(entry_script="score.py", conda_file="myenv.yml")
    image = Image.create(ws, name, [model], config)
    image.wait_for_creation()
    return image


def _server_config(client: Any, service: Any) -> dict[str, Any]:
    details = service._target_status().details
    return dict(client.api.inspect_container(details["container"]))


def test_push_remove_pull_deploy_score(
    ws: Any, project: Path, made: Any, registry: str, docker_client: Any
) -> None:
    Image.set_container_registry(ws, f"{registry}/dockyard-tests-{uuid.uuid4().hex[:8]}")
    image = _image(ws)
    assert image.image_location.startswith(f"{registry}/") and image.image_location.endswith(
        "/testimg:1"
    )
    assert "# pushed" in Path(image.build_log_path or "").read_text()
    for tag in (image.image_location, image._record.spec["local_tag"]):
        docker_client.images.remove(tag)
    made["services"].append("pulled")
    config = AciWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=0.5)
    service = Webservice.deploy_from_image(ws, "pulled", image, config)  # pulls from the registry
    service.wait_for_deployment()
    assert service.run(test_sample) == {"version": 1, "result": [110, 110]}
    host = _server_config(docker_client, service)["HostConfig"]
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == host["MemorySwap"] == 512 * 1024**2
    assert host["RestartPolicy"]["Name"] == "on-failure"


def test_allocating_past_memory_gb_is_reported_as_out_of_memory(
    ws: Any, project: Path, made: Any
) -> None:
    Path("score.py").write_text(
        "def init():\n    global hog\n    hog = bytearray(400 * 1024 * 1024)\n"
        "def run(data):\n    return len(hog)\n"
    )
    made["services"].append("hog")
    model = Model.register(ws, model_path="model.json", model_name="summer")
    inference = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    config = AciWebservice.deploy_configuration(memory_gb=0.25)
    service = Model.deploy(ws, "hog", [model], inference, config)
    with pytest.raises(DeploymentError) as caught:
        service.wait_for_deployment(timeout_sec=120)
    assert "Out of memory" in str(caught.value) and "0.25 GiB" in str(caught.value)
    assert "Out of memory" in (service.error or "")
    assert service.state == "CrashLoopBackOff"


def test_failing_init_is_crash_loop_back_off_with_the_traceback(
    ws: Any, project: Path, made: Any
) -> None:
    Path("score.py").write_text(
        "def init():\n    raise ValueError('model file is corrupt: xyzzy')\n"
        "def run(data):\n    return data\n"
    )
    made["services"].append("crashy")
    model = Model.register(ws, model_path="model.json", model_name="summer")
    inference = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    service = Model.deploy(ws, "crashy", [model], inference, AciWebservice.deploy_configuration())
    with pytest.raises(DeploymentError) as caught:
        service.wait_for_deployment(timeout_sec=120)
    message = str(caught.value)
    assert "CrashLoopBackOff" in message
    assert "Traceback (most recent call last)" in message and "xyzzy" in message
    assert service.state == "CrashLoopBackOff" and service.restart_count >= 1
    assert "xyzzy" in (service.error or "") and "xyzzy" in service.get_logs()


def test_keys_stay_out_of_docker_inspect_and_survive_update(
    ws: Any, project: Path, made: Any, docker_client: Any
) -> None:
    image = _image(ws)
    made["services"].append("keyed")
    config = AciWebservice.deploy_configuration(auth_enabled=True)
    service = Webservice.deploy_from_image(ws, "keyed", image, config)
    service.wait_for_deployment()
    primary, secondary = service.get_keys()
    assert service.run(test_sample)["result"] == [110, 110]
    bare = httpx.post(service.scoring_uri, content=test_sample, timeout=10)
    assert bare.status_code == 401
    text = json.dumps(_server_config(docker_client, service))
    assert primary not in text and secondary not in text
    service.update(
        deployment_config=AciWebservice.deploy_configuration(auth_enabled=True, memory_gb=0.75)
    )
    assert Webservice(ws, "keyed").get_keys() == (primary, secondary)
    assert service.run(test_sample)["result"] == [110, 110]
    service.regen_key("Primary")
    new_primary = service.get_keys()[0]
    assert new_primary != primary
    time.sleep(0.5)  # the server re-reads the keys file within 0.2 s
    old = httpx.post(
        service.scoring_uri,
        content=test_sample,
        headers={"Authorization": f"Bearer {primary}"},
        timeout=10,
    )
    assert old.status_code == 401
    assert service.run(test_sample)["result"] == [110, 110]


def test_image_runs_by_hand_as_a_non_root_user(
    ws: Any, project: Path, made: Any, docker_client: Any, cleanup: Any
) -> None:
    """The seed's manual path: ``docker run -p 127.0.0.1:PORT:5001 IMAGE``, then score."""
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed")
    image = _image(ws)
    assert docker_client.images.get(image.image_location).attrs["Config"]["User"] == "dockyard"
    name = f"dockyard-test-byhand-{uuid.uuid4().hex[:8]}"
    cleanup["containers"].append(name)
    done = subprocess.run(
        ["docker", "run", "-d", "--name", name, "-p", "127.0.0.1::5001", image.image_location],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    container = docker_client.containers.get(name)
    container.reload()
    port = container.attrs["NetworkSettings"]["Ports"]["5001/tcp"][0]["HostPort"]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/score", data=test_sample.encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            with opener.open(request, timeout=5) as response:
                assert json.loads(response.read())["result"] == [110, 110]
                break
        except OSError:
            assert time.monotonic() < deadline, container.logs()
            time.sleep(0.3)
    code, out = container.exec_run(["id", "-u"])
    assert code == 0 and out.strip() != b"0"
    code, out = container.exec_run(["sh", "-c", "ls /var/azureml-app"])
    assert b"score.py" in out and b"azureml-models" in out
