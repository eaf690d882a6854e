"""The debugger on the cluster target (a real local Ray): one replica with debugpy listening on
its node's 127.0.0.1, a real DAP client stopping at a breakpoint in the user's score.py during a
request through Serve's proxy, and again after an update (the old replica stops first; the path
mappings name a stable link on the node, not the folder Ray unpacked the files in).

The cluster configuration keeps ``debugger_port`` as the server variables it stands for
(``DOCKYARD_DEBUGPY_LISTEN``/``_WAIT_S`` in ``environment_variables``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard import (
    AksCompute,
    AksWebservice,
    ComputeTarget,
    InferenceConfig,
    Model,
    Webservice,
    Workspace,
)
from tests.integration.ray.conftest import RayClusterFacts, ray_cluster  # noqa: F401

from .conftest import SCORE, free_port
from .test_local_debugger import hit_breakpoint

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("debugger-ray", path=str(tmp_path / "ws"), exist_ok=True)


@pytest.fixture
def target(ws: Workspace, ray_cluster: RayClusterFacts) -> ComputeTarget:  # noqa: F811
    config = AksCompute.attach_configuration(
        address=ray_cluster.address, serve_port=ray_cluster.serve_port
    )
    compute = ComputeTarget.attach(ws, "dbgaks", config)
    compute.wait_for_completion(show_output=False)
    return compute


@pytest.fixture
def services(ws: Workspace) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(Exception):
            Webservice(ws, name).delete()


def _in_background(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - the assertion shows it
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_cluster_service_debugger_one_replica_breakpoint_before_and_after_update(
    ws: Workspace, source: Path, target: ComputeTarget, services: list[str]
) -> None:
    services.append("dbg-ray")
    port = free_port()
    inference = InferenceConfig(entry_script="score.py", source_directory="src")
    config = AksWebservice.deploy_configuration(
        cpu_cores=0.1, memory_gb=0.1, auth_enabled=False, autoscale_max_replicas=3,
        debugger_port=port, debugger_wait_s=0,
    )  # fmt: skip
    service = Model.deploy(ws, "dbg-ray", [], inference, config, deployment_target=target)
    service.wait_for_deployment(timeout_sec=600)
    assert service.num_replicas == 1  # one replica, whatever the autoscaler would do

    launch = service.get_debug_config()
    assert launch["connect"] == {"host": "127.0.0.1", "port": port}
    assert launch["pathMappings"] == [
        {"localRoot": str(source), "remoteRoot": "/tmp/dockyard-debug/dbg-ray/app/src"}
    ]
    script = source / "score.py"
    assert hit_breakpoint(service, launch, script) == {"version": 1, "total": 12}

    script.write_text(SCORE.replace("VERSION = 1", "VERSION = 2"))
    updating, out = _in_background(lambda: service.update(inference_config=inference))
    updating.join(600)
    assert "error" not in out, out
    assert service.get_debug_config() == launch
    assert hit_breakpoint(service, launch, script) == {"version": 2, "total": 12}
    assert service.num_replicas == 1
