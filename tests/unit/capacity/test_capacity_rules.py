"""The rules of capacity planning with fixed numbers: the recommendation, the queueing signs, the
report's JSON and deploy call, percentiles, and where the sample body comes from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.errors import SpecError, ValidationError
from dockyard.webservice.capacity import CapacityReport
from dockyard.webservice.capacity_rules import queueing_signs, recommend
from dockyard.webservice.capacity_sample import example_of, input_schema, sample_body
from dockyard.webservice.config import ClusterDeploymentConfig, build_config, replicas_needed
from dockyard.webservice.load_test import LoadResult, Sample, percentile


def test_min_max_and_utilization_for_a_steady_50ms_service() -> None:
    r = recommend(request_seconds=0.05, max_concurrent=1, target_rps=50, p50=0.05, p90=0.055,
                  unloaded=0.05)  # fmt: skip
    # 50 rps * 0.05 s / 0.7 / 1 = 3.57 -> 4; twice the rate: 7.14 -> 8
    assert (r.min_replicas, r.max_replicas, r.utilization) == (4, 8, 70)
    assert r.min_replicas == replicas_needed(50, 0.05, 1, 70)
    assert r.utilization_reasons == ("no queueing under load: Azure's default 70 %",)
    assert "autoscale_min_replicas = ceil(50 * 0.0500 / 0.70 / 1) = ceil(3.571) = 4" in r.rules
    assert (
        "autoscale_max_replicas = max(replicas for 2x the target rate (100 rps) = 8, "
        "autoscale_min_replicas + 1 = 5) = 8"
    ) in r.rules
    # 1 replica * 1 slot * 0.7 / 0.05 s
    assert r.sustained_rps == pytest.approx(14.0)


def test_the_seed_example_and_several_slots_per_replica() -> None:
    r = recommend(request_seconds=10, max_concurrent=1, target_rps=20)
    assert r.min_replicas == 286  # the seed guide's own example: ceil(20 * 10 / 0.7)
    assert r.max_replicas == 572
    r = recommend(request_seconds=1, max_concurrent=2, target_rps=7)
    assert (r.min_replicas, r.max_replicas) == (5, 10)


def test_max_is_at_least_min_plus_one_for_a_tiny_rate() -> None:
    r = recommend(request_seconds=0.01, max_concurrent=1, target_rps=1)
    assert (r.min_replicas, r.max_replicas) == (1, 2)


def test_queueing_under_load_lowers_the_target_utilization_to_50() -> None:
    r = recommend(request_seconds=0.2, max_concurrent=1, target_rps=10, p50=0.15, p90=0.4,
                  unloaded=0.05)  # fmt: skip
    assert r.utilization == 50
    assert len(r.utilization_reasons) == 3  # median over 1.5x unloaded, p90 over 2x median, so 50
    assert r.utilization_reasons[-1].startswith("so 50 %")
    # 10 rps * 0.2 s / 0.5 = 4; twice: 8
    assert (r.min_replicas, r.max_replicas) == (4, 8)
    assert r.min_replicas == replicas_needed(10, 0.2, 1, 50)


def test_queueing_signs_each_alone_and_the_noise_floor() -> None:
    assert queueing_signs(0.05, 0.055, 0.05, 0) == []
    assert "503" in queueing_signs(0.05, 0.055, 0.05, 3)[0]
    assert "1.5x the unloaded" in queueing_signs(0.1, 0.11, 0.05, 0)[0]
    assert "over 2x the median" in queueing_signs(0.05, 0.2, 0.05, 0)[0]
    # a 1 ms run() whose p90 is 3 ms: 3x, but 2 ms is noise, not queueing
    assert queueing_signs(0.001, 0.003, 0.0005, 0) == []


def test_without_a_target_rate_only_what_the_current_settings_sustain() -> None:
    r = recommend(request_seconds=0.1, max_concurrent=2, replicas=3, settings_utilization=50)
    assert r.min_replicas is None and r.max_replicas is None
    assert r.sustained_rps_per_replica == pytest.approx(10.0)  # 2 * 0.5 / 0.1
    assert r.sustained_rps == pytest.approx(30.0)
    assert any(
        rule.startswith("the current settings sustain 3 replica(s) * 2 * 0.50") for rule in r.rules
    )


def _report(target_rps: float | None, max_concurrent: int = 1) -> CapacityReport:
    recommendation = recommend(request_seconds=0.05, max_concurrent=max_concurrent,
                               target_rps=target_rps)  # fmt: skip
    return CapacityReport(
        service="svc", compute_type="Local", scoring_uri="http://127.0.0.1:1/score",
        sample_source="given", concurrency=max_concurrent, replicas=1,
        max_concurrent=max_concurrent, duration_s=3.0, requests=60, succeeded=57,
        rejected_503=2, errors={"500": 1}, throughput_rps=19.0, throughput_per_replica_rps=19.0,
        request_seconds=0.05, latency_p50_s=0.05, latency_p90_s=0.05, latency_p99_s=0.06,
        run_seconds=0.049, unloaded_seconds=0.05, recommendation=recommendation,
    )  # fmt: skip


def test_the_deploy_call_builds_a_cluster_config() -> None:
    report = _report(50)
    assert report.deploy_call == (
        "AksWebservice.deploy_configuration(autoscale_min_replicas=4, "
        "autoscale_max_replicas=8, autoscale_target_utilization=70)"
    )
    config = build_config(ClusterDeploymentConfig, **report.deploy_settings)
    assert (config.autoscale_min_replicas, config.autoscale_max_replicas) == (4, 8)
    two = _report(50, max_concurrent=2)
    assert two.deploy_settings["replica_max_concurrent_requests"] == 2
    assert _report(None).deploy_call is None and _report(None).deploy_settings == {}


def test_to_dict_groups_every_number_and_lists_errors_by_status() -> None:
    data = _report(50).to_dict()
    assert data["load"]["errors"] == [{"status": 500, "count": 1}]
    assert data["load"]["rejected_503"] == 2
    assert data["recommended"]["autoscale_min_replicas"] == 4
    assert data["recommended"]["deploy_call"].startswith("AksWebservice.")
    assert data["formula"].startswith("ceil(target_rps * request_seconds")
    json.dumps(data)  # plain JSON


def test_load_result_counts_503_apart_and_times_only_200_answers() -> None:
    result = LoadResult(
        [Sample(200, 0.05, 0.049), Sample(200, 0.07), Sample(503, 0.5), Sample(500, 0.01),
         Sample("timeout", 9.0)],
        elapsed_s=2.0,
    )  # fmt: skip
    assert result.rejected_503 == 1
    assert result.errors == {"500": 1, "timeout": 1}
    assert result.throughput_rps == 1.0
    assert result.mean_seconds == pytest.approx(0.06)
    assert result.mean_run_seconds == pytest.approx(0.049)
    assert result.latency(50) == 0.05 and result.latency(99) == 0.07


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 99)) == (
        50.0, 90.0, 99.0,
    )  # fmt: skip
    assert percentile([3.0], 99) == 3.0 and percentile([], 50) is None


def test_the_swagger_example_of_a_decorated_and_of_an_undecorated_run() -> None:
    decorated = {"definitions": {"ServiceInput": {"type": "object", "example": {"data": [[1]]}}}}
    assert example_of(input_schema(decorated)) == {"data": [[1]]}
    openapi = {"components": {"schemas": {"ServiceInput": {
        "properties": {"a": {"example": 1}, "b": {"example": [2]}}}}}}  # fmt: skip
    assert example_of(input_schema(openapi)) == {"a": 1, "b": [2]}
    generic = {"definitions": {"ServiceInput": {"type": "object", "example": {}}}}
    assert example_of(input_schema(generic)) is None
    partial = {"properties": {"a": {"example": 1}, "b": {"type": "string"}}}
    assert example_of(partial) is None


def test_a_given_sample_as_a_dict_text_bytes_or_json_file(tmp_path: Path) -> None:
    def body(sample: object) -> tuple[bytes, str]:
        return sample_body("svc", sample, "http://127.0.0.1:1/swagger.json", None, {})

    assert body({"data": [1]}) == (b'{"data": [1]}', "given")
    assert body('{"data": 2}') == (b'{"data": 2}', "given")
    assert body(b"raw") == (b"raw", "given")
    file = tmp_path / "sample.json"
    file.write_text('{"data": 3}')
    assert body(file) == (b'{"data": 3}', f"file {file}")
    assert body(str(file)) == (b'{"data": 3}', f"file {file}")
    with pytest.raises(SpecError, match="does not exist"):
        body(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SpecError, match="is not valid JSON"):
        body(tmp_path / "bad.json")
    with pytest.raises(ValidationError, match="not JSON-serialisable"):
        body({"data": object()})


def test_unbounded_or_empty_loads_are_refused_before_any_request() -> None:
    from dockyard.webservice import measure_capacity

    with pytest.raises(ValidationError) as caught:
        measure_capacity(None, 0, duration_s=0, max_requests=0, concurrency=0)  # type: ignore[arg-type]
    text = str(caught.value)
    for part in ("target_rps must be above 0", "duration_s must be above 0 and at most 600",
                 "max_requests must be at least 1", "concurrency must be at least 1"):  # fmt: skip
        assert part in text
