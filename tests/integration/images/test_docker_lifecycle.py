"""Docker-backed services across their lifecycle (issue 9, items 5-7): a service reloads from its
own project even when its image was reused from another one; stop/start keeps the published
port and is idempotent; a port conflict names the service that holds the port and leaves
nothing behind."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard import InferenceConfig, LocalWebservice, Model, Webservice
from dockyard.errors import ConflictError, DeploymentError
from dockyard.ops import records
from dockyard.webservice.container import AciWebservice

from .conftest import ENV_YML, SCORE, test_sample

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _score(uri: str) -> Any:
    response = httpx.post(
        uri, content=test_sample, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def _containers(client: Any, ws: Any, name: str) -> list[str]:
    """Every container of service ``name`` (by its label, in any state)."""
    label = f"dockyard.service={ws.id[:8] or 'local'}/{name}"
    return [c.name for c in client.containers.list(all=True, filters={"label": label})]


def _nat_rules(client: Any, service: Any) -> list[str]:
    """The REDIRECT rules in the holder's network namespace."""
    holder = service._target_status().details["holder"]
    pid = client.containers.get(holder).attrs["State"]["Pid"]
    done = subprocess.run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", "iptables", "-w", "-t", "nat", "-S", "PREROUTING"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return [line for line in done.stdout.splitlines() if "REDIRECT" in line]


def test_reload_uses_the_services_own_project_when_the_image_was_shared(
    ws: Any, workdir: Path, made: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 5: rA and rB have identical files, so rB's deploy reuses rA's image; editing
    rB/score.py and reloading rB must serve the edit from rB, and leave rA alone."""
    from dockyard.builders import runtime

    # The server's sources are part of an image's content: pin their hash, so that an edit of
    # dockyard's own tree while this test runs cannot stop the image from being shared.
    server_hash = runtime.source_hash()
    monkeypatch.setattr(runtime, "source_hash", lambda: server_hash)
    for folder in ("rA", "rB"):
        (workdir / folder).mkdir()
        (workdir / folder / "score.py").write_text(SCORE)
        (workdir / folder / "myenv.yml").write_text(ENV_YML)
    (workdir / "model.json").write_text(json.dumps({"factor": 2}))
    model = Model.register(ws, model_path="model.json", model_name="summer")
    config = LocalWebservice.deploy_configuration(docker=True)
    services = {}
    for name, folder in (("svc-a", "rA"), ("svc-b", "rB")):
        made["services"].append(name)
        inference = InferenceConfig(
            entry_script="score.py", source_directory=folder, conda_file="myenv.yml"
        )
        services[name] = Model.deploy(ws, name, [model], inference, config)
        services[name].wait_for_deployment(timeout_sec=300)
        assert services[name].run(test_sample)["version"] == 1
    events = [e["message"] for e in records.events(ws, "svc-b")]
    assert any("reusing" in message for message in events), events  # the image was shared

    (workdir / "rB" / "score.py").write_text(SCORE.replace("VERSION = 1", "VERSION = 2"))
    services["svc-b"].reload()
    assert services["svc-b"].state == "Healthy"
    assert services["svc-b"].run(test_sample)["version"] == 2
    assert Webservice(ws, "svc-a").run(test_sample)["version"] == 1
    # ... and rA's own reload still builds from rA (unchanged: version 1).
    services["svc-a"].reload()
    assert services["svc-a"].run(test_sample)["version"] == 1
    assert services["svc-b"].run(test_sample)["version"] == 2


def test_stop_start_keeps_the_port_and_start_is_idempotent(
    ws: Any, project: Path, made: Any, docker_client: Any
) -> None:
    """Item 6: a service deployed without a port keeps its scoring URI across stop/start, comes
    back Healthy quickly, and starting it again (or twice) adds no second NAT rule."""
    made["services"].append("restarts")
    model = Model.register(ws, model_path="model.json", model_name="summer")
    inference = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    service = Model.deploy(ws, "restarts", [model], inference, AciWebservice.deploy_configuration())
    service.wait_for_deployment(timeout_sec=300)
    uri = service.scoring_uri
    assert uri and _score(uri)["version"] == 1
    nat = shutil.which("nsenter") and shutil.which("iptables")
    service.update()  # the second server runs on an inner port reached through the NAT rule
    if nat:
        assert len(_nat_rules(docker_client, service)) == 1

    for _round in range(2):
        service.stop()
        assert service.state == "Stopped"
        started = time.monotonic()
        service.start()
        service.wait_for_deployment(timeout_sec=60)
        assert time.monotonic() - started < 60
        assert Webservice(ws, "restarts").scoring_uri == uri
        assert _score(uri)["result"] == [110, 110]
        if nat:
            assert len(_nat_rules(docker_client, service)) == 1

    holder = service._target_status().details["holder"]
    holder_id = docker_client.containers.get(holder).id
    service.start()  # already running: nothing changes
    service.start()
    assert service.state == "Healthy" and service.scoring_uri == uri
    assert docker_client.containers.get(holder).id == holder_id
    assert _score(uri)["version"] == 1
    if nat:
        assert len(_nat_rules(docker_client, service)) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_taken_port_names_its_holder_and_delete_leaves_no_container(
    ws: Any, project: Path, made: Any, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 7: a port another dockyard service holds is refused before anything is recorded,
    naming that service; a port another program holds says so; a deploy the engine refuses
    leaves no container once deleted."""
    port = _free_port()
    made["services"].extend(["other", "clash"])
    model = Model.register(ws, model_path="model.json", model_name="summer")
    inference = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    other = Model.deploy(
        ws, "other", [model], inference, AciWebservice.deploy_configuration(port=port)
    )
    other.wait_for_deployment(timeout_sec=300)

    for config in (
        AciWebservice.deploy_configuration(port=port),
        LocalWebservice.deploy_configuration(port=port, docker=True),
    ):
        with pytest.raises(ConflictError) as caught:
            Model.deploy(ws, "clash", [model], inference, config)
        message = str(caught.value)
        assert f"port {port} is held by dockyard service 'other' (dockyard service show other)" in (
            message
        ), message
        assert "another program" not in message
        assert records.get(ws, "clash") is None
        assert _containers(docker_client, ws, "clash") == []

    with socket.socket() as squatter:  # a port held by a program that is not dockyard's
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        with pytest.raises(ConflictError) as caught:
            Model.deploy(
                ws, "clash", [model], inference, AciWebservice.deploy_configuration(port=taken)
            )
        assert f"port {taken} is held by another program" in str(caught.value)
        assert records.get(ws, "clash") is None

    # The port is taken between the check and the engine's start (a race): the engine refuses,
    # the Failed record names the holder and shows no scoring URI, delete removes everything.
    from dockyard.ops import services

    monkeypatch.setattr(services, "check_port", lambda *args, **kwargs: None)
    monkeypatch.setattr("dockyard.targets.docker.port_is_free", lambda *args, **kwargs: True)
    with pytest.raises(DeploymentError) as caught:
        Model.deploy(ws, "clash", [model], inference, AciWebservice.deploy_configuration(port=port))
    assert "dockyard service 'other'" in str(caught.value), str(caught.value)
    clash = Webservice(ws, "clash")
    assert clash.state == "Failed" and clash.scoring_uri is None
    assert _containers(docker_client, ws, "clash") == []
    clash.delete()
    assert _containers(docker_client, ws, "clash") == []
    assert records.get(ws, "clash") is None
    assert _score(other.scoring_uri)["result"] == [110, 110]  # the holder was never disturbed
