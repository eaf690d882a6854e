"""Probing a ready version's ``/health/ready``: ``Unhealthy`` when it stops answering.

Every ``PROBE_INTERVAL`` seconds the supervisor asks its own port; after
``PROBE_FAILURES_FOR_UNHEALTHY`` failures in a row a ``Healthy`` service becomes ``Unhealthy``
(the processes run, but a blocking ``run()`` or ``init()`` may hold the server), and the first
answer makes it ``Healthy`` again.
"""

from __future__ import annotations

import http.client
import time

from dockyard.server import contract
from dockyard.targets.base import HEALTHY, UNHEALTHY

PROBE_INTERVAL = 2.0
PROBE_TIMEOUT = 2.0
PROBE_FAILURES_FOR_UNHEALTHY = 2

#: (state, event message, error) the service should change to.
Change = tuple[str, str, str | None]


def answers_ready(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """Does ``GET /health/ready`` on ``host:port`` answer 200 within ``timeout`` seconds?"""
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.request("GET", contract.READINESS_PATH)
        ok = conn.getresponse().status == 200
        conn.close()
    except OSError:
        return False
    return ok


class Prober:
    """When to probe next, and how many probes in a row have failed."""

    def __init__(self) -> None:
        self.failures = 0
        self.next_at = 0.0

    def restart(self) -> None:
        """A version just became ready: count afresh and probe one interval from now."""
        self.failures = 0
        self.next_at = time.monotonic() + PROBE_INTERVAL

    def check(self, host: str, port: int, state: str) -> Change | None:
        """Probe if one is due; return the state change it calls for, if any."""
        if time.monotonic() < self.next_at:
            return None
        self.next_at = time.monotonic() + PROBE_INTERVAL
        if answers_ready(host, port):
            self.failures = 0
            return (HEALTHY, "answering again", None) if state == UNHEALTHY else None
        self.failures += 1
        if self.failures >= PROBE_FAILURES_FOR_UNHEALTHY and state == HEALTHY:
            return (
                UNHEALTHY,
                "not answering",
                f"The server process is running but {contract.READINESS_PATH} did not answer "
                f"{self.failures} times in a row (a run() or init() may be blocking the server). "
                "See get_logs().",
            )
        return None
