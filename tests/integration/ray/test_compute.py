"""Compute targets on a real local Ray: a created cluster outlives the process that created it,
listens on 127.0.0.1 only and is stopped, exactly, by delete(); an attached one is never stopped;
resolve() starts a local cluster when there is none, starts it again when its processes died,
and honours RAY_ADDRESS."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard import ComputeTarget, ComputeTargetException, RayCompute, Workspace
from dockyard.compute import compute_targets
from dockyard.ops import cluster_choice, computes
from dockyard.targets.ray_cluster_status import cluster_status
from dockyard.targets.ray_processes import (
    descendants,
    identify,
    is_running,
    listeners,
    session_members,
    terminate,
)
from dockyard.targets.ray_record import members, read_record
from tests.integration.ray.conftest import RayClusterFacts

pytestmark = [pytest.mark.ray, pytest.mark.slow]

CREATE = """
import sys
from dockyard import ComputeTarget, RayCompute, Workspace
ws = Workspace.from_path(sys.argv[1])
target = ComputeTarget.create(ws, "c1", RayCompute.provisioning_configuration(num_cpus=2))
target.wait_for_completion(show_output=True)
print(target.provisioning_state, target.address)
"""


def _every_process(cluster_folder: Path) -> list[int]:
    """The cluster's processes: its session's, the recorded ones and all their children."""
    record = read_record(cluster_folder)
    assert record is not None
    found = {p.pid for p in members(record)} | {p.pid for p in session_members(record.session)}
    return descendants(found)


def assert_loopback_only(cluster_folder: Path) -> list[tuple[str, int]]:
    record = read_record(cluster_folder)
    assert record is not None
    found = listeners(_every_process(cluster_folder))
    outside = [entry for entry in found if entry.address != "127.0.0.1"]
    assert not outside, f"cluster processes listening beyond 127.0.0.1: {outside}"
    ports = {entry.port for entry in found}
    assert record.serve_port in ports, "Serve's proxy is not among the cluster's listeners"
    assert record.gcs_port in ports
    return [(entry.address, entry.port) for entry in found]


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace whose compute target c1 was created by a process that has exited since."""
    path = tmp_path_factory.mktemp("compute-ws")
    home = pytest.MonkeyPatch()  # module-scoped: runs before the per-test DOCKYARD_HOME
    home.setenv("DOCKYARD_HOME", str(tmp_path_factory.mktemp("compute-home")))
    Workspace.create("compute-it", path=str(path))
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CREATE, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Succeeded 127.0.0.1:"), done.stdout
    assert "c1: Succeeded" in done.stderr  # wait_for_completion(show_output=True)
    assert "local Ray cluster" in done.stderr and "Ray Serve on http://127.0.0.1:" in done.stderr
    print(f"compute create c1 took {time.monotonic() - began:.1f} s")
    yield path
    ws = Workspace.from_path(path)
    for name in ("c1", "a1"):
        if computes.get(ws, name) is not None:
            computes.delete(ws, name)
    home.undo()


def test_a_created_cluster_outlives_the_creating_process(created: Path) -> None:
    ws = Workspace.from_path(created)
    target = ComputeTarget(ws, "c1")
    assert isinstance(target, RayCompute)
    assert (target.provisioning, target.provisioning_state, target.owned) == (
        "created",
        "Succeeded",
        True,
    )
    status = target.get_status()
    assert status.alive is True and status.error is None
    assert status.cpus == 2.0 and len(status.nodes) == 1 and status.nodes[0]["head"] is True
    assert status.ray_version == "2.60.0"
    data = target.serialize()
    assert data["address"] == target.address and data["address"].startswith("127.0.0.1:")
    assert data["serveHost"] == "127.0.0.1" and data["numCpus"] == 2
    assert Path(data["folder"]) == created / "computes" / "c1"
    record = json.loads((created / "computes" / "c1" / "cluster.json").read_text())
    assert record["address"] == target.address and record["serve_port"] == target.serve_port
    assert record["pids"] and record["pgid"] == record["session"]
    assert record["temp_dir"].startswith("/tmp/dockyard-ray-") and len(record["temp_dir"]) < 40
    assert set(target.processes()) >= set(record["pids"][:2])  # GCS and raylet


def test_every_process_of_the_cluster_listens_on_loopback_only(created: Path) -> None:
    found = assert_loopback_only(created / "computes" / "c1")
    assert len(found) >= 8  # GCS, raylet, dashboard, agents, client server, Serve's proxy


def test_the_suites_cluster_listens_on_loopback_only(ray_cluster: RayClusterFacts) -> None:
    assert_loopback_only(ray_cluster.folder)


def test_attach_lists_and_delete_forgets_without_stopping(
    created: Path, ray_cluster: RayClusterFacts
) -> None:
    ws = Workspace.from_path(created)
    config = RayCompute.attach_configuration(
        address=ray_cluster.address, serve_port=ray_cluster.serve_port
    )
    began = time.monotonic()
    attached = ComputeTarget.attach(ws, "a1", config)
    print(f"attach took {time.monotonic() - began:.1f} s")
    assert (attached.provisioning, attached.owned, attached.address) == (
        "attached",
        False,
        ray_cluster.address,
    )
    assert attached.serialize()["dashboardUrl"] == ray_cluster.dashboard_url
    assert attached.get_status().alive is True
    assert sorted(compute_targets(ws)) == ["a1", "c1"]
    assert {t.name: t.provisioning for t in ComputeTarget.list(ws)} == {
        "a1": "attached",
        "c1": "created",
    }
    ref = cluster_choice.resolve(ws, "a1")
    assert (ref.address, ref.owned, ref.serve_host, ref.serve_port) == (
        ray_cluster.address, False, "127.0.0.1", ray_cluster.serve_port
    )  # fmt: skip
    suite = read_record(ray_cluster.folder)
    assert suite is not None
    before = members(suite)
    ComputeTarget(ws, "a1").delete()
    assert all(is_running(p) for p in before)
    assert cluster_status(ray_cluster.address).alive is True
    with pytest.raises(ComputeTargetException, match="no compute target named 'a1'"):
        ComputeTarget(ws, "a1")


def test_delete_stops_every_process_the_cluster_started(created: Path) -> None:
    ws = Workspace.from_path(created)
    folder = created / "computes" / "c1"
    record = read_record(folder)
    assert record is not None
    every = _every_process(folder)
    running = members(record)
    assert len(running) >= len(record.processes) - 2  # Ray's short-lived helpers may be gone
    began = time.monotonic()
    ComputeTarget(ws, "c1").delete()
    took = time.monotonic() - began
    print(f"compute delete c1 took {took:.1f} s")
    assert took < 30
    assert not any(is_running(p) for p in running)
    assert [pid for pid in every if identify(pid) is not None] == []  # a zombie is gone
    assert not record.temp_dir.exists() and not folder.exists()
    assert "c1" not in compute_targets(ws)
    assert cluster_status(record.address).alive is False


def test_resolve_starts_a_local_cluster_and_starts_it_again_after_it_died(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ws = Workspace.create("resolve-it", path=str(tmp_path / "ws"))
    said: list[str] = []
    try:
        ref = cluster_choice.resolve(ws, None, said.append)
        assert (ref.name, ref.owned, ref.serve_host) == ("local-ray", True, "127.0.0.1")
        assert ref.address.startswith("127.0.0.1:") and ref.dashboard_url
        assert any(
            f"no cluster target given; started local Ray cluster 'local-ray' at {ref.address}"
            in line
            and "(dockyard compute delete local-ray stops it)" in line
            for line in said
        ), said
        assert cluster_choice.resolve(ws, None, said.append) == ref  # running: used as it is
        # the machine "restarts": every process is gone, the record stays
        record = read_record(Path(str(computes.require(ws, "local-ray").folder)))
        assert record is not None
        assert terminate(members(record), grace_s=0.5, timeout_s=20) == []
        said.clear()
        again = cluster_choice.resolve(ws, None, said.append)
        assert any("is not running" in line and "starting it again" in line for line in said)
        assert again.name == "local-ray" and again.address != ref.address
        assert cluster_status(again.address).alive is True
    finally:
        if computes.get(ws, "local-ray") is not None:
            computes.delete(ws, "local-ray")


def test_ray_address_means_attach_to_that(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ray_cluster: RayClusterFacts
) -> None:
    ws = Workspace.create("ray-address", path=str(tmp_path / "ws"))
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    said: list[str] = []
    ref = cluster_choice.resolve(ws, None, said.append)
    assert (ref.name, ref.address, ref.owned) == ("ray-address", ray_cluster.address, False)
    assert any(f"RAY_ADDRESS={ray_cluster.address} is recorded as attached" in s for s in said)
    assert ComputeTarget(ws, "ray-address").provisioning == "attached"
    assert cluster_choice.resolve(ws, None, said.append) == ref
