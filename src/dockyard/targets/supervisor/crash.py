"""What a server's exit means for the service: the next state, the back-off, the error text.

* exit code 3 (``EXIT_SCRIPT_FAILED``: import or ``init()`` failed), or any other positive code
  but 2 before the server was ready: ``CrashLoopBackOff``, restarted after an exponential back-off
  (1, 2, 4, 8, 16, then every 30 seconds);
* exit code 2 (``EXIT_BAD_SETTINGS``) before readiness: ``Failed``, not restarted;
* anything else (a ready server that was killed or exited): restarted at once, ``Transitioning``.

Pure logic, no processes: the loop applies the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.server import contract
from dockyard.server.failure_report import start_failure_report
from dockyard.targets.base import CRASH_LOOP, FAILED, TRANSITIONING

BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
TAIL_LINES_IN_ERROR = 30
#: How soon a server that exited is started again, when that is not a crash loop.
RESTART_AFTER_READY_SECONDS = 0.2
RESTART_BEFORE_READY_SECONDS = 1.0


@dataclass(frozen=True)
class Verdict:
    """What to do after a server of the running version exited."""

    state: str
    message: str  # the event's text
    restart_in: float | None  # seconds until the next start; None: no restart
    crashed: bool  # a failed start: the back-off grows


def backoff(streak: int) -> float:
    """The wait before the next start after ``streak`` failed starts in a row (0: the first)."""
    return BACKOFF_SECONDS[min(streak, len(BACKOFF_SECONDS) - 1)]


def after_exit(code: int, was_ready: bool, streak: int) -> Verdict:
    """The verdict on exit ``code`` of a server (``was_ready``: it had finished ``init()``), after
    ``streak`` failed starts in a row."""
    if code == contract.EXIT_SCRIPT_FAILED or (
        not was_ready and code > 0 and code != contract.EXIT_BAD_SETTINGS
    ):
        delay = backoff(streak)
        return Verdict(CRASH_LOOP, f"server failed to start; restart in {delay:g}s", delay, True)
    if code == contract.EXIT_BAD_SETTINGS and not was_ready:
        return Verdict(FAILED, "bad server configuration; not restarting", None, False)
    delay = RESTART_AFTER_READY_SECONDS if was_ready else RESTART_BEFORE_READY_SECONDS
    return Verdict(TRANSITIONING, f"server exited ({code}); restarting", delay, False)


def crash_text(code: int, server_lines: list[str]) -> str:
    """The service's error after exit ``code``: what happened, then what the server printed (the
    start failure report, or else the last lines)."""
    # the traceback once, the summary and the model-folder listing (not the banner)
    log_tail = start_failure_report("\n".join(server_lines)) or (
        "\n".join(server_lines[-TAIL_LINES_IN_ERROR:]).rstrip()
    )
    if code == contract.EXIT_SCRIPT_FAILED:
        head = (
            "The entry script failed to import or its init() raised "
            f"(exit code {contract.EXIT_SCRIPT_FAILED})."
        )
    elif code < 0:
        head = f"The scoring server was killed by signal {-code}."
    else:
        head = f"The scoring server exited with code {code}."
    return f"{head}\n{log_tail}" if log_tail else head
