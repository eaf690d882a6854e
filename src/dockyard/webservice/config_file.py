"""Reading a deployment configuration from a file: Azure ML v1's ``deploymentconfig.json``
(``computeType`` local, aci or aks, camelCase keys) or dockyard's own serialised form."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from dockyard.errors import SpecError
from dockyard.webservice.config import (
    ClusterDeploymentConfig,
    ContainerDeploymentConfig,
    DeploymentConfig,
    LocalDeploymentConfig,
    build_config,
)

log = logging.getLogger(__name__)

# v1's deploymentconfig.json (camelCase) -> our names
_V1_KEYS = {
    "port": "port",
    "authEnabled": "auth_enabled",
    "tokenAuthEnabled": "token_auth_enabled",
    "autoScaler": None,
    "numReplicas": "num_replicas",
    "scoringTimeoutMs": "scoring_timeout_ms",
    "maxConcurrentRequestsPerContainer": "replica_max_concurrent_requests",
    "maxQueueWaitMs": "max_request_wait_time",
    "description": "description",
    "tags": "tags",
    "properties": "properties",
    "primaryKey": "primary_key",
    "secondaryKey": "secondary_key",
    # dockyard's own (the debugger; not Azure's): attach an IDE with debugpy
    "debuggerPort": "debugger_port",
    "debuggerWaitSeconds": "debugger_wait_s",
}


_BY_TARGET: dict[str, type[DeploymentConfig]] = {
    "local": LocalDeploymentConfig,
    "docker": ContainerDeploymentConfig,
    "cluster": ClusterDeploymentConfig,
}


def config_from_file(path: str | Path) -> DeploymentConfig:
    """Read v1's ``deploymentconfig.json`` (``computeType`` local, aci or aks) or our own JSON."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError(
            f"Deployment config file {path} does not exist", hint="check the path"
        ) from None
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"Deployment config file {path} is not valid JSON: line {exc.lineno}: {exc.msg}",
            hint="fix the JSON syntax at that line",
        ) from None
    if not isinstance(data, dict):
        raise SpecError(f"Deployment config file {path} must hold a JSON object")
    if "target" in data:  # our own serialised form
        kind = _BY_TARGET.get(data["target"])
        if kind is None:
            raise SpecError(
                f"{path}: unknown target {data['target']!r}; use local, docker or cluster"
            )
        return build_config(kind, **data)
    compute = str(data.get("computeType", "local")).lower()
    kinds: dict[str, type[DeploymentConfig]] = {
        "local": LocalDeploymentConfig,
        "aci": ContainerDeploymentConfig,
        "docker": ContainerDeploymentConfig,
        "aks": ClusterDeploymentConfig,
    }
    kind = kinds.get(compute)
    if kind is None:
        raise SpecError(
            f"{path}: computeType {compute!r} is not supported",
            hint="use local, aci (a Docker container) or aks (a Ray cluster)",
        )
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "computeType":
            continue
        if key == "containerResourceRequirements" and isinstance(value, dict):
            values["cpu_cores"] = value.get("cpu")
            values["memory_gb"] = value.get("memoryInGB")
        elif key == "autoScaler" and isinstance(value, dict):
            values["autoscale_enabled"] = value.get("autoscaleEnabled")
            values["autoscale_min_replicas"] = value.get("minReplicas")
            values["autoscale_max_replicas"] = value.get("maxReplicas")
            values["autoscale_refresh_seconds"] = value.get("refreshPeriodInSeconds")
            values["autoscale_target_utilization"] = value.get("targetUtilization")
        elif (ours := _V1_KEYS.get(key)) is not None:
            values[ours] = value
        else:
            log.debug("%s: key %s is not used by dockyard; ignored", path, key)
    return build_config(kind, **values)
