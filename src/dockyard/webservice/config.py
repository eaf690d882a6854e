"""Deployment configurations: where and how a service runs.

They are data (pydantic models, validated and serialisable) and keep Azure ML v1's parameter
names, so that ``LocalWebservice.deploy_configuration(port=8890)`` or
``AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1)`` port unchanged. Cloud-only
parameters (``location``, ``ssl_*``, ``vnet_name``, ...) are accepted and ignored.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dockyard.errors import ValidationError as DockyardValidationError
from dockyard.ops.specs import ServiceSettings
from dockyard.server import contract
from dockyard.targets.ray_options import NOT_MAPPED

log = logging.getLogger(__name__)

Target = Literal["local", "docker", "cluster"]


class DeploymentConfig(BaseModel):
    """Settings shared by every target."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    target: Target = "local"
    port: int | None = Field(default=None, ge=1, le=65535)
    auth_enabled: bool = False
    primary_key: str | None = None
    secondary_key: str | None = None
    scoring_timeout_ms: int = Field(default=3_600_000, gt=0)
    replica_max_concurrent_requests: int = Field(default=1, ge=1)
    #: How long a request may wait for a free slot before a 503 (ms). None: the server's default.
    max_request_wait_time: int | None = Field(default=None, ge=0)
    #: Scoring-server processes per replica (WORKER_COUNT).
    worker_count: int = Field(default=1, ge=1, le=64)
    #: No hard start-up timeout by default: slow-loading models are fine (seconds; None = none).
    startup_timeout_seconds: float | None = Field(default=None, gt=0)
    #: Error details in 500 answers (not the debugger: that is ``debugger_port``).
    debug: bool = False
    environment_variables: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    properties: dict[str, str] = Field(default_factory=dict)
    description: str | None = None

    def serialize(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    #: Azure's name for where it runs (``Webservice.compute_type``).
    compute_type: ClassVar[str] = "Local"
    #: The engine that runs it (a name for :func:`dockyard.targets.target_for`).
    default_engine: ClassVar[str] = "local"
    #: The service runs on a compute target (a cluster) that the deploy call resolves.
    runs_on_cluster: ClassVar[bool] = False

    def config_target_name(self) -> str | None:
        """The compute target named in the configuration itself (cluster configs)."""
        return getattr(self, "compute_target_name", None)

    @property
    def engine(self) -> str:
        return self.default_engine

    @property
    def reloadable(self) -> bool:
        """``reload()`` is offered (Azure's local target only)."""
        return False

    @property
    def debugger(self) -> int | None:
        """The debugger's port (``debugger_port``, or on the cluster target the server variable
        it becomes), else None."""
        port = getattr(self, "debugger_port", None)
        listen = self.environment_variables.get(contract.DEBUGPY_LISTEN_ENV, "")
        if not port and listen.rpartition(":")[2].isdigit():
            port = int(listen.rpartition(":")[2])
        return int(port) if port else None

    def with_debugger(self, port: int, wait_s: float | None = None) -> DeploymentConfig:
        """A copy with the debugger on ``port`` (waiting ``wait_s`` for the IDE, default 30)."""
        if "debugger_port" in type(self).model_fields:
            changes: dict[str, Any] = {"debugger_port": port}
            if wait_s is not None:
                changes["debugger_wait_s"] = wait_s
            return type(self)(**{**self.model_dump(), **changes})
        env = debugger_environment(self.environment_variables, port, wait_s)
        return type(self)(**{**self.model_dump(), "environment_variables": env})

    def to_settings(self) -> ServiceSettings:
        """This configuration as the plain settings the deploy flow takes."""
        env = {
            contract.SCORING_TIMEOUT_ENV: str(self.scoring_timeout_ms),
            contract.MAX_CONCURRENT_REQUESTS_ENV: str(self.replica_max_concurrent_requests),
        }
        if self.max_request_wait_time is not None:
            env[contract.MAX_REQUEST_WAIT_TIME_ENV] = str(self.max_request_wait_time)
        if self.debug:
            env[contract.DEBUG_RESPONSES_ENV] = "1"
        env.update(self.environment_variables)
        port = getattr(self, "debugger_port", None)
        if port:
            # the local meaning; an engine that runs the server elsewhere (a container) listens
            # on its own side and publishes this port on 127.0.0.1
            env.update(debugger_environment({}, port, getattr(self, "debugger_wait_s", None)))
        if self.debugger and self.worker_count > 1:
            log.warning(
                "worker_count=%d: the service runs ONE worker while the debugger is on "
                "(debugger_port)",
                self.worker_count,
            )
        return ServiceSettings(
            engine=self.engine,
            config=self.serialize(),
            port=self.port or 0,
            # Azure's local target replaces a service of the same name; the others refuse
            replaces_same_name=self.reloadable,
            reloadable=self.reloadable,
            auth_enabled=self.auth_enabled,
            primary_key=self.primary_key,
            secondary_key=self.secondary_key,
            server_env=env,
            # the debugger attaches to one process: one worker (the server says so in its log)
            worker_count=1 if self.debugger else self.worker_count,
            startup_timeout_seconds=self.startup_timeout_seconds,
            cpu_cores=getattr(self, "cpu_cores", None),
            memory_gb=getattr(self, "memory_gb", None),
            description=self.description,
            tags=dict(self.tags),
            properties=dict(self.properties),
        )


class LocalDeploymentConfig(DeploymentConfig):
    """A service on this machine: supervised processes, or a Docker container with ``docker=True``."""

    target: Target = "local"
    docker: bool = False
    #: The debugger: debugpy listens on this port (127.0.0.1; published there for containers)
    #: and the service runs one worker. None: off. Not ``debug`` (error details).
    debugger_port: int | None = Field(default=None, ge=1, le=65535)
    #: How long the service waits for an IDE to attach before it starts without one (seconds).
    debugger_wait_s: float = Field(default=contract.DEBUGGER_DEFAULT_WAIT_S, ge=0, le=3600)

    @property
    def engine(self) -> str:
        return "docker" if self.docker else "local"

    @property
    def reloadable(self) -> bool:
        return True


class ContainerDeploymentConfig(DeploymentConfig):
    """One container per service with CPU and memory limits (Azure Container Instances' analog)."""

    target: Target = "docker"
    compute_type: ClassVar[str] = "ACI"
    default_engine: ClassVar[str] = "docker"
    cpu_cores: float = Field(default=0.1, gt=0)
    memory_gb: float = Field(default=0.5, gt=0)
    #: The debugger: debugpy listens on this port (127.0.0.1; published there for containers)
    #: and the service runs one worker. None: off. Not ``debug`` (error details).
    debugger_port: int | None = Field(default=None, ge=1, le=65535)
    #: How long the service waits for an IDE to attach before it starts without one (seconds).
    debugger_wait_s: float = Field(default=contract.DEBUGGER_DEFAULT_WAIT_S, ge=0, le=3600)


class ClusterDeploymentConfig(DeploymentConfig):
    """Autoscaling replicas on a Ray cluster (Azure Kubernetes Service's analog).

    Azure's parameters and defaults; how each becomes a Ray Serve setting is in
    :mod:`dockyard.targets.ray_options` and docs/cluster.md. Those with no meaning on Ray are
    accepted and said once (:data:`dockyard.targets.ray_options.NOT_MAPPED`).
    """

    target: Target = "cluster"
    compute_type: ClassVar[str] = "AKS"
    default_engine: ClassVar[str] = "ray"
    #: The service runs on a compute target (a Ray cluster) that the deploy call resolves.
    runs_on_cluster: ClassVar[bool] = True
    auth_enabled: bool = True
    token_auth_enabled: bool = False
    cpu_cores: float = Field(default=0.1, gt=0)
    memory_gb: float = Field(default=0.5, ge=0)
    cpu_cores_limit: float | None = Field(default=None, gt=0)
    memory_gb_limit: float | None = Field(default=None, gt=0)
    gpu_cores: float = Field(default=0, ge=0)
    #: None: on unless ``num_replicas`` fixes the count (Azure's rule).
    autoscale_enabled: bool | None = None
    #: At least 1: running replicas hold the service's files on the cluster (no scale to zero).
    autoscale_min_replicas: int = Field(default=1, ge=1)
    autoscale_max_replicas: int = Field(default=10, ge=1)
    autoscale_refresh_seconds: float = Field(default=1, gt=0)
    autoscale_target_utilization: int = Field(default=70, gt=0, le=100)
    #: dockyard's own: how long load must stay low before replicas are removed (seconds).
    autoscale_downscale_delay_seconds: float = Field(default=60, ge=0)
    num_replicas: int | None = Field(default=None, ge=1)
    scoring_timeout_ms: int = Field(default=60_000, gt=0)
    max_request_wait_time: int | None = Field(default=500, ge=0)
    period_seconds: int = Field(default=10, gt=0)
    initial_delay_seconds: int = Field(default=310, ge=0)
    timeout_seconds: int = Field(default=2, gt=0)
    success_threshold: int = Field(default=1, ge=1)
    failure_threshold: int = Field(default=3, ge=1)
    namespace: str | None = None
    #: The compute target's name, when deployed with ``deployment_target=`` (recorded).
    compute_target_name: str | None = None
    #: dockyard's own: Ray custom resources each replica needs, to place replicas on the nodes
    #: that offer them (``ray start --resources='{"gpu_pool": 4}'``), e.g. ``{"gpu_pool": 1}``.
    ray_resources: dict[str, float] = Field(default_factory=dict)

    @field_validator("autoscale_max_replicas")
    @classmethod
    def _max_not_below_min(cls, value: int, info: Any) -> int:
        low = info.data.get("autoscale_min_replicas", 1)
        if value < low:
            raise ValueError(
                f"autoscale_max_replicas ({value}) is below autoscale_min_replicas ({low}); raise the maximum"
            )
        return value

    @model_validator(mode="after")
    def _azure_rules(self) -> ClusterDeploymentConfig:
        if self.auth_enabled and self.token_auth_enabled:
            raise ValueError(
                "auth_enabled and token_auth_enabled cannot both be True (as in Azure): "
                "pass auth_enabled=False to use tokens"
            )
        if self.autoscale_enabled and self.num_replicas:
            raise ValueError(
                "num_replicas fixes the replica count, so autoscale_enabled=True contradicts it: "
                "drop num_replicas, or pass autoscale_enabled=False"
            )
        return self

    def to_settings(self) -> ServiceSettings:
        settings = super().to_settings()
        if not self.token_auth_enabled:
            return settings
        # tokens are signed with the service's keys: the keys exist, clients never send them
        env = {**settings.server_env, contract.AUTH_MODE_ENV: "token"}
        return dataclasses.replace(settings, auth_enabled=True, server_env=env)

    @property
    def autoscaling(self) -> bool:
        """Does the service autoscale (Azure's default: yes unless num_replicas is set)?"""
        if self.autoscale_enabled is None:
            return self.num_replicas is None
        return self.autoscale_enabled


_IGNORED = {
    "location",
    "ssl_enabled",
    "ssl_cert_pem_file",
    "ssl_key_pem_file",
    "ssl_cname",
    "dns_name_label",
    "enable_app_insights",
    "collect_model_data",
    "cmk_vault_base_url",
    "cmk_key_name",
    "cmk_key_version",
    "vnet_name",
    "subnet_name",
    "gpu_cores",
    "namespace",
    "compute_target_name",
    "period_seconds",
    "initial_delay_seconds",
    "timeout_seconds",
    "success_threshold",
    "failure_threshold",
    "cpu_cores_limit",
    "memory_gb_limit",
    "blobfuse_enabled",
    "compute_type",
    "primary_key_name",
}


def debugger_environment(
    env: dict[str, str], port: int | None, wait_s: float | None = None
) -> dict[str, str]:
    """``env`` with the server variables of the debugger on ``port`` (127.0.0.1) waiting
    ``wait_s`` seconds (default 30) for an IDE."""
    if port is None or not 1 <= int(port) <= 65535:
        raise DockyardValidationError(
            f"debugger_port={port!r} is not a TCP port",
            hint="give a port from 1 to 65535, e.g. 5678 (debugpy's usual port)",
        )
    wait = contract.DEBUGGER_DEFAULT_WAIT_S if wait_s is None else float(wait_s)
    if wait < 0:
        raise DockyardValidationError(
            f"debugger_wait_s={wait_s!r} is negative", hint="give seconds, 0 or more, e.g. 30"
        )
    return {
        **env,
        contract.DEBUGPY_LISTEN_ENV: f"127.0.0.1:{int(port)}",
        contract.DEBUGPY_WAIT_ENV: f"{wait:g}",
    }


def build_config(cls: type[DeploymentConfig], **kwargs: Any) -> DeploymentConfig:
    """Make a config from Azure-style keyword arguments: None means "the default"."""
    if "debugger_port" not in cls.model_fields:
        # the cluster configuration keeps the debugger as the server variables it stands for
        port, wait = kwargs.pop("debugger_port", None), kwargs.pop("debugger_wait_s", None)
        if port is not None:
            env = dict(kwargs.get("environment_variables") or {})
            kwargs["environment_variables"] = debugger_environment(env, port, wait)
    values = {}
    for key, value in kwargs.items():
        if key in _IGNORED and key not in cls.model_fields:
            if value is not None:
                log.debug(
                    "deploy_configuration: %s=%r is a cloud-only setting; ignored", key, value
                )
            continue
        if value is not None:
            values[key] = value
    try:
        config = cls(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
            for err in exc.errors()
        )
        raise DockyardValidationError(
            f"Invalid deployment configuration ({cls.__name__}): {problems}",
            hint="fix the named argument; see docs/deploy.md for every setting and its range",
        ) from None
    if isinstance(config, ClusterDeploymentConfig):
        _say_not_mapped(
            {
                k: v
                for k, v in values.items()
                if v != ClusterDeploymentConfig.model_fields[k].default
            }
        )
    return config


_SAID: set[str] = set()


def _say_not_mapped(values: dict[str, Any]) -> None:
    """Azure parameters a Ray cluster has no use for are accepted; each is said once."""
    for key in sorted(values):
        reason = NOT_MAPPED.get(key)
        if reason and key not in _SAID:
            _SAID.add(key)
            log.warning(
                "deploy_configuration: %s=%r has no meaning on Ray: %s", key, values[key], reason
            )


def replicas_needed(
    target_rps: float,
    request_seconds: float,
    max_requests_per_container: int = 1,
    target_utilization: float = 0.7,
) -> int:
    """Replicas for a load, by the seed guide's formula.

    ``ceil(target_rps * request_seconds / target_utilization / max_requests_per_container)``.
    ``target_utilization`` may be given as a fraction (0.7) or a percentage (70).
    """
    if target_utilization > 1:
        target_utilization = target_utilization / 100
    if target_rps < 0 or request_seconds < 0:
        raise DockyardValidationError("target_rps and request_seconds must not be negative")
    if not 0 < target_utilization <= 1:
        raise DockyardValidationError("target_utilization must be in (0, 1] or (0, 100]")
    if max_requests_per_container < 1:
        raise DockyardValidationError("max_requests_per_container must be at least 1")
    concurrent = target_rps * request_seconds / target_utilization
    return max(1, math.ceil(round(concurrent / max_requests_per_container, 9)))


def config_from_record(data: dict[str, Any]) -> DeploymentConfig:
    """The configuration a service record keeps (its ``serialize()``), as an object again."""
    target = data.get("target", LocalDeploymentConfig.model_fields["target"].default)
    for kind in (LocalDeploymentConfig, ContainerDeploymentConfig, ClusterDeploymentConfig):
        if kind.model_fields["target"].default == target:
            return kind(**data)
    return LocalDeploymentConfig(**data)
