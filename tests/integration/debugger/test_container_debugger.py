"""The debugger on the container target, end to end with a real Docker engine: debugpy comes
with the image's server runtime (not the user's environment), listens inside the container, is
published on 127.0.0.1 only, and a real DAP client stops at a breakpoint in the user's own
score.py through the printed ``launch.json`` mapping; again after a ``reload()``, whose output
says the old version stopped first."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard import InferenceConfig, LocalWebservice, Model, Webservice
from dockyard.errors import DeploymentError
from tests.integration.docker.conftest import (  # noqa: F401 - fixtures used by name
    base_image,
    docker_client,
    registry,
    wheel_cache,
)

from .conftest import SAMPLE, SCORE, free_port
from .test_local_debugger import hit_breakpoint, wait_for_listener

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ENV_YML = """\
name: plain
dependencies:
  - python=3.11
  - pip:
      - azureml-defaults
"""


@pytest.fixture
def ws(tmp_path: Path, base_image: str, wheel_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    from dockyard import Workspace

    monkeypatch.setenv("DOCKYARD_HOME", str(wheel_cache.parent / "dockyard-home"))
    monkeypatch.delenv("DOCKYARD_CONTAINER_REGISTRY", raising=False)
    return Workspace.create(f"dbg-{uuid.uuid4().hex[:8]}", path=str(tmp_path / "ws"))


@pytest.fixture
def made(ws: Any) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(Exception):
            Webservice(ws, name).delete()
    from dockyard.assets.image import Image

    for image in Image.list(ws):
        with contextlib.suppress(Exception):
            image.delete()


def test_container_service_debugger_breakpoint_in_run_and_after_reload(
    ws: Any,
    source: Path,
    made: list[str],
    docker_client: Any,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    made.append("dbg-docker")
    (source / "env.yml").write_text(ENV_YML)
    model = Model.register(ws, model_path="model.json", model_name="dbgmodel")
    inference = InferenceConfig(
        entry_script="score.py", source_directory="src", conda_file="env.yml"
    )
    port = free_port()
    config = LocalWebservice.deploy_configuration(
        docker=True, debugger_port=port, debugger_wait_s=120
    )
    service = Model.deploy(ws, "dbg-docker", [model], inference, config)

    # debugpy is the image's (server runtime), not the user's environment's
    state = (Path(ws.path) / "services" / "dbg-docker" / "container.json").read_text()
    server = docker_client.containers.get(json.loads(state)["server"])
    where = server.exec_run(["python", "-c", "import debugpy, os; print(debugpy.__file__)"])
    assert where.exit_code == 0, where.output
    assert where.output.decode().strip().startswith("/opt/dockyard-runtime/")
    holder = docker_client.containers.get(f"dockyard-{ws.id[:8]}-dbg-docker")
    published = holder.attrs["HostConfig"]["PortBindings"]["5678/tcp"]
    assert published == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]

    launch = service.get_debug_config()
    assert launch["connect"] == {"host": "127.0.0.1", "port": port}
    assert launch["pathMappings"] == [
        {"localRoot": str(source), "remoteRoot": "/var/azureml-app/src"}
    ]
    script = source / "score.py"
    wait_for_listener(service, times=1, timeout=300)  # (the engine's proxy accepts before)
    assert hit_breakpoint(service, launch, script) == {"version": 1, "total": 12}
    assert service.serialize()["debugger"]["port"] == port
    log = service.get_logs()
    assert "debugpy is listening on 0.0.0.0:5678" in log
    assert f"The debugger is published on 127.0.0.1:{port} for the IDE" in log
    assert "dockyard service debug-config dbg-docker" in log

    script.write_text(SCORE.replace("VERSION = 1", "VERSION = 2"))
    reloading = threading.Thread(target=service.reload, daemon=True)
    capsys.readouterr()
    reloading.start()
    _wait_new_server(ws, server.name)
    wait_for_listener(service, times=1, timeout=300)  # the new container's log is its own
    assert hit_breakpoint(service, launch, script) == {"version": 2, "total": 12}
    reloading.join(120)
    assert not reloading.is_alive()
    assert service.get_debug_config() == launch
    service.wait_for_deployment(show_output=True)
    shown = capsys.readouterr()
    assert "the running version stops first" in shown.out + shown.err


def _wait_new_server(ws: Any, old: str, timeout: float = 600) -> None:
    """Wait until the service's state names a server container other than ``old``."""
    import time

    deadline = time.monotonic() + timeout
    path = Path(ws.path) / "services" / "dbg-docker" / "container.json"
    while json.loads(path.read_text()).get("server") == old:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_container_service_without_an_ide_starts_after_the_wait_and_update_turns_it_off(
    ws: Any,
    source: Path,
    made: list[str],
    docker_client: Any,  # noqa: F811
) -> None:
    made.append("dbg-docker-noide")
    inference = InferenceConfig(entry_script="score.py", source_directory="src")
    port = free_port()
    config = LocalWebservice.deploy_configuration(
        docker=True, debugger_port=port, debugger_wait_s=2
    )
    service = Model.deploy(ws, "dbg-docker-noide", [], inference, config)
    service.wait_for_deployment(timeout_sec=300)
    assert service.run(SAMPLE) == {"version": 1, "total": 12}
    assert "No debugger attached within 2 s; starting without one" in service.get_logs()
    assert service.serialize()["debugger"]["port"] == port

    # a reload that fails: the old version was stopped first, so nothing serves, and it is said
    script = source / "score.py"
    script.write_text(SCORE.replace("factor = 2", "factor = 1 / 0"))
    with pytest.raises(DeploymentError) as caught:
        service.reload()
    assert "no version of it is serving now" in caught.value.message
    assert "the previous version was stopped first (the debugger)" in caught.value.message
    assert "keeps serving" not in caught.value.message
    script.write_text(SCORE)
    service.reload()
    service.wait_for_deployment(timeout_sec=300)
    assert service.run(SAMPLE) == {"version": 1, "total": 12}

    # turning the debugger off makes the containers again: nothing publishes its port any more
    service.update(deployment_config=LocalWebservice.deploy_configuration(docker=True))
    service.wait_for_deployment(timeout_sec=300)
    assert service.run(SAMPLE) == {"version": 1, "total": 12}
    assert service.serialize()["debugger"] is None
    holder = docker_client.containers.get(f"dockyard-{ws.id[:8]}-dbg-docker-noide")
    assert "5678/tcp" not in (holder.attrs["HostConfig"]["PortBindings"] or {})
    assert "debugpy is listening" not in service.get_logs()
