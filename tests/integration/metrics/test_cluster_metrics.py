"""Metrics of a cluster service on a real local Ray: each replica answers /metrics behind Serve's
proxy (with the key), get_service_metrics adds the replicas up, and Ray Serve's own per-replica
numbers are read from the cluster's metrics endpoints."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard import AksCompute, AksWebservice, ComputeTarget, InferenceConfig, Model, Workspace
from dockyard.ops import metrics as ops_metrics
from dockyard.ops.services import scope_of
from dockyard.webservice.metrics import get_service_metrics, get_service_metrics_history
from tests.integration.metrics.conftest import parse, value
from tests.integration.ray.conftest import RayClusterFacts

pytestmark = [pytest.mark.ray, pytest.mark.slow]

ECHO = """
import os
def init():
    pass
def run(raw):
    return {"pid": os.getpid()}
"""


@pytest.fixture
def cluster_service(tmp_path: Path, ray_cluster: RayClusterFacts) -> Iterator[AksWebservice]:
    ws = Workspace.create("metrics-ray", path=str(tmp_path / "ws"), exist_ok=True)
    config = AksCompute.attach_configuration(
        address=ray_cluster.address, serve_port=ray_cluster.serve_port
    )
    target = ComputeTarget.attach(ws, "myaks", config)
    target.wait_for_completion(show_output=False)
    source = tmp_path / "src"
    source.mkdir()
    (source / "score.py").write_text(ECHO)
    (tmp_path / "weights.txt").write_text("1\n")
    model = Model.register(ws, model_path=str(tmp_path / "weights.txt"), model_name="w")
    inference = InferenceConfig(entry_script="score.py", source_directory=str(source))
    deployment = AksWebservice.deploy_configuration(
        autoscale_enabled=False, num_replicas=2, cpu_cores=0.1, memory_gb=0.1
    )
    service = Model.deploy(ws, "metered-aks", [model], inference, deployment, target)
    try:
        service.wait_for_deployment(show_output=False)
        assert service.state == "Healthy", service.get_logs()
        yield service
    finally:
        with contextlib.suppress(Exception):
            service.delete()


def test_replicas_answer_metrics_and_the_sdk_adds_them_up(
    cluster_service: AksWebservice, ray_cluster: RayClusterFacts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ops_metrics, "SCRAPE_SPACING_S", 0.0)  # keep every call's sample
    scoring = cluster_service.scoring_uri
    assert scoring is not None
    metrics_url = scoring.removesuffix("/score") + "/metrics"
    primary, _ = cluster_service.get_keys()
    key = {"Authorization": f"Bearer {primary}"}
    assert httpx.get(metrics_url, timeout=10).status_code == 401
    first = get_service_metrics(cluster_service, window_s=60)
    assert first["replicas"] == 2
    pids = set()
    for _ in range(12):
        answer = httpx.post(scoring, json={"x": 1}, headers=key, timeout=30)
        assert answer.status_code == 200, answer.text
        pids.add(answer.json()["pid"])
    scraped = httpx.get(metrics_url, headers=key, timeout=10)
    assert scraped.status_code == 200
    samples = parse(scraped.text)
    assert value(samples, "dockyard_workers") == 1  # one replica answered this scrape
    assert value(samples, "dockyard_http_requests_total", route="/score", code="2xx") <= 12

    now = get_service_metrics(cluster_service, window_s=60)
    assert now["replicas"] == 2
    window = now["window_s"]
    assert round(now["requests_per_s"] * window) == 12  # both replicas' counts, added up
    assert round(now["status_per_s"]["2xx"] * window) == 12
    history = get_service_metrics_history(cluster_service)
    assert history and history[-1]["replicas"] == 2
    # two samples (the two calls), so one point spanning the same window as `now`
    assert len(history) == 1 and round(history[0]["requests_per_s"] * window) == 12
    # the status names the cluster's dashboard, so Serve's own per-replica numbers come along;
    # Ray exports them every few seconds, so right after the requests there may be none yet
    assert isinstance(now["per_replica"], list) and len(now["per_replica"]) in (0, 2)

    # Ray Serve's own numbers, per replica, from the cluster's metrics endpoints.
    app = f"dockyard-{scope_of(cluster_service.workspace)}-metered-aks"
    deadline = time.monotonic() + 30  # Ray exports its metrics every few seconds
    per_replica: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        per_replica = ops_metrics.serve_replicas(ray_cluster.dashboard_url, app)
        served = sum(float(r["requests_total"]) for r in per_replica)  # type: ignore[arg-type]
        if len(per_replica) == 2 and served >= 12:
            break
        time.sleep(1)
    assert len(per_replica) == 2, per_replica
    assert all(r["healthy"] for r in per_replica)
    assert sum(float(r["requests_total"]) for r in per_replica) >= 12  # type: ignore[arg-type]
