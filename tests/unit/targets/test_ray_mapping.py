"""Azure's AKS parameters as Ray Serve options, and Serve's state as Azure's states (pure logic)."""

from __future__ import annotations

import pytest

from dockyard.targets.base import CRASH_LOOP, FAILED, HEALTHY, STOPPED, TRANSITIONING, UNHEALTHY
from dockyard.targets.ray_options import deployment_options, expected_replicas
from dockyard.targets.ray_status import failure_text, status_of
from dockyard.webservice import config
from dockyard.webservice.cluster import AksWebservice


def options(**kwargs: object) -> dict:
    return deployment_options(AksWebservice.deploy_configuration(**kwargs).serialize())


def test_azure_defaults_become_a_fast_autoscaler_with_bounded_queues() -> None:
    got = options()
    scaling = got["autoscaling_config"]
    assert (scaling["min_replicas"], scaling["max_replicas"]) == (1, 10)
    # 70% of one concurrent request per replica
    assert scaling["target_ongoing_requests"] == pytest.approx(0.7)
    # Azure refreshes every second: metrics every 0.5 s over a 3 s window, no delay up
    assert scaling["metrics_interval_s"] == 0.5
    assert scaling["look_back_period_s"] == 3.0
    assert scaling["upscale_delay_s"] == 0.0
    assert got["ray_actor_options"] == {"num_cpus": 0.1, "memory": 512 * 1024**2}
    assert got["max_queued_requests"] > 0  # Ray's default (-1) is unbounded
    # one run() slot + a waiting room for 500 ms of arrivals at 500/s: requests wait inside the
    # replica, where max_request_wait_time bounds the wait, not in Ray's unbounded-time queue
    assert got["max_ongoing_requests"] == 1 + 250
    assert got["backpressure_config"] == {"status_code": 503, "retry_after_s": 1}
    assert got["max_surge_percent"] == 100  # old replicas serve until new ones are ready


def test_utilization_and_concurrency_set_the_target_per_replica() -> None:
    got = options(autoscale_target_utilization=30, replica_max_concurrent_requests=4)
    assert got["autoscaling_config"]["target_ongoing_requests"] == pytest.approx(1.2)
    assert got["max_ongoing_requests"] == 4 + 250


def test_the_waiting_room_follows_max_request_wait_time_within_bounds() -> None:
    assert options(max_request_wait_time=0)["max_ongoing_requests"] == 1 + 3
    assert options(max_request_wait_time=2000)["max_ongoing_requests"] == 1 + 1000


def test_num_replicas_turns_autoscaling_off() -> None:
    got = options(num_replicas=3)
    assert got["num_replicas"] == 3
    assert "autoscaling_config" not in got
    assert expected_replicas(AksWebservice.deploy_configuration(num_replicas=3).serialize()) == 3


def test_contradicting_autoscale_settings_are_refused_with_the_fix() -> None:
    with pytest.raises(Exception, match="drop num_replicas, or pass autoscale_enabled=False"):
        AksWebservice.deploy_configuration(num_replicas=2, autoscale_enabled=True)
    with pytest.raises(Exception, match="below autoscale_min_replicas"):
        AksWebservice.deploy_configuration(autoscale_min_replicas=5, autoscale_max_replicas=2)
    with pytest.raises(Exception, match="pass auth_enabled=False to use tokens"):
        AksWebservice.deploy_configuration(token_auth_enabled=True)


def test_parameters_without_meaning_on_ray_are_accepted_and_said_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "_SAID", set())
    AksWebservice.deploy_configuration(memory_gb_limit=2, success_threshold=2)
    AksWebservice.deploy_configuration(memory_gb_limit=2)
    said = [r.getMessage() for r in caplog.records if "no meaning on Ray" in r.getMessage()]
    assert any("memory_gb_limit=2" in m for m in said)
    assert sum("memory_gb_limit" in m for m in said) <= 1


def app(
    status: str, dep_status: str, trigger: str = "", message: str = "", running: int = 1
) -> dict:
    replicas = [{"state": "RUNNING", "pid": 100 + i} for i in range(running)]
    return {
        "status": status,
        "message": "",
        "deployments": {
            "scoring": {
                "status": dep_status,
                "status_trigger": trigger,
                "message": message,
                "replicas": replicas,
            }
        },
    }


@pytest.mark.parametrize(
    ("serve", "expected"),
    [
        (app("RUNNING", "HEALTHY"), HEALTHY),
        (app("RUNNING", "UPSCALING", running=2), HEALTHY),
        (app("DEPLOYING", "UPDATING", running=0), TRANSITIONING),
        (app("DEPLOYING", "UPDATING", running=1), HEALTHY),  # the old version serves
        (app("DEPLOY_FAILED", "DEPLOY_FAILED", "REPLICA_STARTUP_FAILED", running=0), FAILED),
        (app("RUNNING", "UNHEALTHY", "REPLICA_STARTUP_FAILED"), CRASH_LOOP),
        (app("RUNNING", "UNHEALTHY", "HEALTH_CHECK_FAILED"), UNHEALTHY),
        (None, STOPPED),
    ],
)
def test_serve_states_map_to_azure_states(serve: dict | None, expected: str) -> None:
    status = status_of(serve, "http://127.0.0.1:8000/api/v1/service/x", 8000)
    assert status.state == expected


def test_a_failed_init_gives_the_scripts_traceback_without_rays_decoration() -> None:
    message = (
        "The deployment failed to start 3 times in a row. Error:\n"
        "\x1b[36mray::ServeReplica:app:scoring.initialize_and_get_metadata()\x1b[39m (pid=1)\n"
        "dockyard.server.ray_replica.ReplicaStartError: init() in score.py raised ValueError: no model\n"
        'Traceback (most recent call last):\n  File "score.py", line 2, in init\nValueError: no model\n'
    )
    text = failure_text(message)
    assert text is not None
    assert text.startswith("init() in score.py raised ValueError: no model")
    assert 'File "score.py", line 2, in init' in text
    assert "\x1b[" not in text


def test_ray_resources_place_replicas_on_the_nodes_that_offer_them() -> None:
    got = options(ray_resources={"node2": 1})
    assert got["ray_actor_options"]["resources"] == {"node2": 1.0}


def test_the_docs_mapping_table_names_every_azure_parameter_the_cluster_takes() -> None:
    from pathlib import Path

    from dockyard.targets.ray_options import NOT_MAPPED
    from dockyard.webservice.config import ClusterDeploymentConfig

    docs = (Path(__file__).resolve().parents[3] / "docs" / "cluster.md").read_text()
    table = docs[docs.index("### Azure's parameters on Ray Serve") :]
    generic = {"target", "port", "debug", "environment_variables", "tags", "properties",
               "description", "worker_count", "startup_timeout_seconds", "compute_target_name",
               "ray_resources", "primary_key", "secondary_key"}  # fmt: skip
    missing = [
        name
        for name in ClusterDeploymentConfig.model_fields
        if name not in generic and f"`{name}`" not in table
    ]
    assert not missing, f"docs/cluster.md's mapping table does not name: {missing}"
    assert all(f"`{name}`" in table for name in NOT_MAPPED)
