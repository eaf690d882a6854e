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

from dataclasses import dataclass
from typing import Any, ClassVar

from dockyard.errors import WebserviceError
from dockyard.ops import keys
from dockyard.webservice.base import Webservice
from dockyard.webservice.config import ClusterDeploymentConfig, build_config


@dataclass(frozen=True)
class AccessToken:
    """``service.get_access_token()``: Azure's token object (times in epoch seconds)."""

    access_token: str
    expiry_on: int
    refresh_after: int
    token_type: str = "Bearer"

    def serialize(self) -> dict[str, Any]:
        return {
            "accessToken": self.access_token,
            "expiryOn": self.expiry_on,
            "refreshAfter": self.refresh_after,
            "tokenType": self.token_type,
        }


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
        ray_resources: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> ClusterDeploymentConfig:
        """Azure's AKS settings, with its defaults: autoscaling 1-10 replicas at 70% target
        utilisation (on unless ``num_replicas`` is given), ``cpu_cores=0.1``, ``memory_gb=0.5``,
        key auth on, ``scoring_timeout_ms=60000``, ``replica_max_concurrent_requests=1``,
        ``max_request_wait_time=500`` (ms; then 503 with ``Retry-After``). Settings that have
        no meaning on Ray are accepted and said once. dockyard's own: ``ray_resources`` (Ray
        custom resources each replica needs, to place replicas on chosen nodes) and
        ``autoscale_downscale_delay_seconds`` (60)."""
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
            cpu_cores_limit=cpu_cores_limit, memory_gb_limit=memory_gb_limit,
            ray_resources=ray_resources, **kwargs,
        )  # fmt: skip
        assert isinstance(config, ClusterDeploymentConfig)
        return config

    def get_access_token(self) -> AccessToken:
        """A short-lived token for ``Authorization: Bearer <token>`` (services deployed with
        ``token_auth_enabled=True``): valid for an hour, renew after ``refresh_after``."""
        if not self._config_value("token_auth_enabled"):
            raise WebserviceError(
                f"Service {self.name!r} does not use token auth",
                hint="its keys authenticate callers (service.get_keys()); for tokens deploy with "
                "AksWebservice.deploy_configuration(auth_enabled=False, token_auth_enabled=True)",
            )
        token, expiry, refresh = keys.access_token(self.workspace, self.name)
        return AccessToken(token, expiry, refresh)

    def authorization_header(self) -> str | None:
        if self._config_value("token_auth_enabled"):
            return f"Bearer {self.get_access_token().access_token}"
        return super().authorization_header()

    def _config_value(self, name: str) -> Any:
        return self._record.spec.get("config", {}).get(name)

    @property
    def num_replicas(self) -> int:
        """Replicas running now (Ray's count; it changes as the service autoscales)."""
        return int(self._refresh().details.get("replicas") or 0)

    @property
    def compute_target_name(self) -> str | None:
        return self._config_value("compute_target_name")


#: Azure's name for the cluster target.
AksWebservice = ClusterWebservice

__all__ = ["AccessToken", "AksWebservice", "ClusterWebservice"]
