"""Docker-backed services across their lifecycle (issue 9, items 5-7): a service reloads from its
own project even when its image was reused from another one; stop/start keeps the published
port and is idempotent; a port conflict names the service that holds the port and leaves
nothing behind."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard import InferenceConfig, LocalWebservice, Model, Webservice
from dockyard.webservice import records

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
    from dockyard.build import runtime

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
