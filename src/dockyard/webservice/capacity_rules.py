"""The rules that turn a measured request time into Azure's autoscale settings.

:func:`recommend` feeds the request time measured by
:func:`dockyard.webservice.measure_capacity` into the seed's formula
(:func:`dockyard.webservice.config.replicas_needed`); each rule, with the numbers it used, is
a line of the recommendation's ``rules``:

* ``autoscale_target_utilization``: 70 (Azure's default), or 50 when the latency under load
  shows queueing (:func:`queueing_signs`: any 503; the median over 1.5x the unloaded latency;
  p90 over 2x the median; each rise by at least 10 ms): a lower target scales out sooner and
  leaves room for the queue.
* ``autoscale_min_replicas``: the formula for the target rate at that utilization.
* ``autoscale_max_replicas``: the formula for twice the target rate (a spike of 2x), and at
  least the minimum plus one, so that the autoscaler has room to act.
* What the current settings sustain: replicas serving x ``replica_max_concurrent_requests`` x
  the service's target utilization (70 when it has none) / request seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.webservice.config import replicas_needed

#: Azure's default ``autoscale_target_utilization`` (%), when latency shows no queueing.
DEFAULT_UTILIZATION = 70
#: The target utilization (%) recommended when latency under load shows queueing.
QUEUEING_UTILIZATION = 50
#: ``autoscale_max_replicas`` leaves room for a spike of this many times the target rate.
SPIKE_FACTOR = 2
#: A latency rise smaller than this (seconds) is noise, not queueing.
QUEUEING_FLOOR_S = 0.010
FORMULA = (
    "ceil(target_rps * request_seconds / (utilization / 100) / replica_max_concurrent_requests)"
)


@dataclass(frozen=True)
class Recommendation:
    """Azure's autoscale settings for a measured service, and the rules that gave them."""

    target_rps: float | None
    utilization: int
    utilization_reasons: tuple[str, ...]
    min_replicas: int | None
    max_replicas: int | None
    sustained_rps: float
    sustained_rps_per_replica: float
    rules: tuple[str, ...]


def queueing_signs(p50: float, p90: float, unloaded: float | None, rejected_503: int) -> list[str]:
    """What in the latency under load shows queueing (empty: none)."""
    signs = []
    if rejected_503:
        signs.append(f"{rejected_503} answers were 503 (no free slot within the wait limit)")
    if unloaded is not None and p50 > 1.5 * unloaded and p50 - unloaded >= QUEUEING_FLOOR_S:
        signs.append(
            f"the median latency under load ({p50:.4f} s) is over 1.5x the unloaded "
            f"latency ({unloaded:.4f} s): requests wait or slow each other down"
        )
    if p90 > 2 * p50 and p90 - p50 >= QUEUEING_FLOOR_S:
        signs.append(
            f"p90 ({p90:.4f} s) is over 2x the median ({p50:.4f} s): a tail of waiting requests"
        )
    return signs


def recommend(
    *,
    request_seconds: float,
    max_concurrent: int,
    target_rps: float | None = None,
    replicas: int = 1,
    p50: float | None = None,
    p90: float | None = None,
    unloaded: float | None = None,
    rejected_503: int = 0,
    settings_utilization: int | None = None,
) -> Recommendation:
    """The settings for ``target_rps`` given a measured request time (see the module's rules).

    ``settings_utilization`` is the service's own target utilization (default 70): with it,
    ``sustained_rps`` is what the service's current settings serve at ``replicas``.
    """
    p50 = request_seconds if p50 is None else p50
    signs = queueing_signs(p50, request_seconds if p90 is None else p90, unloaded, rejected_503)
    if signs:
        utilization = QUEUEING_UTILIZATION
        reasons = (*signs, f"so {utilization} %: a lower target scales out before the queue grows")
    else:
        utilization = DEFAULT_UTILIZATION
        reasons = (f"no queueing under load: Azure's default {utilization} %",)
    current = settings_utilization or DEFAULT_UTILIZATION
    per_replica = max_concurrent * current / 100 / request_seconds if request_seconds else 0.0
    rules = [
        f"request_seconds = {request_seconds:.4f} (mean latency of the 200 answers under load)",
        f"the current settings sustain {replicas} replica(s) * {max_concurrent} * {current / 100:.2f}"
        f" / {request_seconds:.4f} s = {replicas * per_replica:.1f} rps",
        f"autoscale_target_utilization = {utilization}: " + "; ".join(reasons),
    ]
    low = high = None
    if target_rps is not None:
        low = replicas_needed(target_rps, request_seconds, max_concurrent, utilization)
        spike = replicas_needed(
            SPIKE_FACTOR * target_rps, request_seconds, max_concurrent, utilization
        )
        high = max(spike, low + 1)
        busy = target_rps * request_seconds / (utilization / 100) / max_concurrent
        rules += [
            f"autoscale_min_replicas = ceil({target_rps:g} * {request_seconds:.4f} / "
            f"{utilization / 100:.2f} / {max_concurrent}) = ceil({busy:.3f}) = {low}",
            f"autoscale_max_replicas = max(replicas for {SPIKE_FACTOR}x the target rate "
            f"({SPIKE_FACTOR * target_rps:g} rps) = {spike}, autoscale_min_replicas + 1 = "
            f"{low + 1}) = {high}",
        ]
    return Recommendation(
        target_rps,
        utilization,
        reasons,
        low,
        high,
        replicas * per_replica,
        per_replica,
        tuple(rules),
    )
