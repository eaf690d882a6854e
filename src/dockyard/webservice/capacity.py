"""Capacity planning: measure what a service serves, then recommend Azure's autoscale settings.

:func:`measure_capacity` checks that the service is Healthy and on this machine, finds a
sample body (:mod:`dockyard.webservice.capacity_sample`), sends it a few times unloaded, then
runs a bounded load test (:mod:`dockyard.webservice.load_test`) at
``replica_max_concurrent_requests`` times the replicas serving, and hands the measured request
time to :func:`dockyard.webservice.capacity_rules.recommend` (the seed's formula and the rules
for min, max and target utilization). The :class:`CapacityReport` holds every number used.
"""

from __future__ import annotations

import ipaddress
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dockyard.errors import ValidationError, WebserviceError
from dockyard.targets.base import HEALTHY
from dockyard.webservice.capacity_rules import FORMULA, Recommendation, recommend
from dockyard.webservice.capacity_sample import sample_body
from dockyard.webservice.load_test import LoadResult, run_load, send_one
from dockyard.webservice.scoring_client import server_message

if TYPE_CHECKING:
    from dockyard.webservice.base import Webservice

#: Sequential requests before the test: they check the sample and give the unloaded latency.
WARMUP_REQUESTS = 3
#: The longest load test measure_capacity runs (seconds).
MAX_DURATION_S = 600.0


@dataclass(frozen=True)
class CapacityReport:
    """What :func:`measure_capacity` measured and recommends (``to_dict()`` for JSON)."""

    service: str
    compute_type: str
    scoring_uri: str
    sample_source: str
    concurrency: int
    replicas: int
    max_concurrent: int
    duration_s: float
    requests: int
    succeeded: int
    rejected_503: int
    errors: dict[str, int]
    throughput_rps: float
    throughput_per_replica_rps: float
    request_seconds: float
    latency_p50_s: float
    latency_p90_s: float
    latency_p99_s: float
    run_seconds: float | None
    unloaded_seconds: float | None
    recommendation: Recommendation

    @property
    def deploy_settings(self) -> dict[str, int]:
        """The recommended settings as keyword arguments of ``deploy_configuration`` (empty
        without a target rate)."""
        r = self.recommendation
        if r.min_replicas is None or r.max_replicas is None:
            return {}
        settings = {
            "autoscale_min_replicas": r.min_replicas,
            "autoscale_max_replicas": r.max_replicas,
            "autoscale_target_utilization": r.utilization,
        }
        if self.max_concurrent != 1:
            settings["replica_max_concurrent_requests"] = self.max_concurrent
        return settings

    @property
    def deploy_call(self) -> str | None:
        """``AksWebservice.deploy_configuration(...)`` with the recommended settings."""
        settings = self.deploy_settings
        if not settings:
            return None
        args = ", ".join(f"{key}={value}" for key, value in settings.items())
        return f"AksWebservice.deploy_configuration({args})"

    def to_dict(self) -> dict[str, Any]:
        r = self.recommendation
        return {
            "service": self.service,
            "compute_type": self.compute_type,
            "scoring_uri": self.scoring_uri,
            "sample_source": self.sample_source,
            "load": {
                "concurrency": self.concurrency,
                "replicas": self.replicas,
                "replica_max_concurrent_requests": self.max_concurrent,
                "duration_seconds": self.duration_s,
                "requests": self.requests,
                "succeeded": self.succeeded,
                "rejected_503": self.rejected_503,
                "errors": [
                    {"status": int(key) if key.isdigit() else key, "count": count}
                    for key, count in self.errors.items()
                ],
            },
            "measured": {
                "throughput_rps": self.throughput_rps,
                "throughput_per_replica_rps": self.throughput_per_replica_rps,
                "request_seconds": self.request_seconds,
                "latency_p50_seconds": self.latency_p50_s,
                "latency_p90_seconds": self.latency_p90_s,
                "latency_p99_seconds": self.latency_p99_s,
                "run_seconds": self.run_seconds,
                "unloaded_seconds": self.unloaded_seconds,
            },
            "recommended": {
                "target_rps": r.target_rps,
                "autoscale_min_replicas": r.min_replicas,
                "autoscale_max_replicas": r.max_replicas,
                "autoscale_target_utilization": r.utilization,
                "utilization_reasons": list(r.utilization_reasons),
                "sustained_rps": r.sustained_rps,
                "sustained_rps_per_replica": r.sustained_rps_per_replica,
                "deploy_call": self.deploy_call,
                "rules": list(r.rules),
            },
            "formula": FORMULA,
        }


def measure_capacity(
    service: Webservice,
    target_rps: float | None = None,
    *,
    duration_s: float = 10,
    max_requests: int = 2000,
    sample: Any = None,
    concurrency: int | None = None,
    allow_remote: bool = False,
) -> CapacityReport:
    """Load a Healthy service for at most ``duration_s`` seconds and ``max_requests`` requests,
    and recommend ``autoscale_min_replicas``, ``autoscale_max_replicas`` and
    ``autoscale_target_utilization`` for ``target_rps`` (without it: what the current settings
    sustain).

    ``sample`` is the request body (a dict, str, bytes, or the path of a JSON file); without it
    the example of the service's swagger input is sent. ``concurrency`` defaults to the
    service's ``replica_max_concurrent_requests`` times the replicas serving. Only a service on
    this machine (a loopback address) is loaded unless ``allow_remote=True``.
    """
    import httpx  # lazy: importing dockyard.webservice stays light

    _check_arguments(target_rps, duration_s, max_requests, concurrency)
    data = service.serialize()
    name = service.name
    if data.get("state") != HEALTHY:
        raise WebserviceError(
            f"Service {name!r} is {data.get('state')}, not Healthy: capacity is measured on a "
            f"Healthy service only; its log says why: `dockyard service logs {name}`",
            hint="wait until it is Healthy: service.wait_for_deployment()",
            state=data.get("state"),
        )
    uri = str(data.get("scoringUri") or "")
    _check_host(name, uri, max_requests, allow_remote)
    config = dict(data.get("deploymentConfig") or {})
    max_concurrent = int(config.get("replica_max_concurrent_requests") or 1)
    replicas = _replicas(data)
    load_concurrency = concurrency or max_concurrent * replicas
    headers = {"Content-Type": "application/json"}
    authorization = service.authorization_header()
    if authorization:
        headers["Authorization"] = authorization
    scoring_s = float(config.get("scoring_timeout_ms") or 60_000) / 1000
    timeout = httpx.Timeout(min(scoring_s + 5, duration_s + 30), connect=10.0)
    limits = httpx.Limits(max_connections=load_concurrency + 1)
    with httpx.Client(timeout=timeout, limits=limits) as client:
        swagger = uri.removesuffix("/score") + "/swagger.json"
        body, source = sample_body(name, sample, swagger, client, headers)
        unloaded = _warm_up(name, client, uri, body, headers)
        result = run_load(
            client, uri, body, headers,
            concurrency=load_concurrency, duration_s=duration_s, max_requests=max_requests,
        )  # fmt: skip
    return _report(service, data, uri, source, result, replicas, max_concurrent, unloaded,
                   target_rps, config)  # fmt: skip


def _report(
    service: Webservice,
    data: dict[str, Any],
    uri: str,
    source: str,
    result: LoadResult,
    replicas: int,
    max_concurrent: int,
    unloaded: float,
    target_rps: float | None,
    config: dict[str, Any],
) -> CapacityReport:
    mean = result.mean_seconds
    if mean is None:
        raise WebserviceError(
            f"No request to service {service.name!r} succeeded under load: {result.sent} sent, "
            f"{result.rejected_503} answered 503, errors {result.errors or 'none'}",
            hint="see what the service said in its log: service.get_logs()",
        )
    p50, p90, p99 = (float(result.latency(p) or 0.0) for p in (50, 90, 99))
    recommendation = recommend(
        request_seconds=mean, max_concurrent=max_concurrent, target_rps=target_rps,
        replicas=replicas, p50=p50, p90=p90, unloaded=unloaded,
        rejected_503=result.rejected_503,
        settings_utilization=config.get("autoscale_target_utilization"),
    )  # fmt: skip
    return CapacityReport(
        service=service.name,
        compute_type=str(data.get("computeType") or ""),
        scoring_uri=uri,
        sample_source=source,
        concurrency=result.concurrency,
        replicas=replicas,
        max_concurrent=max_concurrent,
        duration_s=result.elapsed_s,
        requests=result.sent,
        succeeded=len(result.ok),
        rejected_503=result.rejected_503,
        errors=result.errors,
        throughput_rps=result.throughput_rps,
        throughput_per_replica_rps=result.throughput_rps / replicas,
        request_seconds=mean,
        latency_p50_s=p50,
        latency_p90_s=p90,
        latency_p99_s=p99,
        run_seconds=result.mean_run_seconds,
        unloaded_seconds=unloaded,
        recommendation=recommendation,
    )


def _check_arguments(
    target_rps: float | None, duration_s: float, max_requests: int, concurrency: int | None
) -> None:
    problems = []
    if target_rps is not None and not target_rps > 0:
        problems.append(f"target_rps must be above 0 (got {target_rps})")
    if not 0 < duration_s <= MAX_DURATION_S:
        problems.append(
            f"duration_s must be above 0 and at most {MAX_DURATION_S:g} (got {duration_s})"
        )
    if max_requests < 1:
        problems.append(f"max_requests must be at least 1 (got {max_requests})")
    if concurrency is not None and concurrency < 1:
        problems.append(f"concurrency must be at least 1 (got {concurrency})")
    if problems:
        raise ValidationError(
            "Cannot measure capacity: " + "; ".join(problems),
            hint="fix the named setting: the test is bounded by its duration and request count",
        )


def _check_host(name: str, uri: str, max_requests: int, allow_remote: bool) -> None:
    host = urlsplit(uri).hostname or ""
    if not uri or not host:
        raise WebserviceError(
            f"Service {name!r} has no scoring URI to measure ({uri or 'none'})",
            hint="wait until it is Healthy: service.wait_for_deployment()",
        )
    if allow_remote or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise WebserviceError(
            f"Service {name!r} answers at {uri}: {host} is not a loopback address, and a load "
            f"test sends up to {max_requests} requests there. Loading a host that is not this "
            "machine needs allow_remote=True (--allow-remote at the command line)",
            hint="load only a service you run yourself and may load",
        )


def _replicas(data: dict[str, Any]) -> int:
    """The replicas serving now: a cluster service's ``serialize()`` says so; else one."""
    for key in ("replicas", "numReplicas"):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
    return 1


def _warm_up(name: str, client: Any, uri: str, body: bytes, headers: dict[str, str]) -> float:
    """Send the sample a few times, one at a time: it must be answered with 200. Returns the
    median latency (the unloaded latency the test compares with)."""
    seconds = []
    for _ in range(WARMUP_REQUESTS):
        sample, response = send_one(client, uri, body, headers)
        if sample.status != 200:
            raise _warm_up_error(name, uri, sample.status, response)
        seconds.append(sample.seconds)
    return statistics.median(seconds)


def _warm_up_error(name: str, uri: str, status: int | str, response: Any) -> WebserviceError:
    if response is None:
        return WebserviceError(
            f"The sample request to service {name!r} at {uri} got no answer ({status}) before "
            "the load test",
            hint="check that it answers: service.wait_for_deployment() says why",
        )
    message, _ = server_message(response.content)
    request_id = response.headers.get("x-request-id", "")
    return WebserviceError(
        f"The sample request to service {name!r} got {status} before the load test, so no "
        f"load was sent: {message}\nRequest id: {request_id}",
        status_code=response.status_code,
        request_id=request_id,
        hint="give a sample the service answers with 200; that request's log lines: "
        f"service.get_logs(request_id={request_id!r})",
    )
