"""`dockyard env register|list|show`: tables for people, stable JSON for scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dockyard import Workspace
from dockyard.cli import env as env_cli
from dockyard.errors import DockyardError, EnvironmentNotFoundError, SpecError

KEYS = {
    "name", "version", "pythonVersion", "condaPackages", "pipPackages", "pipOptions",
    "channels", "includedFiles", "baseImage", "baseDockerfile", "environmentVariables",
    "userManaged", "buildHash", "fullHash", "createdTime",
}  # fmt: skip


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("clienv", path=str(tmp_path / "ws"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `dockyard ARGS` on the env noun; a DockyardError is returned as (exit code, '', msg)
    the way dockyard.cli.main reports it."""
    root = typer.Typer()
    root.callback()(lambda: None)
    root.add_typer(env_cli.app, name="env")
    result = CliRunner().invoke(root, list(args), catch_exceptions=True)
    if isinstance(result.exception, DockyardError):
        return result.exception.exit_code, result.stdout, str(result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, ""


def test_register_list_show_in_json(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conda = tmp_path / "myenv.yml"
    conda.write_text("dependencies:\n  - python=3.11\n  - numpy=1.26\n  - pip:\n    - joblib\n")
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("requests==2.31.0\n")
    w = ["--workspace", str(ws.path), "--output", "json"]

    code, out, err = run(capsys, "env", "register", "--name", "np", "--file", str(conda), *w)
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == KEYS | {"condaYaml"}
    assert data["version"] == 1 and data["pythonVersion"] == "3.11"
    assert data["condaPackages"] == ["numpy=1.26"] and data["pipPackages"] == ["joblib"]

    # identical content: same version; a variable: next version
    assert (
        json.loads(run(capsys, "env", "register", "-n", "np", "-f", str(conda), *w)[1])["version"]
        == 1
    )
    code, out, _ = run(
        capsys, "env", "register", "-n", "np", "-f", str(conda), "-e", "MODE=fast", *w
    )
    assert json.loads(out)["version"] == 2
    assert json.loads(out)["environmentVariables"] == {"MODE": "fast"}
    run(capsys, "env", "register", "-n", "reqs", "-f", str(reqs), *w)

    code, out, _ = run(capsys, "env", "list", *w)
    listed = json.loads(out)
    assert [(e["name"], e["version"]) for e in listed] == [("np", 2), ("reqs", 1)]
    assert all(set(e) == KEYS for e in listed)
    code, out, _ = run(capsys, "env", "list", "--all-versions", *w)
    assert [(e["name"], e["version"]) for e in json.loads(out)] == [
        ("np", 1),
        ("np", 2),
        ("reqs", 1),
    ]

    code, out, _ = run(capsys, "env", "show", "np", "--version", "1", *w)
    shown = json.loads(out)
    assert shown["version"] == 1 and shown["environmentVariables"] == {}
    assert "numpy=1.26" in shown["condaYaml"]


def test_tables_for_people(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conda = tmp_path / "myenv.yml"
    conda.write_text("dependencies:\n  - python=3.11\n  - pip:\n    - joblib\n")
    w = ["--workspace", str(ws.path)]
    assert run(capsys, "env", "register", "-n", "tab", "-f", str(conda), *w)[0] == 0
    code, out, _ = run(capsys, "env", "list", *w)
    assert code == 0 and "tab" in out and "3.11" in out
    code, out, _ = run(capsys, "env", "show", "tab", *w)
    assert code == 0 and "joblib" in out and "buildHash" in out


def test_errors_name_the_input_and_exit_nonzero(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("dependencies:\n  - numpy>>1\n")
    w = ["--workspace", str(ws.path)]
    code, _, err = run(capsys, "env", "register", "-n", "x", "-f", str(bad), *w)
    assert code == SpecError.exit_code and f"{bad}, line 2" in err and "'numpy>>1'" in err
    code, _, err = run(capsys, "env", "show", "missing", *w)
    assert code == EnvironmentNotFoundError.exit_code and "'missing' is not registered" in err
