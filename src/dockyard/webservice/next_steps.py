"""What to do next, for an SDK user: the errors of a service that cannot start or answer, and
the call that brings it back (the CLI says the same with its commands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.errors import DeploymentError
from dockyard.ops import records, services
from dockyard.ops.user_paths import inference_of, user_paths
from dockyard.targets.base import CRASH_LOOP, FAILED, STOPPED, UNHEALTHY, TargetStatus
from dockyard.webservice.deployment import redeploy_call
from dockyard.webservice.service_logs import step_of

if TYPE_CHECKING:
    from dockyard.webservice.base import Webservice


def failure_before_start(service: Webservice) -> str:
    """The recorded error of a deployment that failed before a server ran, as log lines."""
    record = records.get(service.workspace, service.name)
    if record is None or record.state != FAILED or not record.error:
        return ""
    when = ""
    for event in reversed(records.events(service.workspace, service.name)):
        if event["state"] == FAILED:
            when = f"{event['at']:%Y-%m-%d %H:%M:%S} "
            break
    step = step_of(record.error)
    head = (
        f"{when}[dockyard] the deployment of service {service.name!r} failed"
        + (f" at step {step}" if step else "")
        + ", before any server ran (so the server wrote no log); what failed:"
    )
    return f"{head}\n{record.error.rstrip()}\n"


def failure(service: Webservice, status: TargetStatus, what: str) -> DeploymentError:
    step = "readiness" if status.state == CRASH_LOOP else "start"
    error = status.error or "no error text was recorded"
    # the user's own files, not the deployment's copies (whose folder changes on every reload)
    error = user_paths(inference_of(service.workspace, service.name), error)
    return DeploymentError(
        f"Service {service.name!r}: {what}. State: {status.state} "
        f"(restarts: {status.restart_count}).\n{error}",
        step=step,
        hint=next_step(service, status),
        state=status.state,
    )


# --- what to do next (SDK calls; the CLI says the same with its commands) ------------------
def next_step(service: Webservice, status: TargetStatus) -> str:
    """The call that brings a service in ``status`` back, for an SDK user."""
    if status.state == STOPPED:
        return "start it: service.start(), then service.wait_for_deployment()"
    if status.state == UNHEALTHY and not status.details.get("supervisor_alive", True):
        return "start it again: service.start(), then service.wait_for_deployment()"
    if status.state == FAILED:
        return redeploy_hint(service)
    roll_out = (
        "service.reload()"
        if service._config().reloadable
        else "service.update(inference_config=inference_config)"
    )
    if status.state == CRASH_LOOP:
        return (
            f"fix score.py or the model (see the traceback), then {roll_out}; "
            "everything the server printed: service.get_logs()"
        )
    return f"read service.get_logs(), fix what it shows, then {roll_out}"


def redeploy_hint(service: Webservice) -> str:
    """Deploying again is what fixes a service whose deployment failed: the concrete call."""
    step = step_of(service._record.error or "")
    what = {
        "environment": "fix the environment (the requirement named above)",
        "layout": "fix the entry script or source directory named above",
    }.get(step or "", "fix what failed (above)")
    return (
        f"{what}, then deploy again with the fixed inference_config and the same "
        f"deployment_config: {redeploy_call(service.name, service._record.model_ids)}; "
        "what failed, again: service.get_logs()"
    )


def check_startable(service: Webservice) -> None:
    """``start()`` of a service whose deployment failed before any server ran has nothing to
    start: say so, with the call that deploys it again."""
    if service._record.state != FAILED:
        return
    target = services.target_of(service.workspace, service._record)
    if target.status(service.name, service._service_dir()).state != STOPPED:
        return
    raise DeploymentError(
        f"Service {service.name!r} has nothing to start: its deployment failed before any "
        f"server ran, so there is no deployment to start again.\n{service._record.error or ''}",
        step="start",
        hint=redeploy_hint(service),
        state=FAILED,
    )
