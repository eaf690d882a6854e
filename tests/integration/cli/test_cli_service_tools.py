"""The service commands that live in modules of their own, through the real `dockyard` command:
`service exec` (exit code and output of the command, run in the service's environment at its
app root), `service metrics` (after known requests) and `service --help` listing them all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.cli.conftest import cli

pytestmark = pytest.mark.slow


@pytest.fixture
def w(ws: Any) -> list[str]:
    return ["--workspace", str(ws.path)]


def test_exec_metrics_and_help_reach_a_local_service(
    ws: Any, w: list[str], project: Path, services: list[str]
) -> None:
    assert cli("model", "register", str(project / "model.txt"), "--name", "tools", *w).code == 0
    services.append("tooled")
    deployed = cli("model", "deploy", "--name", "tooled", "-m", "tools", "--entry-script",
                   "score.py", "--source-directory", str(project / "src"), *w)  # fmt: skip
    assert deployed.code == 0, deployed.stderr

    ran = cli("service", "exec", "tooled", *w, "--", "python", "-c",
              "import os, sys; print(os.path.exists('src/score.py')); sys.exit(4)")  # fmt: skip
    assert ran.code == 4, ran.stderr  # the command's own exit code
    assert ran.stdout.strip() == "True"  # at the service's app root

    uri = json.loads(cli("service", "show", "tooled", "-o", "json", *w).stdout)["scoringUri"]
    for body in ({"a": 1}, {"a": 2}, "boom"):
        httpx.post(uri, json=body, timeout=30)
    shown = cli("service", "metrics", "tooled", "-o", "json", *w)
    assert shown.code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["service"] == "tooled" and set(data["status_per_s"]) == {"2xx", "4xx", "5xx", "503"}

    helped = cli("service", "--help", columns=200)
    for command in ("shell", "exec", "commit", "metrics", "debug-config", "capacity"):
        assert f"│ {command} " in helped.stdout, helped.stdout
