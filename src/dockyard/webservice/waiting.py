"""``Webservice.wait_for_deployment``: watch a service until it is Healthy, or say why not.

The state is read live from the target every 0.1 s; with ``show_output=True`` the events of the
operation being waited for are printed as they come (:mod:`dockyard.webservice.progress`). A
failed, stopped or crash-looping service raises a ``DeploymentError`` carrying its traceback and
the next step (:mod:`dockyard.webservice.next_steps`); every wait with a timeout is bounded.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from dockyard.errors import DeploymentError
from dockyard.targets.base import CRASH_LOOP, FAILED, HEALTHY, STOPPED, UNHEALTHY
from dockyard.webservice import next_steps
from dockyard.webservice.progress import OperationProgress

if TYPE_CHECKING:
    from dockyard.webservice.base import Webservice

#: wait_for_deployment gives up on a crash-looping service after this many restarts.
CRASH_RESTARTS_BEFORE_RAISING = 2


def wait_until_healthy(service: Webservice, show_output: bool, timeout_sec: float | None) -> None:
    """Return once ``service`` is Healthy; raise ``DeploymentError`` when it fails, keeps
    crashing, has no supervisor, or is still not Healthy after ``timeout_sec``."""
    deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
    progress = OperationProgress(service) if show_output else None
    while True:
        status = service._refresh()
        if progress is not None:
            progress.show(status)
        if status.state == HEALTHY:
            if show_output:
                print(f"{service.name}: Healthy at {service.scoring_uri}", file=sys.stderr)
            return
        if status.state in (FAILED, STOPPED):
            raise next_steps.failure(service, status, "deployment failed")
        if status.state == CRASH_LOOP and status.restart_count >= CRASH_RESTARTS_BEFORE_RAISING:
            raise next_steps.failure(
                service, status, "the service keeps crashing while starting (CrashLoopBackOff)"
            )
        if status.state == UNHEALTHY and status.error and "supervisor" in status.error:
            raise next_steps.failure(service, status, "the service is not running")
        if deadline is not None and time.monotonic() > deadline:
            raise DeploymentError(
                f"Service {service.name!r} is still {status.state} after {timeout_sec:g} s",
                step="readiness",
                log_tail=service.get_logs(num_lines=40),
                hint="init() may be slow: wait longer (service.wait_for_deployment("
                "timeout_sec=...)), or find where it is stuck in service.get_logs()",
            )
        time.sleep(0.1)


__all__ = ["CRASH_RESTARTS_BEFORE_RAISING", "wait_until_healthy"]
