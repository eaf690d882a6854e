"""A service's metrics from Python: current rates and latency percentiles, and recent history.

Works for every target (local processes, Docker, cluster); the numbers come from the service's
``GET /metrics`` and the history kept in its folder in the workspace
(:mod:`dockyard.ops.metrics` says where), so every process sees the same::

    from dockyard.webservice.metrics import get_service_metrics, get_service_metrics_history

    now = get_service_metrics(service)              # the last minute
    print(now["requests_per_s"], now["latency_ms"]["p99"])
    for point in get_service_metrics_history(service, since_s=3600):
        print(point["t"], point["requests_per_s"], point["p99_ms"])

Rates and percentiles are about ``/score`` (probes and scrapes are not counted in them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.ops import metrics as service_metrics

if TYPE_CHECKING:
    from dockyard.webservice.base import Webservice


def get_service_metrics(service: Webservice, window_s: float = 60.0) -> dict[str, Any]:
    """The service's numbers over about the last ``window_s`` seconds.

    Keys: ``service`` (name); ``window_s`` (the seconds the rates cover: back to the nearest sample
    of the history at least ``window_s`` old, or the oldest there is; without any history yet,
    back to the server's start, so the first call answers at once with the averages since then);
    ``sampled_at`` (epoch s); ``requests_per_s``;
    ``status_per_s`` (``"2xx"``, ``"4xx"``, ``"5xx"`` (other than 503), ``"503"``);
    ``latency_ms`` (``"p50"``, ``"p90"``, ``"p99"``: time to answer, None without requests);
    ``run_ms`` (``"p50"``, ``"p99"``: run() alone); ``in_flight`` (requests being answered now);
    ``replicas`` (serving now; 0 when the service does not answer, and then every rate is 0).
    A cluster service whose target reports Ray's dashboard also gets ``per_replica``: Ray
    Serve's own numbers for each serving replica (docs/metrics.md).
    """
    return service_metrics.current(service.workspace, service.name, window_s)


def get_service_metrics_history(
    service: Webservice, since_s: float = 3600.0
) -> list[dict[str, Any]]:
    """The service's recent history, oldest first: one point per sample (every 10 s when the
    server keeps its history, else per scrape made by :func:`get_service_metrics`, at most one
    each 5 s), at most two hours back.

    Each point: ``t`` (epoch s), ``requests_per_s``, ``p50_ms`` and ``p99_ms`` (None when no
    request came in that interval), ``status_per_s`` (the four keys of
    :func:`get_service_metrics`), ``replicas``.
    """
    return service_metrics.history(service.workspace, service.name, since_s)


__all__ = ["get_service_metrics", "get_service_metrics_history"]
