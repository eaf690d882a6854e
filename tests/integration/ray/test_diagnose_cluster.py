"""``dockyard diagnose SERVICE`` on cluster services (a real local Ray): an init() failure is
found at the state step with the script's traceback; a healthy service passes every step, its
readiness read through Ray's proxy, and is left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

import dockyard
from dockyard import ComputeTarget, Webservice, Workspace
from dockyard.ops import records
from tests.integration.ray import test_cluster_service as cluster
from tests.integration.ray.test_cluster_service import FAILING, deploy_echo, post

pytestmark = [pytest.mark.ray, pytest.mark.slow]

# the cluster-service tests' fixtures, by name
ws, aks_target, services = cluster.ws, cluster.aks_target, cluster.services


def test_a_failed_init_on_the_cluster_is_found_at_the_state_step(
    ws: Workspace, tmp_path: Path, aks_target: ComputeTarget, services: list[str]
) -> None:
    services.append("diag-broken")
    with pytest.raises(Exception, match="model.pkl is not in the model folder"):
        deploy_echo(ws, tmp_path, aks_target, "diag-broken", text=FAILING, num_replicas=1)
    report = dockyard.diagnose(ws, "diag-broken")
    failed = report.failed
    assert failed is not None and failed.step == "state", report
    assert failed.finding.startswith("Failed"), failed.finding
    assert "FileNotFoundError: model.pkl is not in the model folder" in (
        failed.finding + failed.evidence
    )
    assert "line 3, in init" in failed.evidence


def test_a_healthy_cluster_service_passes_every_step_and_is_left_as_it_was(
    ws: Workspace, tmp_path: Path, aks_target: ComputeTarget, services: list[str]
) -> None:
    services.append("diag-calm")
    service = deploy_echo(ws, tmp_path, aks_target, "diag-calm", auth_enabled=False, num_replicas=1)
    assert post(service, {"city": "Seoul"}).status_code == 200
    before = (Webservice(ws, "diag-calm").serialize(), len(records.events(ws, "diag-calm")))
    report = dockyard.diagnose(ws, "diag-calm")
    assert report.ok, report
    assert report.step("state").finding.startswith("Healthy")
    assert "/health/ready: 200" in report.step("readiness").finding
    after = (Webservice(ws, "diag-calm").serialize(), len(records.events(ws, "diag-calm")))
    assert after == before
