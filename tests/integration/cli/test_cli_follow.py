"""``dockyard service logs NAME --follow`` prints what a local service logs as it happens and
stops on Ctrl-C (it goes through the public ``Webservice.follow_logs()``)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli.conftest import LONG_MODEL, cli

pytestmark = pytest.mark.slow


def _read_until(proc: subprocess.Popen[bytes], text: str, timeout: float) -> str:
    """stdout of ``proc`` until ``text`` shows (bounded: fails after ``timeout`` seconds)."""
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {text!r} from `service logs --follow` in {timeout} s: {seen!r}"
        if selector.select(timeout=left):
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, f"`service logs --follow` ended early: {seen!r}"
            seen += chunk
    return seen.decode()


def test_follow_prints_new_lines_of_a_local_service_and_stops_on_ctrl_c(
    ws: Any, project: Path, services: list[str]
) -> None:
    w = ["--workspace", str(ws.path)]
    assert cli("model", "register", str(project / "model.txt"), "--name", LONG_MODEL, *w).code == 0
    services.append("follow")
    deployed = cli(
        "model", "deploy", "--name", "follow", "-m", f"{LONG_MODEL}:1", "--entry-script",
        "score.py", "--source-directory", str(project / "src"), *w,
    )  # fmt: skip
    assert deployed.code == 0, deployed.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "service", "logs", "follow", "--follow", *w],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        shown = _read_until(proc, "walk service ready", timeout=60)  # the log so far
        assert "ValueError" not in shown
        assert cli("service", "run", "follow", "--data", '"boom"', *w).code != 0
        later = _read_until(proc, "ValueError: the request asked for a failure", timeout=30)
        assert "Traceback" in later
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
