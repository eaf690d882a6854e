"""server.log: the supervisor's own lines, rotation, and a generation's own output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dockyard.targets.supervisor import log as log_module
from dockyard.targets.supervisor.log import ServiceLog


def test_own_lines_are_stamped_and_tagged(tmp_path: Path) -> None:
    log = ServiceLog(tmp_path / "server.log")
    log.say("generation 1: started server pid(s) [42]")
    text = (tmp_path / "server.log").read_text()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[dockyard\] generation 1: started server pid\(s\) \[42\]\n",
        text,
    )


def test_a_generations_lines_leave_out_earlier_output_and_the_supervisors_lines(
    tmp_path: Path,
) -> None:
    log = ServiceLog(tmp_path / "server.log")
    log.handle.write(b"old generation's traceback\n")
    offset = log.size()
    log.say("CrashLoopBackOff: restart in 1s")
    log.handle.write(b"Traceback (most recent call last):\nRuntimeError: boom\n")
    assert log.servers_lines_since(offset) == [
        "Traceback (most recent call last):",
        "RuntimeError: boom",
    ]


def test_a_big_log_is_rotated_and_writing_goes_on_in_a_fresh_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_module, "LOG_ROTATE_BYTES", 100)
    path = tmp_path / "server.log"
    log = ServiceLog(path)
    log.rotate_if_big()  # small: stays
    assert not (tmp_path / "server.log.1").exists()
    log.handle.write(b"x" * 200 + b"\n")
    log.rotate_if_big()
    assert (tmp_path / "server.log.1").read_bytes() == b"x" * 200 + b"\n"
    assert log.size() == 0
    log.say("after rotation")
    assert path.read_text().endswith("[dockyard] after rotation\n")
