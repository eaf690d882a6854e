"""What a Docker service's state is, read from the engine: the server container's status, its
restart count, the ``die``/``oom`` events the engine recorded, and a ``GET /health/ready`` on the
published port.

Exit code 3 (import or ``init()`` failed) with restarts is ``CrashLoopBackOff`` (Docker's own
restart back-off), with the traceback once, the summary and the model-folder listing (the same
report as the local target's); an out-of-memory kill is said as such, naming the limit; another
non-zero exit is a bad configuration: ``Failed``, and restarts are switched off.
"""

from __future__ import annotations

import contextlib
from typing import Any

from dockyard.server import contract
from dockyard.server.failure_report import start_failure_report
from dockyard.targets._docker_parts import crash_text, history, http_ready, logs_of, oom_text
from dockyard.targets.base import (
    CRASH_LOOP,
    FAILED,
    HEALTHY,
    STOPPED,
    TRANSITIONING,
    UNHEALTHY,
    TargetStatus,
)

INIT_FAILED_EXIT = contract.EXIT_SCRIPT_FAILED


def failure_text(logs: str) -> str:
    """The traceback once, the summary and the model folder; else the end of the log."""
    return start_failure_report(logs) or crash_text(logs)


def _tail(server: Any, lines: int) -> str:
    return "\n".join(logs_of(server, lines).rstrip().splitlines()[-lines:])


def engine_status(
    client: Any, name: str, state: dict[str, Any], server: Any, holder_running: bool
) -> TargetStatus:
    """The service's status from its server container (``state``: the target's own record)."""
    port = state.get("host_port")
    attrs = server.attrs
    engine_state = attrs.get("State", {})
    status, restarts = (
        engine_state.get("Status", "unknown"),
        int(attrs.get("RestartCount") or 0),
    )
    dies, ooms = history(client, server.id, attrs.get("Created"))
    memory = int(attrs.get("HostConfig", {}).get("Memory") or 0)
    last_exit = dies[-1] if dies else int(engine_state.get("ExitCode") or 0)
    oom = bool(engine_state.get("OOMKilled")) or (ooms > 0 and last_exit == 137)
    details = {"container": server.name, "holder": state.get("holder"), "status": status,
               "exit_code": last_exit, "oom_kills": ooms, "inner_port": state.get("inner_port")}  # fmt: skip
    result = TargetStatus(state=TRANSITIONING, restart_count=restarts, port=port,
                          generation=int(state.get("generation") or 0), details=details)  # fmt: skip
    if status == "running" and not holder_running:
        result.state = UNHEALTHY
        result.error = f"the holder container {state.get('holder')} (which owns port {port}) is not running; `dockyard service start {name}`"
    elif status == "running" and port and http_ready("127.0.0.1", int(port)):
        result.state = HEALTHY
        if ooms:
            result.events.append(
                {
                    "state": HEALTHY,
                    "message": oom_text(server.name, memory, restarted=True),
                }
            )
    elif oom:
        result.state = CRASH_LOOP if status in ("restarting", "running") else FAILED
        result.error = oom_text(server.name, memory) + "\n" + _tail(server, 15)
    elif last_exit == INIT_FAILED_EXIT and (restarts or status != "running"):
        result.state = CRASH_LOOP
        result.error = (
            "The scoring script's import or init() failed (exit code 3); the engine restarts "
            f"it with back-off ({restarts} restart(s) so far).\n" + failure_text(logs_of(server))
        )
    elif status in ("exited", "dead") and last_exit not in (0, 143):
        result.state = FAILED
        result.error = (
            f"The scoring server in {server.name} exited with code {last_exit} (a bad "
            "configuration: not restarted).\n" + failure_text(logs_of(server))
        )
        with contextlib.suppress(Exception):
            server.update(restart_policy={"Name": "no"})
    elif status in ("exited", "created", "dead", "paused"):
        result.state = STOPPED
        result.error = f"container {server.name} is {status}; `dockyard service start {name}`"
    elif engine_state.get("Health", {}).get("Status") == "unhealthy":
        result.state = UNHEALTHY
        result.error = f"container {server.name} runs but does not answer GET /health/ready"
    if result.error and not result.events:
        result.events.append({"state": result.state, "message": result.error.splitlines()[0]})
    return result
