"""A second Ray node in a Docker container joins the suite's cluster, and a replica placed on it
serves the model: what proves that models, source and environment reach a node by themselves.

The container runs with host networking and mounts nothing: not the workspace folder, not
dockyard's source. It has Debian's Python 3.11 and the head's Ray (``node/Dockerfile``), nothing
of dockyard. A service deployed through the SDK with ``ray_resources={"second_node": 1}`` must
then get, through Ray alone, its score.py and the registered model (``working_dir``), dockyard's
server (``py_modules``: the server wheel) and its environment's pins (``uv``: a package that the
head's Python does not have). The replica's answer says where each came from, the dashboard says
on which node the replica runs, and every process of the node must listen on 127.0.0.1 only.

The node and the service are set up once for the module; at the end the service is deleted and
the container stopped and removed (by id), and the cluster reports the node dead.
Every request goes to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import platform
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard import (
    AksCompute,
    AksWebservice,
    ComputeTarget,
    Environment,
    InferenceConfig,
    Model,
    Webservice,
    Workspace,
)
from dockyard.targets.ray_processes import Listener, command_line, listeners
from tests.integration.docker.conftest import (  # noqa: F401 - fixtures used by name
    base_image,
    docker_client,
)
from tests.integration.ray import second_node
from tests.integration.ray.conftest import RayClusterFacts

pytestmark = [pytest.mark.ray, pytest.mark.docker, pytest.mark.slow]

REPO_SRC = Path(__file__).resolve().parents[3] / "src"
#: Small, pure Python, and not installed beside dockyard: the node must install it (uv).
PACKAGE, PACKAGE_PIN = "roman", "roman==4.2"
YEAR, ROMAN = 1987, "MCMLXXXVII"
SERVICE = "node-svc"

SCORE = """
import glob, os, platform
import roman

def init():
    global year
    pattern = os.path.join(os.environ["AZUREML_MODEL_DIR"], "**", "year.txt")
    with open(glob.glob(pattern, recursive=True)[0]) as fh:
        year = int(fh.read())
    print(f"second-node replica read {year} from the model", flush=True)

def run(raw):
    import dockyard
    return {
        "year": year,
        "roman": roman.toRoman(year),
        "python": platform.python_version(),
        "roman_from": roman.__file__,
        "dockyard_from": dockyard.__file__,
        "sees_workspace": os.path.exists(WORKSPACE),
        "sees_source": os.path.exists(SOURCE),
    }
"""


@dataclass
class Node:
    container: Any
    record: dict[str, Any]  # the cluster's record of it: node_id, node_ip, resources_total
    ports: dict[str, int]  # listener flag -> port
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class Deployed:
    service: Webservice
    key: str
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def node(docker_client: Any, base_image: str, ray_cluster: RayClusterFacts) -> Iterator[Node]:  # noqa: F811
    """A worker node of the suite's cluster in a container, with the resource 'second_node'."""
    began = time.monotonic()
    image = second_node.node_image(docker_client, base_image)
    built = time.monotonic() - began
    stray = [
        n["node_id"][:8]
        for n in second_node.cluster_nodes(ray_cluster.dashboard_url)
        if n["state"] == "ALIVE" and "second_node" in (n.get("resources_total") or {})
    ]
    assert not stray, (
        f"nodes {stray} of the cluster at {ray_cluster.address} already offer 'second_node' "
        "(a container left by an earlier run? docker ps --filter label=dockyard.test)"
    )
    marker = f"dockyard_test_{secrets.token_hex(4)}"  # names this node and no other
    container, ports = second_node.start_node(
        docker_client, image, ray_cluster.address, {"second_node": 1, marker: 1}
    )
    try:
        started = time.monotonic()
        record = second_node.wait_for_node(ray_cluster.dashboard_url, container, marker)
        yield Node(container, record, ports, {"image": built, "join": time.monotonic() - started})
    finally:
        second_node.remove_node(container)
    assert not docker_client.containers.list(all=True, filters={"id": container.id})
    gone = second_node.wait_for_dead(ray_cluster.dashboard_url, record["node_id"])
    assert gone.get("state", "DEAD") == "DEAD"


@pytest.fixture(scope="module")
def deployed(
    node: Node, ray_cluster: RayClusterFacts, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    """Service SERVICE, deployed through the SDK with ray_resources={"second_node": 1}: score.py
    in a source folder, a registered model file it reads in init(), and an environment that pins
    a package the head's Python does not have."""
    found = subprocess.run(
        [sys.executable, "-m", "pip", "show", PACKAGE], capture_output=True, check=False
    )
    assert found.returncode != 0, f"{PACKAGE} is installed beside dockyard: pick another package"
    home = pytest.MonkeyPatch()  # module-scoped: the per-test DOCKYARD_HOME comes later
    home.setenv("DOCKYARD_HOME", str(tmp_path_factory.mktemp("second-node-home")))
    folder = tmp_path_factory.mktemp("second-node")
    workspace = folder / "ws"
    ws = Workspace.create("second-node", path=str(workspace), exist_ok=True)
    config = AksCompute.attach_configuration(
        address=ray_cluster.address, serve_port=ray_cluster.serve_port
    )
    target = ComputeTarget.attach(ws, "cluster", config)
    target.wait_for_completion(show_output=False)
    (folder / "year.txt").write_text(f"{YEAR}\n")
    model = Model.register(ws, model_path=str(folder / "year.txt"), model_name="year")
    source = folder / "src"
    source.mkdir()
    where = f"WORKSPACE = {str(workspace)!r}\nSOURCE = {str(REPO_SRC)!r}\n"
    (source / "score.py").write_text(where + SCORE)
    (folder / "env.yml").write_text(
        f"name: node-env\ndependencies:\n  - python=3.11\n  - pip:\n      - {PACKAGE_PIN}\n"
    )
    env = Environment.from_conda_specification("node-env", str(folder / "env.yml"))
    inference = InferenceConfig(
        entry_script="score.py", source_directory=str(source), environment=env
    )
    deployment = AksWebservice.deploy_configuration(
        num_replicas=1, cpu_cores=0.1, memory_gb=0.1, ray_resources={"second_node": 1},
        startup_timeout_seconds=240,  # the node installs the environment: bounded all the same
    )  # fmt: skip
    began = time.monotonic()
    service = None
    try:
        service = Model.deploy(
            ws, SERVICE, [model], inference, deployment, deployment_target=target
        )
        service.wait_for_deployment(show_output=True)
        seconds = {"deploy": time.monotonic() - began}
        primary, _ = service.get_keys()
        yield Deployed(service, primary, seconds)
    finally:
        try:
            if service is not None:
                service.delete()
            else:  # a failed deploy may have left its application
                with contextlib.suppress(Exception):
                    Webservice(ws, SERVICE).delete()
        finally:
            home.undo()
    left = [app for app in serve_applications(ray_cluster) if app.endswith(f"-{SERVICE}")]
    assert not left, f"Serve applications left after delete(): {left}"


def serve_applications(ray_cluster: RayClusterFacts) -> dict[str, Any]:
    answer = httpx.get(f"{ray_cluster.dashboard_url}/api/serve/applications/", timeout=10)
    return dict(answer.json()["applications"])


def replicas_of(ray_cluster: RayClusterFacts) -> list[dict[str, Any]]:
    apps = serve_applications(ray_cluster)
    app = next(v for k, v in apps.items() if k.endswith(f"-{SERVICE}"))
    return list(app["deployments"]["scoring"]["replicas"])


def test_a_replica_placed_on_a_second_node_in_a_container_serves_the_model(
    node: Node, deployed: Deployed, ray_cluster: RayClusterFacts
) -> None:
    alive = [
        n for n in second_node.cluster_nodes(ray_cluster.dashboard_url) if n["state"] == "ALIVE"
    ]
    assert len(alive) >= 2 and node.record["node_ip"] == "127.0.0.1"
    service = deployed.service
    assert service.state == "Healthy", service.error
    assert service.scoring_uri is not None and service.scoring_uri.startswith("http://127.0.0.1:")

    began = time.monotonic()
    answer = httpx.post(
        service.scoring_uri, json={"data": 1},
        headers={"Authorization": f"Bearer {deployed.key}"}, timeout=60,
    )  # fmt: skip
    first_answer = time.monotonic() - began
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # the model file, read in init(), and the package only the node's environment has
    assert (body["year"], body["roman"]) == (YEAR, ROMAN), body
    assert "/runtime_resources/uv/" in body["roman_from"], body  # Ray's uv environment on the node
    # dockyard's server from the wheel Ray shipped (py_modules), not from a shared folder
    assert "/runtime_resources/py_modules_files/" in body["dockyard_from"], body
    assert body["sees_workspace"] is False and body["sees_source"] is False, body
    assert service.run(json.dumps({"data": 2}))["roman"] == ROMAN

    # the dashboard: the replica runs on the container's node, in the container
    replicas = replicas_of(ray_cluster)
    assert replicas and all(r["state"] == "RUNNING" for r in replicas), replicas
    assert {r["node_id"] for r in replicas} == {node.record["node_id"]}, (replicas, node.record)
    assert {r["node_ip"] for r in replicas} == {"127.0.0.1"}
    inside = {second_node.namespace_pid(pid) for pid in second_node.host_pids(node.container)}
    assert {r["pid"] for r in replicas} <= inside, (replicas, inside)

    # the replica's own lines, which the cluster's dashboard fetched from the node
    logs = service.get_logs()
    assert f"second-node replica read {YEAR} from the model" in logs, logs[-3000:]
    assert f"--- replica {replicas[0]['replica_id']} (pid {replicas[0]['pid']}" in logs, logs[:600]
    print(
        f"\nsecond node: image {node.seconds['image']:.1f} s, join {node.seconds['join']:.1f} s, "
        f"deploy {deployed.seconds['deploy']:.1f} s, first answer {first_answer:.2f} s; "
        f"node Python {body['python']}, head Python {platform.python_version()}"
    )


def test_every_process_of_the_node_listens_on_127_0_0_1_only(
    node: Node, deployed: Deployed, ray_cluster: RayClusterFacts
) -> None:
    pids = second_node.host_pids(node.container)  # the replica's worker included
    found = listeners(pids)
    ports = {entry.port for entry in found}
    assert set(node.ports.values()) <= ports, f"listeners {found}, ports given {node.ports}"
    replica_pids = {r["pid"] for r in replicas_of(ray_cluster)}
    in_replicas = {pid for pid in pids if second_node.namespace_pid(pid) in replica_pids}
    assert any(entry.pid in in_replicas for entry in found), "found no listener of the replica"
    # the replica's inter-deployment gRPC server included (Serve 2.60 binds it to [::]:0;
    # server/ray_replica.py binds it to the node's address)
    outside = [entry for entry in found if entry.address != "127.0.0.1"]
    assert not outside, described(outside)


def described(entries: list[Listener]) -> str:
    return "processes of the node listening beyond 127.0.0.1: " + "; ".join(
        f"{e.address}:{e.port} held by pid {e.pid} ({command_line(e.pid)[:200]})" for e in entries
    )
