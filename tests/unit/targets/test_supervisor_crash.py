"""What a server's exit means: the next state, the back-off schedule, the error text."""

from __future__ import annotations

import pytest

from dockyard.server import contract
from dockyard.targets.base import CRASH_LOOP, FAILED, TRANSITIONING
from dockyard.targets.supervisor.crash import after_exit, backoff, crash_text


def test_backoff_doubles_from_one_second_and_stays_at_thirty() -> None:
    assert [backoff(streak) for streak in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


@pytest.mark.parametrize(
    ("code", "was_ready", "state", "restart_in", "crashed"),
    [
        (contract.EXIT_SCRIPT_FAILED, False, CRASH_LOOP, 4.0, True),
        (contract.EXIT_SCRIPT_FAILED, True, CRASH_LOOP, 4.0, True),
        (1, False, CRASH_LOOP, 4.0, True),  # any other failure before readiness
        (contract.EXIT_BAD_SETTINGS, False, FAILED, None, False),  # restarting would not help
        (contract.EXIT_BAD_SETTINGS, True, TRANSITIONING, 0.2, False),
        (-9, True, TRANSITIONING, 0.2, False),  # killed after it was ready: at once
        (-9, False, TRANSITIONING, 1.0, False),
        (0, False, TRANSITIONING, 1.0, False),
    ],
)
def test_verdict_after_an_exit(
    code: int, was_ready: bool, state: str, restart_in: float | None, crashed: bool
) -> None:
    verdict = after_exit(code, was_ready, streak=2)
    assert (verdict.state, verdict.restart_in, verdict.crashed) == (state, restart_in, crashed)


def test_verdict_messages_say_what_happens_next() -> None:
    assert after_exit(3, False, 0).message == "server failed to start; restart in 1s"
    assert after_exit(2, False, 0).message == "bad server configuration; not restarting"
    assert after_exit(-9, True, 0).message == "server exited (-9); restarting"


def test_crash_text_names_the_cause_then_the_servers_last_lines() -> None:
    lines = [f"print {i}" for i in range(40)]
    text = crash_text(contract.EXIT_SCRIPT_FAILED, lines)
    head, *rest = text.splitlines()
    assert head == "The entry script failed to import or its init() raised (exit code 3)."
    assert rest == [f"print {i}" for i in range(10, 40)]  # the last 30 lines
    assert crash_text(-9, []) == "The scoring server was killed by signal 9."
    assert crash_text(1, ["boom"]) == "The scoring server exited with code 1.\nboom"


def test_crash_text_prefers_the_failure_report_over_the_banner() -> None:
    lines = [
        "2026-11-30 06:01:46,563 I [10] dockyard.server - Entry script:        /app/score.py",
        "2026-11-30 06:01:46,586 E [10] dockyard.server - Encountered Exception Traceback "
        "(most recent call last):",
        '  File "/app/score.py", line 3, in init',
        "RuntimeError: the model file is corrupt",
        "",
        "2026-11-30 06:01:46,586 E [10] dockyard.server - init() in /app/score.py raised "
        "RuntimeError: the model file is corrupt",
    ]
    text = crash_text(3, lines)
    assert "RuntimeError: the model file is corrupt" in text
    assert "Entry script:" not in text
