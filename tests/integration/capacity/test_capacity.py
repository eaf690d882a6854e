"""Capacity planning on a real local service (`dockyard service capacity`, measure_capacity).

Each test deploys real scoring servers on 127.0.0.1 whose run() sleeps 50 ms (one request at a
time per replica: about 20 requests per second), loads them for a few seconds (127.0.0.1 only)
and deletes them at the end. No environment is given, so the server runs in this interpreter.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard import InferenceConfig, LocalWebservice, Model, Webservice, Workspace
from dockyard.errors import DockyardError, WebserviceError
from dockyard.webservice import measure_capacity
from dockyard.webservice.config import ClusterDeploymentConfig, build_config, replicas_needed
from tests.integration.cli.conftest import cli

pytestmark = pytest.mark.slow

#: run() takes 50 ms; inference-schema gives the swagger an example (the default sample).
DECORATED = """
import time
from inference_schema.schema_decorators import input_schema
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType

def init():
    print("capacity service ready")

@input_schema("data", StandardPythonParameterType([[1, 2, 3]]))
def run(data):
    time.sleep(0.05)
    return {"rows": len(data)}
"""

#: The same 50 ms, undecorated: its swagger has no example, so a sample must be given.
PLAIN = """
import json, time

def init():
    pass

def run(raw_data):
    time.sleep(0.05)
    return {"got": json.loads(raw_data)}
"""

DEPLOY_LINE = re.compile(r"^deploy with: AksWebservice\.deploy_configuration\((.*)\)$", re.M)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("capacity-tests", path=str(tmp_path / "ws"), exist_ok=True)


@pytest.fixture
def services(ws: Workspace) -> Iterator[list[Webservice]]:
    deployed: list[Webservice] = []
    yield deployed
    for service in deployed:
        with contextlib.suppress(Exception):  # best effort
            service.delete()


def _deploy(
    ws: Workspace, tmp_path: Path, services: list[Webservice], name: str, score: str, **config: Any
) -> Webservice:
    project = tmp_path / name
    project.mkdir()
    (project / "score.py").write_text(score)
    (project / "model.txt").write_text("unused")
    model = Model.register(ws, model_path=str(project / "model.txt"), model_name=f"{name}-model")
    service = Model.deploy(
        ws,
        name,
        [model],
        InferenceConfig(entry_script="score.py", source_directory=str(project)),
        LocalWebservice.deploy_configuration(**config),
    )
    services.append(service)
    service.wait_for_deployment()
    return service


def _kwargs(call: str) -> dict[str, Any]:
    """``a=1, b=2`` -> ``{"a": 1, "b": 2}`` (the printed call's arguments, read as Python)."""
    tree = ast.parse(f"f({call})", mode="eval")
    assert isinstance(tree.body, ast.Call)
    return {k.arg: ast.literal_eval(k.value) for k in tree.body.keywords if k.arg}


def test_a_50ms_service_serves_about_20_rps_per_replica_and_the_formula_gets_its_time(
    ws: Workspace, tmp_path: Path, services: list[Webservice]
) -> None:
    service = _deploy(ws, tmp_path, services, "cap-sdk", DECORATED)
    report = measure_capacity(service, 50, duration_s=3)

    assert report.sample_source.startswith("the example of http://127.0.0.1:")
    assert report.concurrency == 1 and report.replicas == 1 and report.max_concurrent == 1
    assert 2.5 <= report.duration_s <= 6
    assert report.rejected_503 == 0 and report.errors == {}
    assert report.succeeded == report.requests >= 30
    assert 0.045 <= report.request_seconds <= 0.12, report.to_dict()
    assert report.run_seconds is not None and 0.045 <= report.run_seconds <= 0.1
    assert 8 <= report.throughput_per_replica_rps <= 21, report.to_dict()
    assert report.latency_p50_s <= report.latency_p90_s <= report.latency_p99_s

    r = report.recommendation
    assert r.utilization in (70, 50) and r.utilization_reasons
    assert r.min_replicas == replicas_needed(50, report.request_seconds, 1, r.utilization)
    assert r.max_replicas == max(
        replicas_needed(100, report.request_seconds, 1, r.utilization), r.min_replicas + 1
    )
    assert r.min_replicas >= 3  # 50 rps of 50 ms requests at 70 % need at least 3.6 replicas
    config = build_config(ClusterDeploymentConfig, **report.deploy_settings)
    assert config.autoscale_min_replicas == r.min_replicas
    assert config.autoscale_target_utilization == r.utilization
    assert any(rule.startswith("autoscale_min_replicas = ceil(50 * ") for rule in r.rules)

    # Without a target rate: what the current settings (1 replica, 70 %) sustain.
    plain = measure_capacity(service, duration_s=1, max_requests=10)
    assert plain.requests <= 10
    assert plain.recommendation.min_replicas is None and plain.deploy_call is None
    sustained = plain.recommendation.sustained_rps
    assert sustained == pytest.approx(0.7 / plain.request_seconds)
    assert plain.to_dict()["recommended"]["sustained_rps"] == sustained


def test_two_concurrent_requests_per_replica_double_the_load_and_the_throughput(
    ws: Workspace, tmp_path: Path, services: list[Webservice]
) -> None:
    service = _deploy(
        ws, tmp_path, services, "cap-two", DECORATED, replica_max_concurrent_requests=2
    )
    report = measure_capacity(service, 50, duration_s=2)
    assert report.concurrency == 2 and report.max_concurrent == 2
    assert 16 <= report.throughput_per_replica_rps <= 42, report.to_dict()
    r = report.recommendation
    assert r.min_replicas == replicas_needed(50, report.request_seconds, 2, r.utilization)
    assert report.deploy_settings["replica_max_concurrent_requests"] == 2
    build_config(ClusterDeploymentConfig, **report.deploy_settings)


def test_the_cli_prints_a_table_and_a_deploy_call_that_works_and_json_with_every_number(
    ws: Workspace, tmp_path: Path, services: list[Webservice]
) -> None:
    _deploy(ws, tmp_path, services, "cap-cli", PLAIN, auth_enabled=True)
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps({"data": [1, 2]}))
    base = ["service", "capacity", "cap-cli", "--workspace", str(ws.path), "--sample", str(sample)]

    shown = cli(*base, "--rps", "50", "--duration", "2")
    assert shown.code == 0, shown.stderr
    for label in ("throughput", "request seconds", "autoscale_min_replicas", "sustained now"):
        assert label in shown.stdout, shown.stdout
    line = DEPLOY_LINE.search(shown.stdout)
    assert line, shown.stdout
    settings = _kwargs(line.group(1))
    assert set(settings) == {
        "autoscale_min_replicas",
        "autoscale_max_replicas",
        "autoscale_target_utilization",
    }
    config = build_config(ClusterDeploymentConfig, **settings)
    assert config.autoscale_min_replicas >= 3

    done = cli(*base, "--rps", "50", "--duration", "2", "--max-requests", "40", "-o", "json")
    assert done.code == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {
        "service", "computeType", "scoringUri", "sampleSource", "load", "measured",
        "recommended", "formula",
    }  # fmt: skip
    assert set(data["load"]) == {
        "concurrency", "replicas", "replicaMaxConcurrentRequests", "durationSeconds",
        "requests", "succeeded", "rejected503", "errors",
    }  # fmt: skip
    assert set(data["measured"]) == {
        "throughputRps", "throughputPerReplicaRps", "requestSeconds", "latencyP50Seconds",
        "latencyP90Seconds", "latencyP99Seconds", "runSeconds", "unloadedSeconds",
    }  # fmt: skip
    assert set(data["recommended"]) == {
        "targetRps", "autoscaleMinReplicas", "autoscaleMaxReplicas",
        "autoscaleTargetUtilization", "utilizationReasons", "sustainedRps",
        "sustainedRpsPerReplica", "deployCall", "rules",
    }  # fmt: skip
    assert data["sampleSource"] == f"file {sample}"
    assert data["load"]["requests"] <= 40 and data["load"]["errors"] == []
    recommended = data["recommended"]
    assert recommended["autoscaleMinReplicas"] == replicas_needed(
        50,
        data["measured"]["requestSeconds"],
        data["load"]["replicaMaxConcurrentRequests"],
        recommended["autoscaleTargetUtilization"],
    )
    assert recommended["deployCall"].startswith("AksWebservice.deploy_configuration(")

    plain = cli(*base, "--duration", "1", "--max-requests", "10")
    assert plain.code == 0, plain.stderr
    assert "the current settings sustain about" in plain.stdout
    assert "deploy with:" not in plain.stdout


def test_a_service_without_an_example_a_remote_uri_and_a_stopped_service_are_refused(
    ws: Workspace, tmp_path: Path, services: list[Webservice]
) -> None:
    service = _deploy(ws, tmp_path, services, "cap-refused", PLAIN)
    base = ["service", "capacity", "cap-refused", "--workspace", str(ws.path)]

    # No sample and an undecorated run(): nothing to send, and the error says how to give one.
    with pytest.raises(DockyardError) as caught:
        measure_capacity(service, 10, duration_s=1)
    text = str(caught.value)
    assert "No sample request body for service 'cap-refused'" in text
    assert "swagger.json) gives no example of its input" in text
    assert "sample=" in text and "--sample FILE" in text
    shown = cli(*base, "--rps", "10")
    assert shown.code != 0
    assert "No sample request body" in shown.stderr and "--sample FILE" in shown.stderr

    # A scoring URI that is not on this machine: refused before any request is sent.
    remote = _Elsewhere(service, "http://192.0.2.10:5001/score")
    with pytest.raises(WebserviceError) as caught:
        measure_capacity(remote, 10, duration_s=1, sample={"data": 1})  # type: ignore[arg-type]
    text = str(caught.value)
    assert "answers at http://192.0.2.10:5001/score: 192.0.2.10 is not a loopback address" in text
    assert "allow_remote=True (--allow-remote at the command line)" in text

    # A stopped service: its state, and the command that shows why.
    service.stop()
    with pytest.raises(WebserviceError) as caught:
        measure_capacity(service, 10, duration_s=1, sample={"data": 1})
    text = str(caught.value)
    assert "Service 'cap-refused' is Stopped, not Healthy" in text
    assert "`dockyard service logs cap-refused`" in text
    shown = cli(*base, "--rps", "10", "--sample", str(tmp_path / "none.json"))
    assert shown.code != 0
    assert "is Stopped, not Healthy" in shown.stderr
    assert "`dockyard service logs cap-refused`" in shown.stderr
    assert "wait_for_deployment" not in shown.stderr  # the CLI's words, not Python's


class _Elsewhere:
    """A real service whose ``serialize()`` names another host (nothing is sent there)."""

    def __init__(self, service: Webservice, uri: str) -> None:
        self._service = service
        self.name = service.name
        self._uri = uri

    def serialize(self) -> dict[str, Any]:
        return {**self._service.serialize(), "scoringUri": self._uri}
