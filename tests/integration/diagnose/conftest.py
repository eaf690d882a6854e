"""Fixtures of the diagnose tests: a workspace with one registered model (``summer``, a text
file), a helper that writes a score.py into a folder, the CLI in a child process, and the
services a test deploys (deleted when it ends)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard import Model, Webservice, Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("diagnose-tests", path=str(tmp_path / "ws"), exist_ok=True)


@pytest.fixture
def model(ws: Workspace, tmp_path: Path) -> Model:
    path = tmp_path / "model.txt"
    path.write_text("sunny\n")
    return Model.register(ws, model_path=str(path), model_name="summer")


@pytest.fixture
def services(ws: Workspace) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(Exception):
            Webservice(ws, name).delete()


def write_script(folder: Path, text: str) -> Path:
    """``folder/score.py`` with ``text`` (the folder is created); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "score.py").write_text(text)
    return folder


def diagnose_cli(ws: Workspace, *args: str, timeout: float = 180) -> tuple[int, Any, str]:
    """``dockyard diagnose ARGS --output json`` in a child process: (exit code, JSON, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "dockyard", "diagnose", *args, "--workspace", str(ws.path),
         "--output", "json"],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    try:
        data = json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"not JSON:\n{done.stdout}\n--- stderr\n{done.stderr}") from None
    return done.returncode, data, done.stderr
