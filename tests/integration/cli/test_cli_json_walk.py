"""Every command of the CLI has ``--output json`` and prints one valid JSON document with camelCase
keys and numeric sizes (issue 9, item 13).

The commands are enumerated from the click tree, so a new command without a JSON walk entry
fails ``test_every_command_has_output_json_and_a_walk_entry``. The walks run each command on real
objects: a local service deployed from a score.py with no packages (this interpreter), and, on the
Docker engine, an image built from it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from dockyard.cli.app import build_app
from dockyard.cli.common import OPAQUE_KEYS
from tests.integration.cli.conftest import LONG_MODEL, Result, cli_here
from tests.integration.docker.conftest import (  # noqa: F401 - fixtures used by name
    base_image,
    docker_client,
)

pytestmark = pytest.mark.slow

#: Not a command that reports a result: it *is* the scoring server (its own flags, runs until
#: stopped); docs/cli.md says so.
NOT_WALKED = {
    ("serve",),
    ("ui",),  # a web server; tests/browser drives it
    ("service", "shell"),  # interactive; tests/integration/containers (a real terminal)
    (
        "service",
        "exec",
    ),  # prints the command's own output; tests/integration/cli/test_cli_service_tools.py
    ("service", "debug-config"),  # prints launch.json, always JSON; tests/integration/debugger
}
#: Walked elsewhere, against the engine they need (the --output option is checked here).
WALKED_ELSEWHERE = {
    # tests/integration/ray/test_compute_cli.py::test_the_compute_commands_walk (a real Ray)
    ("compute", "create"),
    ("compute", "attach"),
    ("compute", "list"),
    ("compute", "show"),
    ("compute", "default"),
    ("compute", "delete"),
    # tests/integration/containers/test_container_tools.py (a real Docker engine)
    ("image", "run"),
    ("image", "deploy"),
    ("service", "commit"),
    # tests/integration/cli/test_cli_service_tools.py and tests/integration/metrics
    ("service", "metrics"),
}

CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def leaf_commands() -> dict[tuple[str, ...], Any]:
    root = typer.main.get_command(build_app())
    found: dict[tuple[str, ...], Any] = {}

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):  # a group (typer vendors click: no isinstance)
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
        else:
            found[path] = command

    walk(root, ())
    return found


def local_walk(tmp: Path, project: Path) -> list[tuple[tuple[str, ...], list[str]]]:
    """(command, arguments) in an order that works: each step uses what the earlier made."""
    (tmp / "requirements.txt").write_text("joblib\n")
    (tmp / "secret.txt").write_text("s3cret\n")
    (tmp / "sample.json").write_text('"hello"')
    (tmp / "dc.json").write_text(json.dumps({"computeType": "local", "authEnabled": True}))
    svc = "walk-svc"
    return [
        (("workspace", "create"), ["walk-two", "--path", str(tmp / "ws-two")]),
        (("workspace", "show"), []),
        (("model", "register"), [str(project / "model.txt"), "--name", LONG_MODEL]),
        (("model", "list"), []),
        (("model", "show"), [f"{LONG_MODEL}:1"]),
        (("model", "download"), [f"{LONG_MODEL}:1", "--target", str(tmp / "dl")]),
        (("workspace", "verify"), []),
        (("env", "register"), ["--name", "walk-env", "--file", str(tmp / "requirements.txt")]),
        (("env", "list"), []),
        (("env", "show"), ["walk-env"]),
        (("secret", "set"), ["walk-secret", "--from-file", str(tmp / "secret.txt")]),
        (("secret", "list"), []),
        (("secret", "delete"), ["walk-secret"]),
        (("model", "deploy"),
         ["--name", svc, "-m", f"{LONG_MODEL}:1", "--entry-script", "score.py",
          "--source-directory", str(project / "src"), "--dc", str(tmp / "dc.json")]),
        (("service", "list"), []),
        (("service", "show"), [svc]),
        (("service", "run"), [svc, "--data", '"hello"']),
        (("diagnose",), [svc]),
        (("service", "logs"), [svc, "-n", "50"]),
        (
            ("service", "capacity"),
            [svc, "--sample", str(tmp / "sample.json"), "--rps", "5", "--duration", "1"],
        ),
        (("service", "keys"), [svc]),
        (("service", "reload"), [svc]),
        (("service", "update"), [svc, "--model", f"{LONG_MODEL}:1"]),
        (("service", "stop"), [svc]),
        (("service", "start"), [svc]),
        (("service", "replicas"), ["--target-rps", "10", "--request-seconds", "0.1"]),
        (("service", "delete"), [svc]),
        (("model", "register"), [str(project / "model.txt"), "--name", "walk-unused"]),
        (("model", "delete"), ["walk-unused:1"]),
    ]  # fmt: skip


def docker_walk(project: Path) -> list[tuple[tuple[str, ...], list[str]]]:
    return [
        (("model", "register"), [str(project / "model.txt"), "--name", LONG_MODEL]),
        (("image", "create"),
         ["--name", "walk-img", "-m", f"{LONG_MODEL}:1", "--entry-script", "score.py",
          "--source-directory", str(project / "src"), "--quiet"]),
        (("image", "list"), []),
        (("image", "show"), ["walk-img"]),
        (("image", "logs"), ["walk-img:1"]),
        (("image", "pull"), ["walk-img:1"]),
        (("image", "registry"), []),
        (("image", "delete"), ["walk-img:1"]),
        (("base-image", "show"), []),
        (("base-image", "bootstrap"), []),
    ]  # fmt: skip


def non_camel_keys(data: Any, where: str = "") -> list[str]:
    bad: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if not CAMEL.match(key):
                bad.append(f"{where}.{key}")
            if key not in OPAQUE_KEYS:
                bad += non_camel_keys(value, f"{where}.{key}")
    elif isinstance(data, list):
        for index, item in enumerate(data):
            bad += non_camel_keys(item, f"{where}[{index}]")
    return bad


def run_walk(
    capsys: pytest.CaptureFixture[str],
    ws_path: Path,
    steps: list[tuple[tuple[str, ...], list[str]]],
) -> dict[tuple[str, ...], Any]:
    results: dict[tuple[str, ...], Any] = {}
    for command, args in steps:
        argv = [*command, *args, "--output", "json"]
        if command not in {("workspace", "create"), ("service", "replicas")}:  # no workspace
            argv += ["--workspace", str(ws_path)]
        result: Result = cli_here(capsys, *argv)
        shown = (
            f"dockyard {' '.join(argv)}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
        assert result.code == 0, shown
        try:
            data = json.loads(result.stdout)
        except ValueError as exc:
            raise AssertionError(f"not one JSON document: {exc}\n{shown}") from None
        if command != ("service", "run"):  # run prints the service's own answer
            assert not non_camel_keys(data), f"{non_camel_keys(data)}\n{shown}"
        results[command] = data
    return results


def test_every_command_has_output_json_and_a_walk_entry(tmp_path: Path, project: Path) -> None:
    commands = leaf_commands()
    assert ("service", "logs") in commands and ("image", "delete") in commands
    walked = {c for c, _ in local_walk(tmp_path, project) + docker_walk(project)}
    walked |= WALKED_ELSEWHERE
    assert set(commands) - NOT_WALKED == walked, "add the new command to a walk below"
    for path, command in commands.items():
        if path in NOT_WALKED:
            continue
        options = {o for p in command.params for o in getattr(p, "opts", [])}
        assert {"--output", "-o"} <= options, f"dockyard {' '.join(path)} has no --output"


def test_local_commands_print_json(
    capsys: pytest.CaptureFixture[str], ws: Any, project: Path, tmp_path: Path, services: list[str]
) -> None:
    services.append("walk-svc")
    steps = local_walk(tmp_path, project)
    data = run_walk(capsys, ws.path, steps)
    assert data[("service", "run")] == {"echo": "hello"}
    assert "walk service ready" in data[("service", "logs")]["logs"]
    assert data[("service", "show")]["deploymentConfig"]["authEnabled"] is True
    assert data[("service", "start")]["state"] == "Healthy"
    assert data[("service", "delete")] == {"deleted": True, "name": "walk-svc"}
    assert data[("model", "show")]["id"] == f"{LONG_MODEL}:1"
    assert isinstance(data[("model", "show")]["size"], int)
    assert data[("service", "keys")]["primaryKey"]


@pytest.mark.docker
def test_image_commands_print_json_with_sizes_in_bytes(
    capsys: pytest.CaptureFixture[str],
    ws: Any,
    project: Path,
    base_image: str,  # noqa: F811
) -> None:
    data = run_walk(capsys, ws.path, docker_walk(project))
    shown = data[("image", "show")]
    assert isinstance(shown["size"], int) and isinstance(shown["baseSize"], int)
    assert shown["size"] > shown["baseSize"] > 0
    assert data[("image", "list")][0]["size"] == shown["size"]
    assert "Successfully built" in data[("image", "logs")]["logs"]
    assert data[("image", "delete")] == {"deleted": True, "id": "walk-img:1"}
