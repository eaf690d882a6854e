"""A service's access lines, read from its log (pure: text in, numbers out).

The scoring server writes one line per request
(``2026-01-01 12:00:00,123 I [pid] dockyard.access - POST /score 500 1.234ms 37 rid=ID``):
:func:`requests_of` reads them back, :func:`load_of` measures what the service was asked to do
(the busiest second, the time of a successful run()), and :func:`overload_advice` turns the 503s
into the seed's advice in numbers taken from the service's own configuration.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dockyard.webservice.config import replicas_needed

_ACCESS = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)[,.](?P<ms>\d{3}) \S+ \[\d+\] dockyard\.access - "
    r"(?P<method>\S+) (?P<path>\S+) (?P<status>\d{3}) (?P<took>[\d.]+)ms \d+ rid=(?P<rid>\S+)"
)
#: The server's default wait for a free run() slot (ms), when the configuration sets none.
SERVER_DEFAULT_WAIT_MS = 60_000


@dataclass(frozen=True)
class Request:
    """One access line."""

    at: datetime
    method: str
    path: str
    status: int
    ms: float
    rid: str


def requests_of(log: str) -> list[Request]:
    """The access lines of ``log`` for the scoring route, oldest first."""
    found = []
    for match in _ACCESS.finditer(log):
        path = match["path"].split("?", 1)[0]
        if not path.endswith("/score"):
            continue
        found.append(
            Request(
                at=datetime.fromisoformat(f"{match['time']}.{match['ms']}".replace("T", " ")),
                method=match["method"],
                path=path,
                status=int(match["status"]),
                ms=float(match["took"]),
                rid=match["rid"],
            )
        )
    return found


@dataclass(frozen=True)
class Load:
    """What the requests in the log asked of the service."""

    peak_rps: int
    run_seconds: float | None  # mean time of the answered (200) requests

    @property
    def concurrent(self) -> float | None:
        """run() calls in flight at the peak (Little's law: rate x time)."""
        return None if self.run_seconds is None else self.peak_rps * self.run_seconds


def load_of(requests: Sequence[Request]) -> Load:
    """The most requests in any one second (a sliding window over the log's times) and the
    mean time of the answered ones."""
    times = sorted(r.at for r in requests)
    peak, start = 0, 0
    for end, moment in enumerate(times):
        while (moment - times[start]).total_seconds() >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    answered = [r.ms for r in requests if r.status == 200]
    mean = sum(answered) / len(answered) / 1000 if answered else None
    return Load(peak, mean)


def overload_advice(load: Load, config: Mapping[str, Any], replicas: int | None) -> str:
    """The seed's advice for 503s, in numbers from ``config`` (the service's deployment
    configuration) and the measured ``load``."""
    slots = int(config.get("replica_max_concurrent_requests") or 1)
    wait = config.get("max_request_wait_time")
    wait_text = (
        f"{wait} ms" if wait is not None else f"the server's default {SERVER_DEFAULT_WAIT_MS} ms"
    )
    measured = (
        f"the busiest second had {load.peak_rps} request(s); run() took {load.run_seconds:.3f} s "
        "on average"
        if load.run_seconds is not None
        else f"the busiest second had {load.peak_rps} request(s)"
    )
    parts = [
        f"each replica runs replica_max_concurrent_requests={slots} run() call(s) at once and a "
        f"request waits max_request_wait_time={wait_text} for a slot before its 503; {measured}"
    ]
    if "autoscale_max_replicas" in config:
        parts.append(_cluster_advice(load, config, slots, replicas))
    else:
        # measured times are noisy: 2.004 calls at once is 2, not 3
        need = math.ceil(round(load.concurrent, 1)) if load.concurrent else None
        if need and need > slots:
            parts.append(
                f"that load needs about {need} run() call(s) at once: raise "
                f"replica_max_concurrent_requests to {need} if run() can serve calls "
                "concurrently, or serve it from a cluster with several replicas"
            )
        parts.append("a longer max_request_wait_time turns short bursts into waits instead of 503s")
    return "; ".join(parts)


def _cluster_advice(load: Load, config: Mapping[str, Any], slots: int, replicas: int | None) -> str:
    low = int(config.get("autoscale_min_replicas") or 1)
    high = int(config.get("autoscale_max_replicas") or 1)
    utilization = int(config.get("autoscale_target_utilization") or 70)
    running = f"{replicas} replica(s) were running; " if replicas is not None else ""
    if load.run_seconds is None:
        return (
            f"{running}autoscale_min_replicas={low}, autoscale_max_replicas={high}, "
            f"autoscale_target_utilization={utilization}: raise autoscale_min_replicas for "
            "bursts (the formula needs run()'s time: no request was answered)"
        )
    need = replicas_needed(load.peak_rps, load.run_seconds, slots, utilization)
    advice = (
        f"{running}by the seed's formula ceil(rps * seconds / utilization / max_concurrent) = "
        f"ceil({load.peak_rps} * {load.run_seconds:.3f} / {utilization / 100:g} / {slots}) = "
        f"{need} replica(s) serve the busiest second"
    )
    if need > low:
        advice += f": set autoscale_min_replicas to {need} (now {low})"
    if need > high:
        advice += f" and autoscale_max_replicas to at least {need} (now {high})"
    if need <= low:
        advice += (
            f"; the 503s came from a burst faster than the autoscaler: lower "
            f"autoscale_target_utilization (now {utilization}) so that replicas are added sooner"
        )
    return advice


__all__ = ["SERVER_DEFAULT_WAIT_MS", "Load", "Request", "load_of", "overload_advice", "requests_of"]
