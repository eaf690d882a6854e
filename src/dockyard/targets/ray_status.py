"""Serve's view of a service, in Azure's states (pure functions over the dashboard's JSON).

=====================================  ===============================================================
Serve (application / deployment)       dockyard state
=====================================  ===============================================================
RUNNING, deployment HEALTHY/UPSCALING   ``Healthy``
/DOWNSCALING
DEPLOYING, UPDATING                     ``Transitioning`` (``Healthy`` while an update runs and old
                                        replicas serve)
DEPLOY_FAILED, REPLICA_STARTUP_FAILED   ``CrashLoopBackOff`` while Ray still retries the start,
                                        else ``Failed``; the error is the replica's own traceback
UNHEALTHY (health checks fail)          ``Unhealthy``
DELETING, or no application             ``Stopped``
=====================================  ===============================================================
"""

from __future__ import annotations

import re
from typing import Any

from dockyard.targets.base import (
    CRASH_LOOP,
    FAILED,
    HEALTHY,
    STOPPED,
    TRANSITIONING,
    UNHEALTHY,
    TargetStatus,
)

#: The class name of the replicas' actors (logs are found by it).
DEPLOYMENT = "scoring"
#: The error dockyard's replica raises when score.py cannot be imported or init() fails.
START_ERROR = "ReplicaStartError: "


def status_of(app: dict[str, Any] | None, base_uri: str, port: int | None) -> TargetStatus:
    """The :class:`TargetStatus` of one Serve application (``None``: not deployed)."""
    if not app:
        return TargetStatus(state=STOPPED, port=port)
    deployment = (app.get("deployments") or {}).get(DEPLOYMENT) or {}
    replicas = list(deployment.get("replicas") or [])
    running = [r for r in replicas if r.get("state") == "RUNNING"]
    details = {
        "replicas": len(running),
        "replica_states": _count(r.get("state", "?") for r in replicas),
        "serve_status": app.get("status"),
        "deployment_status": deployment.get("status"),
        "trigger": deployment.get("status_trigger"),
    }
    state, error = _state(app, deployment, running)
    return TargetStatus(
        state=state,
        error=error,
        port=port,
        pids=[int(r["pid"]) for r in running if r.get("pid")],
        details=details,
        base_uri=base_uri,
        events=[{"message": f"Ray Serve: {app.get('status')} / {deployment.get('status')}"}],
    )


def _state(
    app: dict[str, Any], deployment: dict[str, Any], running: list[dict[str, Any]]
) -> tuple[str, str | None]:
    status = app.get("status")
    dep_status = deployment.get("status")
    message = deployment.get("message") or app.get("message") or ""
    if status == "RUNNING" and dep_status in ("HEALTHY", "UPSCALING", "DOWNSCALING"):
        return HEALTHY, None
    if status == "DEPLOY_FAILED" or dep_status == "DEPLOY_FAILED":
        return FAILED, failure_text(message)
    if dep_status == "UNHEALTHY":
        if deployment.get("status_trigger") == "REPLICA_STARTUP_FAILED":
            return CRASH_LOOP, failure_text(message)
        return UNHEALTHY, failure_text(message) or "replicas fail their health checks"
    if status == "DELETING":
        return STOPPED, None
    if running and status in ("DEPLOYING", "RUNNING"):
        return HEALTHY, None  # an update in progress: the old replicas serve
    return TRANSITIONING, None


def failure_text(message: str) -> str | None:
    """The part of Ray's message a user needs: dockyard's replica error and the script's
    traceback when there is one, else Ray's message itself."""
    if not message:
        return None
    message = _ANSI.sub("", message)
    at = message.find(START_ERROR)
    if at >= 0:
        message = message[at + len(START_ERROR) :]
    lines = [line for line in message.strip().splitlines() if not line.startswith("ray::")]
    return "\n".join(lines).strip()


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _count(states: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return counts
