"""Helpers for the CLI tests: run ``dockyard`` as a user does (a subprocess with piped output and
``COLUMNS=80``), or in this process for the long command walks; a workspace with one model and a
score.py that needs no packages (the service runs in this interpreter)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SCORE = """\
import json

def init():
    print("walk service ready")

def run(raw_data):
    data = json.loads(raw_data)
    if data == "boom":
        raise ValueError("the request asked for a failure")
    return {"echo": data}
"""

#: Names longer than 80 columns allow in a table cell, so that cutting them would show.
LONG_MODEL = "a-model-whose-name-is-long-enough-to-be-cut-in-a-table"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    columns: int = 80,
    timeout: float = 180,
) -> Result:
    """``dockyard ARGS`` in a subprocess, output piped, ``COLUMNS`` set (80 by default)."""
    environ = {**os.environ, "COLUMNS": str(columns), **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "dockyard", *args],
        cwd=cwd,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def cli_here(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """``dockyard ARGS`` in this process (for walks of many commands); output captured."""
    from dockyard.cli.main import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return Result(code, out, err)


@pytest.fixture
def ws(tmp_path: Path):  # type: ignore[no-untyped-def]
    from dockyard import Workspace

    return Workspace.create("cli-tests", path=str(tmp_path / "ws"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with score.py (no packages needed) and a model file."""
    folder = tmp_path / "project"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "score.py").write_text(SCORE)
    (folder / "model.txt").write_text("weights")
    return folder


@pytest.fixture
def services(ws) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Names of services to delete at the end (best effort)."""
    from dockyard import Webservice

    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(Exception):
            Webservice(ws, name).delete()
