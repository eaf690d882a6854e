"""Deployment configurations: Azure's names and defaults, v1 JSON files, the replica formula."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.errors import SpecError, ValidationError
from dockyard.webservice.config import (
    ClusterDeploymentConfig,
    ContainerDeploymentConfig,
    LocalDeploymentConfig,
    build_config,
    replicas_needed,
)
from dockyard.webservice.config_file import config_from_file


def test_seed_replica_formula_example() -> None:
    # The seed guide: 20 rps, 10 s per request, 1 request per container, 70% target -> 286.
    assert replicas_needed(20, 10, 1, 0.7) == 286
    assert replicas_needed(20, 10, 1, 70) == 286
    assert replicas_needed(1, 0.1, 1, 0.7) == 1
    assert replicas_needed(7, 1, 2, 0.7) == 5


def test_replica_formula_rejects_nonsense() -> None:
    with pytest.raises(ValidationError, match="target_utilization"):
        replicas_needed(10, 1, 1, 0)
    with pytest.raises(ValidationError, match="max_requests_per_container"):
        replicas_needed(10, 1, 0, 0.7)


def test_cluster_defaults_follow_azure() -> None:
    config = ClusterDeploymentConfig()
    assert config.auth_enabled is True
    assert (config.autoscale_min_replicas, config.autoscale_max_replicas) == (1, 10)
    assert config.autoscale_target_utilization == 70
    assert config.scoring_timeout_ms == 60_000
    assert config.replica_max_concurrent_requests == 1
    assert config.max_request_wait_time == 500


def test_none_means_default_and_cloud_only_arguments_are_ignored() -> None:
    config = build_config(
        ContainerDeploymentConfig, cpu_cores=1, memory_gb=None, location="eastus", ssl_enabled=False
    )
    assert isinstance(config, ContainerDeploymentConfig)
    assert config.cpu_cores == 1 and config.memory_gb == 0.5


def test_bad_values_name_the_argument() -> None:
    with pytest.raises(ValidationError, match="port"):
        build_config(LocalDeploymentConfig, port=70000)
    with pytest.raises(ValidationError, match="autoscale_max_replicas"):
        build_config(ClusterDeploymentConfig, autoscale_min_replicas=5, autoscale_max_replicas=2)
    with pytest.raises(ValidationError, match="no_such_setting"):
        build_config(LocalDeploymentConfig, no_such_setting=1)


def test_v1_deploymentconfig_json(tmp_path: Path) -> None:
    path = tmp_path / "deploymentconfig.json"
    path.write_text(
        json.dumps(
            {
                "computeType": "aci",
                "containerResourceRequirements": {"cpu": 1, "memoryInGB": 2},
                "authEnabled": True,
                "location": "westus",
            }
        )
    )
    config = config_from_file(path)
    assert isinstance(config, ContainerDeploymentConfig)
    assert (config.cpu_cores, config.memory_gb, config.auth_enabled) == (1, 2, True)
    path.write_text(json.dumps({"computeType": "local", "port": 8890}))
    local = config_from_file(path)
    assert isinstance(local, LocalDeploymentConfig) and local.port == 8890


def test_config_round_trips_through_its_own_json(tmp_path: Path) -> None:
    config = build_config(ClusterDeploymentConfig, autoscale_max_replicas=4, num_replicas=2)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config.serialize()))
    assert config_from_file(path) == config


def test_bad_config_files_say_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "deploymentconfig.json"
    with pytest.raises(SpecError, match="does not exist"):
        config_from_file(path)
    path.write_text("{not json")
    with pytest.raises(SpecError, match="line 1"):
        config_from_file(path)
    path.write_text(json.dumps({"computeType": "batch"}))
    with pytest.raises(SpecError, match="batch"):
        config_from_file(path)
