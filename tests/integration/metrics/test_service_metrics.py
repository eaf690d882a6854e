"""get_service_metrics / get_service_metrics_history and `dockyard service metrics` on a real local
service (supervised server processes on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dockyard import InferenceConfig, LocalWebservice, Model, Webservice, Workspace
from dockyard.cli import service_metrics
from dockyard.ops import metrics as ops_metrics
from dockyard.webservice.metrics import get_service_metrics, get_service_metrics_history

pytestmark = pytest.mark.slow

SCORE = """
def init():
    pass

def run(data):
    if data == "fail":
        raise ValueError("asked to fail")
    return {"echo": data}
"""


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Webservice]:
    ws = Workspace.create("metrics-tests", path=str(tmp_path / "ws"), exist_ok=True)
    project = tmp_path / "project"
    project.mkdir()
    (project / "score.py").write_text(SCORE)
    (tmp_path / "model.json").write_text("{}")
    model = Model.register(ws, model_path=str(tmp_path / "model.json"), model_name="nothing")
    config = InferenceConfig(entry_script="score.py", source_directory=str(project))
    deployment = LocalWebservice.deploy_configuration()
    # the server samples its history into the service folder; every 0.2 s here
    deployment.environment_variables = {"DOCKYARD_METRICS_INTERVAL_S": "0.2"}
    svc = Model.deploy(ws, "metered", [model], config, deployment)
    svc.wait_for_deployment()
    yield svc
    with contextlib.suppress(Exception):
        svc.delete()


def _count(rate: float, window: float) -> int:
    return math.floor(rate * window + 0.5)


def test_current_numbers_and_history(service: Webservice, monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_service_metrics(service, window_s=60)  # no history yet: since the start
    assert first["service"] == "metered"
    assert first["replicas"] == 1
    assert first["requests_per_s"] == 0
    assert first["latency_ms"] == {"p50": None, "p90": None, "p99": None}
    assert set(first["status_per_s"]) == {"2xx", "4xx", "5xx", "503"}

    for index in range(10):
        assert service.run(f"item-{index}") == {"echo": f"item-{index}"}
    for _ in range(2):
        with pytest.raises(Exception, match="500"):
            service.run("fail")

    now = get_service_metrics(service, window_s=60)
    window = now["window_s"]
    assert 0 < window < 60, now  # since the first call, or the start when that was < 0.5 s ago
    assert _count(now["requests_per_s"], window) == 12
    assert _count(now["status_per_s"]["2xx"], window) == 10
    assert _count(now["status_per_s"]["5xx"], window) == 2
    assert now["status_per_s"]["503"] == 0 and now["status_per_s"]["4xx"] == 0
    assert 0 < now["latency_ms"]["p50"] <= now["latency_ms"]["p90"] <= now["latency_ms"]["p99"]
    assert 0 < now["run_ms"]["p50"] <= now["run_ms"]["p99"]
    assert now["in_flight"] == 0

    # The history: the server's own ring in the service folder (every process reads it), and a
    # sample per SDK call in the scraped one (at most one per SCRAPE_SPACING_S).
    monkeypatch.setattr(ops_metrics, "SCRAPE_SPACING_S", 0.0)
    get_service_metrics(service, window_s=60)
    time.sleep(0.5)  # a server sample after the last request
    points = get_service_metrics_history(service, since_s=3600)
    assert points, "no history points"
    assert [p["t"] for p in points] == sorted(p["t"] for p in points)
    assert all(p["replicas"] == 1 for p in points)
    starts = [_first_sample_time(service)] + [p["t"] for p in points]
    served = sum(
        _count(p["requests_per_s"], p["t"] - before)
        for p, before in zip(points, starts, strict=False)
    )
    assert served == 12
    assert any(p["p99_ms"] is not None for p in points)
    folder = Path(service._record.runtime["service_dir"]) / "metrics"
    assert (folder / "history.ring").is_file() and (folder / "scraped.ring").is_file()


def _first_sample_time(service: Webservice) -> float:
    from dockyard.server.metrics_history import read_history  # reason: test helper

    ring = Path(service._record.runtime["service_dir"]) / "metrics" / "history.ring"
    return read_history(str(ring))[0][0]


def test_cli_prints_the_numbers(service: Webservice) -> None:
    app = typer.Typer()
    app.command("metrics")(service_metrics.metrics)
    app.command("other")(lambda: None)  # two commands: typer keeps the sub-command name
    service.run("x")
    workspace = str(service.workspace.path)
    result = CliRunner().invoke(app, ["metrics", "metered", "-w", workspace, "--output", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["service"] == "metered" and data["replicas"] == 1
    table = CliRunner().invoke(app, ["metrics", "metered", "-w", workspace])
    assert table.exit_code == 0, table.output
    assert "requests" in table.stdout and "latency" in table.stdout and "p99" in table.stdout
