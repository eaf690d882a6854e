"""Compute targets without a running cluster: names, lookups, configurations, resolve()'s choice
among recorded targets, a record that names a dead cluster, and an address where nothing listens
(a clear error in seconds, not Ray's minute of retries)."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest

from dockyard import (
    AksCompute,
    ComputeTarget,
    ComputeTargetException,
    NotFoundError,
    RayCompute,
    UserError,
    Workspace,
)
from dockyard.compute import compute_targets
from dockyard.errors import ConflictError, EngineUnavailableError, ValidationError
from dockyard.ops import cluster_choice, computes
from dockyard.store import computes as store
from dockyard.targets.ray_cluster import start_local
from dockyard.targets.ray_cluster_status import cluster_status
from dockyard.targets.ray_processes import ProcessId
from dockyard.targets.ray_record import LocalCluster, is_alive, read_record, write_record


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("computes", path=str(tmp_path / "ws"))


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _attached(ws: Workspace, name: str, default: bool = False) -> None:
    """An attached target recorded directly (resolve() does not ask an attached cluster)."""
    record = store.ComputeRecord(
        name=name,
        kind="ray",
        provisioning=store.ATTACHED,
        address=f"10.0.0.{len(name)}:6379",
        serve_port=8000,
        folder=None,
        state=computes.SUCCEEDED,
        details={"default": default, "serve_host": "10.0.0.9"},
    )
    store.save(ws.store, record)


def test_an_unknown_name_says_how_to_list_the_targets(ws: Workspace) -> None:
    with pytest.raises(ComputeTargetException) as caught:
        ComputeTarget(ws, "nope")
    assert isinstance(caught.value, NotFoundError)
    assert "no compute target named 'nope'" in str(caught.value)
    assert "`dockyard compute list`" in str(caught.value)
    assert compute_targets(ws) == {}
    assert ComputeTarget.list(ws) == []


def test_names_follow_azures_rule(ws: Workspace) -> None:
    for bad in ("x", "1abc", "a" * 17, "has space", "under_score"):
        with pytest.raises(ValidationError, match="Invalid compute target name"):
            ComputeTarget.create(ws, bad, RayCompute.provisioning_configuration())
    assert computes.check_name("ray-1") == "ray-1"


def test_azure_parameters_are_accepted_and_said_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="dockyard.compute")
    first = AksCompute.provisioning_configuration(agent_count=3, vm_size="Standard_D3_v2")
    AksCompute.provisioning_configuration(agent_count=5)
    assert AksCompute is RayCompute
    assert first.num_cpus is None and first.ignored == {
        "agent_count": 3,
        "vm_size": "Standard_D3_v2",
    }
    said = [r.getMessage() for r in caplog.records]
    assert sum("agent_count" in line for line in said) == 1
    assert any("vm_size='Standard_D3_v2' has no meaning here" in line for line in said)
    config = AksCompute.attach_configuration(address="10.1.2.3:6379", resource_group="rg")
    assert config.address == "10.1.2.3:6379" and config.serve_port == 8000
    with pytest.raises(ValidationError, match="needs the Ray cluster's address") as caught:
        AksCompute.attach_configuration(resource_group="rg", cluster_name="aks")
    assert "cluster_name, resource_group name an Azure cluster" in str(caught.value)


def test_create_and_attach_want_their_own_configurations(ws: Workspace) -> None:
    with pytest.raises(ValidationError, match="provisioning_configuration must come from"):
        ComputeTarget.create(ws, "c1", RayCompute.attach_configuration(address="h:1"))
    with pytest.raises(ValidationError, match="attach_configuration must come from"):
        ComputeTarget.attach(ws, "c1", RayCompute.provisioning_configuration())
    for bad in ("nohost", "h:port", "http://h:1/x"):
        with pytest.raises(ValidationError, match="is not a Ray cluster address"):
            ComputeTarget.attach(ws, "c1", RayCompute.attach_configuration(address=bad))


def test_attaching_where_nothing_listens_fails_in_seconds(ws: Workspace) -> None:
    port = _dead_port()
    began = time.monotonic()
    with pytest.raises(EngineUnavailableError) as caught:
        ComputeTarget.attach(
            ws, "gone", RayCompute.attach_configuration(address=f"127.0.0.1:{port}")
        )
    assert time.monotonic() - began < 10
    text = str(caught.value)
    assert f"Cannot attach compute target 'gone': the Ray cluster at 127.0.0.1:{port}" in text
    assert "nothing accepts connections" in text and "dockyard compute create NAME" in text
    assert computes.get(ws, "gone") is None  # nothing recorded
    status = cluster_status(f"ray://127.0.0.1:{port}")
    assert status.alive is False and "nothing accepts connections" in str(status.error)


def test_resolve_takes_the_only_target_or_the_default(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    _attached(ws, "only")
    ref = cluster_choice.resolve(ws, None)
    assert (ref.name, ref.address, ref.owned, ref.serve_port) == (
        "only",
        "10.0.0.4:6379",
        False,
        8000,
    )
    assert ref.serve_host == "10.0.0.9"
    _attached(ws, "other")
    with pytest.raises(
        ValidationError, match="several compute targets \\(only, other\\)"
    ) as caught:
        cluster_choice.resolve(ws, None)
    assert "`dockyard compute default NAME`" in str(caught.value)
    ComputeTarget(ws, "other").set_default()
    assert cluster_choice.resolve(ws, None).name == "other"
    assert cluster_choice.resolve(ws, "only").name == "only"
    assert [t.name for t in ComputeTarget.list(ws) if t.is_default] == ["other"]
    with pytest.raises(NotFoundError, match="no compute target named 'missing'"):
        cluster_choice.resolve(ws, "missing")


def test_deleting_an_attached_target_only_forgets_it(ws: Workspace) -> None:
    _attached(ws, "far")
    target = ComputeTarget(ws, "far")
    assert target.owned is False and target.processes() == []
    with pytest.raises(ConflictError, match="already exists"):
        ComputeTarget.attach(ws, "far", RayCompute.attach_configuration(address="10.0.0.1:1"))
    target.detach()
    assert compute_targets(ws) == {}


def test_a_record_whose_processes_are_gone_is_not_alive(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    assert cluster_status(folder).error == f"no cluster is recorded in {folder}"
    gone = LocalCluster(
        folder=folder, address="127.0.0.1:1", gcs_port=1, dashboard_url="http://127.0.0.1:2",
        serve_host="127.0.0.1", serve_port=3, temp_dir=tmp_path / "dockyard-ray-x",
        session=2**22 + 7, pgid=2**22 + 7, processes=(ProcessId(2**22 + 7, 1),), num_cpus=2,
        started_at="2026-01-01T00:00:00+00:00", ray_version="2.60.0", python_version="3.11.7",
        python="python", boot_id="", ports={"gcs": 1},
    )  # fmt: skip
    write_record(gone)
    assert read_record(folder) == gone
    assert not is_alive(gone)
    status = cluster_status(folder)
    assert status.alive is False and "processes are gone" in str(status.error)


def test_start_local_refuses_bad_input_before_starting_anything(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    with pytest.raises(ValidationError, match="whole number of CPUs"):
        start_local(tmp_path / "a", num_cpus=1.5)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConflictError, match=f"Port {port} on 127.0.0.1 is taken"):
            start_local(tmp_path / "b", serve_port=port)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert issubclass(ValidationError, UserError)
