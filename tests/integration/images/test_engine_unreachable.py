"""The seed's "Docker engine unreachable", through the CLI: the deploy fails at once (exit 7) with
the engine's address and how to start one; the service is recorded Failed with that error;
`dockyard diagnose` finds it at the state step and gives the same action; once an engine answers,
the redeploy the fix names works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def cli(ws: Any, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args, "--workspace", str(ws.path)],
        capture_output=True, text=True, timeout=600, check=False, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_an_unreachable_engine_names_itself_and_the_redeploy_works_once_it_answers(
    ws: Any, project: Path, made: Any, docker_client: Any
) -> None:
    assert cli(ws, "model", "register", "model.json", "--name", "summer").returncode == 0
    (project / "dc.json").write_text(
        json.dumps(
            {
                "computeType": "ACI",
                "containerResourceRequirements": {"cpu": 0.5, "memoryInGB": 0.5},
                "authEnabled": False,
            }
        )  # fmt: skip
    )
    deploy = ["model", "deploy", "--name", "boxy", "--model", "summer", "--entry-script",
              "score.py", "--conda-file", "myenv.yml", "--dc", "dc.json"]  # fmt: skip
    made["services"].append("boxy")
    dead = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    failed = cli(ws, *deploy, env=dead)
    assert failed.returncode == 7, failed.stderr
    assert "Cannot reach a Docker engine at unix:///nonexistent/docker.sock" in failed.stderr
    assert "What to do: start a Docker engine" in failed.stderr

    shown = cli(ws, "service", "show", "boxy", "-o", "json", env=dead)
    assert json.loads(shown.stdout)["state"] == "Failed"
    found = cli(ws, "diagnose", "boxy", "-o", "json", env=dead)
    assert found.returncode == 1
    step = next(s for s in json.loads(found.stdout)["steps"] if s["status"] == "failed")
    assert step["step"] == "state"
    assert step["fix"].startswith("start a Docker engine")
    assert "`dockyard model deploy --name boxy ... --overwrite`" in step["fix"]

    done = cli(ws, *deploy, "--overwrite")  # the engine answers (DOCKER_HOST as the suite's)
    assert done.returncode == 0, done.stderr
    uri = json.loads(cli(ws, "service", "show", "boxy", "-o", "json").stdout)["scoringUri"]
    assert uri.startswith("http://127.0.0.1:")
    answer = httpx.post(uri, json={"data": [[1, 2]]}, timeout=30)
    assert answer.status_code == 200 and answer.json() == {"version": 1, "result": [6]}
