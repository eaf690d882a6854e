"""Fixtures of the debugger tests: a project with a source folder (``src/score.py``), and a free
port for the debugger."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

#: The user's script; line 9 (in run()) is where the tests set their breakpoint.
SCORE = """\
import json

def init():
    global factor
    factor = 2

def run(raw_data):
    rows = json.loads(raw_data)["data"]
    total = sum(rows) * factor  # the breakpoint
    return {"version": VERSION, "total": total}

VERSION = 1
"""
BREAKPOINT_LINE = 9
SAMPLE = json.dumps({"data": [1, 2, 3]})


@pytest.fixture
def source(workdir: Path) -> Path:
    """``src/score.py`` (the source directory) and ``model.json`` in the current folder."""
    (workdir / "src").mkdir()
    (workdir / "src" / "score.py").write_text(SCORE)
    (workdir / "model.json").write_text(json.dumps({"factor": 2}))
    return workdir / "src"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
