"""The pure pieces of the dashboard: which log lines are new since the last batch sent, which
Host values the access guard accepts, which line of a failed build is marked."""

from __future__ import annotations

from dockyard.ui.access import allowed_hosts
from dockyard.ui.log_stream import new_lines
from dockyard.ui.reads import error_lines, failing_line


def test_new_lines_are_those_after_the_last_lines_sent() -> None:
    before = ["a", "b", "c", "d"]
    assert new_lines([*before, "e", "f"], before[-3:]) == (["e", "f"], True)
    assert new_lines(before, before[-3:]) == ([], True)
    # a line sent last and repeated in the new lines does not fool it: three lines anchor
    assert new_lines(["a", "ok", "c", "ok", "ok", "d"], ["a", "ok", "c"]) == (
        ["ok", "ok", "d"],
        True,
    )
    # the read window moved past the anchor (the log grew faster than it was read)
    assert new_lines(["p", "q"], ["b", "c", "d"]) == (["p", "q"], False)
    assert new_lines(["p"], []) == (["p"], True)


def test_only_the_dashboards_own_addresses_are_accepted_hosts() -> None:
    hosts = allowed_hosts("127.0.0.1", 8765)
    assert hosts is not None
    assert {"127.0.0.1:8765", "localhost:8765", "[::1]:8765"} <= hosts
    assert "127.0.0.1:8766" not in hosts and "evil.example:8765" not in hosts
    assert "[::1]:9000" in (allowed_hosts("::1", 9000) or ())
    # every interface: the machine's names are not known in advance, so any Host (the token
    # and the same-origin rule still hold)
    assert allowed_hosts("0.0.0.0", 8765) is None


BUILD = """\
Python dependencies: resolving on the host for Python 3.11
Step 1/3 : FROM dockyard/python:3.11-bookworm
 ---> 1f246ac74437
Step 2/3 : RUN echo fonts && exit 3
 ---> Running in ea5366983539
fonts
ERROR: The command '/bin/sh -c echo fonts && exit 3' returned a non-zero code: 3
--- last log lines ---
Step 3/3 : COPY app /app
""".splitlines()


def test_the_marked_line_of_a_failed_build_is_its_failing_step() -> None:
    errors = error_lines(BUILD)
    assert errors == [6]
    assert BUILD[failing_line(BUILD, errors) or 0] == "Step 2/3 : RUN echo fonts && exit 3"
    resolving = [
        "Python dependencies: resolving on the host for Python 3.11",
        "  × No solution found when resolving dependencies:",
        "ERROR: dockyard-no-such-package-7f3a==0.0.1 was not found",
    ]
    assert failing_line(resolving, error_lines(resolving)) == 2  # before any engine step
    assert failing_line(["all good"], []) is None
