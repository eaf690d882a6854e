"""Azure's deployment parameters as Ray Serve deployment options (pure data, no Ray import).

:func:`deployment_options` is the one place where ``AksWebservice.deploy_configuration(...)``
becomes the keyword arguments of ``serve.deployment(...).options(...)``; ``docs/cluster.md``
has the same mapping as a table (a test keeps the two in step). Facts it relies on were checked
in Ray 2.60's own source (``ray/serve/config.py``, ``ray/serve/_private/config.py``):

* ``AutoscalingConfig``'s defaults react in tens of seconds (metrics every 10 s over 30 s, 30 s
  before scaling up, 600 s before scaling down); Azure's router reacts in about a second. The
  replicas push their numbers every ``metrics_interval_s``, and ``look_back_period_s`` must exceed
  it, so both follow ``autoscale_refresh_seconds`` and scaling up starts without delay.
* ``target_ongoing_requests`` is Azure's utilisation rule in Ray's terms: a replica is "full" at
  ``replica_max_concurrent_requests`` requests, and the autoscaler keeps it at the target
  utilisation of that.
* ``max_request_wait_time`` has no Ray equivalent, and Ray's own queue in front of the replicas
  has no time bound: a request held there can wait seconds and still be answered 200. So Ray
  hands requests to a replica at once and they wait for a free slot *inside* it, where the
  scoring server bounds the wait by ``max_request_wait_time`` and answers 503 with
  ``Retry-After`` (its own JSON body, as on every target). For that, a replica admits its run()
  slots plus a waiting room (``max_ongoing_requests``) sized for ``max_request_wait_time`` of
  arrivals at up to :data:`ROOM_RATE` requests/s; a request waiting there leaves within the
  wait limit, so the room empties as fast as it fills. Ray's queue is still bounded
  (``max_queued_requests``; its default, -1, is unbounded) and answers 503 with ``Retry-After``
  when full (``BackpressureConfig``); it only fills when every replica's room is full.
* Waiting requests count as ongoing, so the autoscaler sees a queue building up at once.
* ``look_back_period_s`` is at least :data:`MIN_LOOK_BACK_S`: over a 1 s window a single slow
  request lifts the mean past a low target and adds replicas at a rate one replica handles
  easily (measured in benchmarks/cluster/spike.py); 3 s keeps the reaction to a real step
  within about a second (the metrics still arrive every ``autoscale_refresh_seconds / 2``).
* ``max_surge_percent=100``: during a code update, old replicas serve until their replacements are
  ready (Ray's default stops them first).
"""

from __future__ import annotations

import math
from typing import Any

GIB = 1024**3
#: Ray's queue holds at most this many requests per run() slot of each replica (per proxy).
ADMIT_FACTOR = 4
#: The waiting room inside a replica holds ``max_request_wait_time`` of arrivals at this rate.
ROOM_RATE = 500
#: ... and at most this many requests (a very long wait limit would otherwise admit thousands).
MAX_ROOM = 1000
#: The autoscaler averages the ongoing requests over at least this many seconds.
MIN_LOOK_BACK_S = 3.0
#: ``Retry-After`` (seconds) of a 503 from Ray's queue in front of the replicas.
RETRY_AFTER_S = 1
#: Health checks get at least this long: a replica busy with run() on its event loop answers late.
MIN_HEALTH_TIMEOUT_S = 10.0
#: Scaling down waits this long by default (Azure's autoscaler takes about a minute).
DEFAULT_DOWNSCALE_DELAY_S = 60.0

#: Azure parameters that have no meaning on Ray, and what dockyard does instead.
NOT_MAPPED = {
    "cpu_cores_limit": "Ray reserves CPUs (cpu_cores) but sets no hard limit",
    "memory_gb_limit": "Ray reserves memory (memory_gb) but sets no hard limit; its memory "
    "monitor stops a worker when the node runs out",
    "initial_delay_seconds": "a replica counts as started once init() has returned; health "
    "checks begin after that",
    "success_threshold": "one good health check marks a replica healthy",
    "failure_threshold": "Ray replaces a replica after 3 failed health checks in a row",
    "timeout_seconds": f"health checks time out after at least {MIN_HEALTH_TIMEOUT_S:g} s "
    "(a replica busy in run() answers late)",
    "namespace": "services are Serve applications named after the workspace and the service",
}


def deployment_options(config: dict[str, Any]) -> dict[str, Any]:
    """``serve.deployment`` options for a ``ClusterDeploymentConfig`` given as its dict."""
    concurrency = int(config.get("replica_max_concurrent_requests") or 1)
    actor: dict[str, Any] = {"num_cpus": float(config.get("cpu_cores") or 0.1)}
    if config.get("memory_gb"):
        actor["memory"] = int(float(config["memory_gb"]) * GIB)
    if config.get("gpu_cores"):
        actor["num_gpus"] = float(config["gpu_cores"])
    if config.get("ray_resources"):
        actor["resources"] = {str(k): float(v) for k, v in config["ray_resources"].items()}
    options: dict[str, Any] = {
        "ray_actor_options": actor,
        "max_ongoing_requests": admitted(config),
        "max_queued_requests": concurrency * ADMIT_FACTOR * max(1, _max_replicas(config)),
        "health_check_period_s": float(config.get("period_seconds") or 10),
        "health_check_timeout_s": max(
            MIN_HEALTH_TIMEOUT_S, float(config.get("timeout_seconds") or 2)
        ),
        "graceful_shutdown_timeout_s": min(
            20.0, int(config.get("scoring_timeout_ms") or 60000) / 1000
        ),
        "graceful_shutdown_wait_loop_s": 0.5,
        "max_surge_percent": 100,
        "backpressure_config": {"status_code": 503, "retry_after_s": RETRY_AFTER_S},
    }
    if fixed_count(config):
        options["num_replicas"] = int(
            config.get("num_replicas") or config.get("autoscale_min_replicas") or 1
        )
    else:
        options["autoscaling_config"] = autoscaling(config)
    return options


def autoscaling(config: dict[str, Any]) -> dict[str, Any]:
    """Ray's ``AutoscalingConfig`` for Azure's autoscale settings."""
    concurrency = int(config.get("replica_max_concurrent_requests") or 1)
    utilization = float(config.get("autoscale_target_utilization") or 70) / 100
    refresh = float(config.get("autoscale_refresh_seconds") or 1)
    interval = max(0.1, refresh / 2)
    low = int(config.get("autoscale_min_replicas", 1))
    return {
        "min_replicas": low,
        "initial_replicas": max(1, low),
        "max_replicas": int(config.get("autoscale_max_replicas") or 10),
        "target_ongoing_requests": round(concurrency * utilization, 3),
        "metrics_interval_s": interval,
        "look_back_period_s": max(refresh, interval * 2, MIN_LOOK_BACK_S),
        "upscale_delay_s": 0.0,
        "downscale_delay_s": float(
            config.get("autoscale_downscale_delay_seconds") or DEFAULT_DOWNSCALE_DELAY_S
        ),
    }


def admitted(config: dict[str, Any]) -> int:
    """Requests a replica holds at once: its run() slots plus a waiting room for
    ``max_request_wait_time`` of arrivals at :data:`ROOM_RATE` requests/s (at least
    :data:`ADMIT_FACTOR` per slot)."""
    concurrency = int(config.get("replica_max_concurrent_requests") or 1)
    wait_ms = config.get("max_request_wait_time")
    wait_s = (60_000 if wait_ms is None else int(wait_ms)) / 1000  # None: the server's default
    room = max(concurrency * (ADMIT_FACTOR - 1), min(MAX_ROOM, math.ceil(wait_s * ROOM_RATE)))
    return concurrency + room


def fixed_count(config: dict[str, Any]) -> bool:
    """Is the replica count fixed (``num_replicas``, or ``autoscale_enabled=False``)? Azure's
    rule: autoscaling is on unless ``num_replicas`` is given."""
    return bool(config.get("num_replicas")) or config.get("autoscale_enabled") is False


def expected_replicas(config: dict[str, Any]) -> int:
    """Replicas a new version must have running before it counts as started."""
    if fixed_count(config):
        return int(config.get("num_replicas") or config.get("autoscale_min_replicas") or 1)
    return max(1, int(config.get("autoscale_min_replicas", 1)))


def _max_replicas(config: dict[str, Any]) -> int:
    if config.get("num_replicas"):
        return int(config["num_replicas"])
    return int(config.get("autoscale_max_replicas") or 10)


def scaling_summary(config: dict[str, Any]) -> str:
    """One line for the deploy log: how the service scales."""
    options = deployment_options(config)
    if "num_replicas" in options:
        return f"{options['num_replicas']} replica(s), autoscaling off"
    a = options["autoscaling_config"]
    return (
        f"{a['min_replicas']}-{a['max_replicas']} replicas, scaling at "
        f"{a['target_ongoing_requests']} ongoing request(s) per replica "
        f"(utilisation {config.get('autoscale_target_utilization', 70)}% of "
        f"{config.get('replica_max_concurrent_requests', 1)}), "
        f"metrics every {a['metrics_interval_s']} s, down after {a['downscale_delay_s']:g} s; "
        f"{math.ceil(options['max_ongoing_requests'])} admitted per replica"
    )
