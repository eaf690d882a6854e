"""``ClusterWebservice`` (alias ``AksWebservice``): autoscaling replicas on a Ray cluster.

Azure Kubernetes Service's analog. The seed's AKS code runs with only its imports changed::

    from dockyard import AksCompute, AksWebservice, ComputeTarget, Model

    aks_target = ComputeTarget(ws, "myaks")           # or ComputeTarget.create(...) / attach(...)
    config = AksWebservice.deploy_configuration(autoscale_min_replicas=1,
                                                autoscale_max_replicas=4,
                                                autoscale_target_utilization=30)
    service = Model.deploy(ws, "mysvc", [model], inference_config, config,
                           deployment_target=aks_target)
    service.wait_for_deployment(show_output=True)

Each service is a Ray Serve application; Ray starts, scales and routes its replicas, and each
replica runs the same scoring server as the other targets, at
``http://<proxy>/api/v1/service/<name>/score``. Without ``deployment_target`` the workspace's
cluster target is used, or a local Ray cluster is started (and the deploy says so). How Azure's
parameters map onto Ray Serve is in docs/cluster.md.
"""

from __future__ import annotations

from typing import Any, ClassVar

from dockyard.webservice.base import Webservice
from dockyard.webservice.config import ClusterDeploymentConfig, build_config


class ClusterWebservice(Webservice):
    """A web service on a Ray cluster (``Webservice(ws, name)`` returns it)."""

    _engine: ClassVar[str] = "ray"

    @staticmethod
    def deploy_configuration(
        autoscale_enabled: bool | None = None,
        autoscale_min_replicas: int | None = None,
        autoscale_max_replicas: int | None = None,
        autoscale_refresh_seconds: float | None = None,
        autoscale_target_utilization: int | None = None,
        collect_model_data: bool | None = None,
        auth_enabled: bool | None = None,
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        enable_app_insights: bool | None = None,
        scoring_timeout_ms: int | None = None,
        replica_max_concurrent_requests: int | None = None,
        max_request_wait_time: int | None = None,
        num_replicas: int | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        gpu_cores: float | None = None,
        period_seconds: int | None = None,
        initial_delay_seconds: int | None = None,
        timeout_seconds: int | None = None,
        success_threshold: int | None = None,
        failure_threshold: int | None = None,
        namespace: str | None = None,
        token_auth_enabled: bool | None = None,
        compute_target_name: str | None = None,
        cpu_cores_limit: float | None = None,
        memory_gb_limit: float | None = None,
        **kwargs: Any,
    ) -> ClusterDeploymentConfig:
        """Azure's AKS settings, with its defaults: autoscaling 1-10 replicas at 70% target
        utilisation (on unless ``num_replicas`` is given), ``cpu_cores=0.1``, ``memory_gb=0.5``,
        key auth on, ``scoring_timeout_ms=60000``, ``replica_max_concurrent_requests=1``,
        ``max_request_wait_time=500`` (ms; then 503 with ``Retry-After``). Settings that have
        no meaning on Ray are accepted and said once."""
        config = build_config(
            ClusterDeploymentConfig,
            autoscale_enabled=autoscale_enabled, autoscale_min_replicas=autoscale_min_replicas,
            autoscale_max_replicas=autoscale_max_replicas,
            autoscale_refresh_seconds=autoscale_refresh_seconds,
            autoscale_target_utilization=autoscale_target_utilization,
            collect_model_data=collect_model_data, auth_enabled=auth_enabled,
            cpu_cores=cpu_cores, memory_gb=memory_gb, enable_app_insights=enable_app_insights,
            scoring_timeout_ms=scoring_timeout_ms,
            replica_max_concurrent_requests=replica_max_concurrent_requests,
            max_request_wait_time=max_request_wait_time, num_replicas=num_replicas,
            primary_key=primary_key, secondary_key=secondary_key, tags=tags,
            properties=properties, description=description, gpu_cores=gpu_cores,
            period_seconds=period_seconds, initial_delay_seconds=initial_delay_seconds,
            timeout_seconds=timeout_seconds, success_threshold=success_threshold,
            failure_threshold=failure_threshold, namespace=namespace,
            token_auth_enabled=token_auth_enabled, compute_target_name=compute_target_name,
            cpu_cores_limit=cpu_cores_limit, memory_gb_limit=memory_gb_limit, **kwargs,
        )  # fmt: skip
        assert isinstance(config, ClusterDeploymentConfig)
        return config

    @property
    def num_replicas(self) -> int:
        """Replicas running now (Ray's count; it changes as the service autoscales)."""
        return int(self._refresh().details.get("replicas") or 0)

    @property
    def compute_target_name(self) -> str | None:
        return self._record.spec.get("config", {}).get("compute_target_name")


#: Azure's name for the cluster target.
AksWebservice = ClusterWebservice

__all__ = ["AksWebservice", "ClusterWebservice"]
