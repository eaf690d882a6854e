"""Where shell, exec and commit do not go, and what they say instead (no engine needed):
cluster services refuse all three, naming the commands to use; a shell needs a terminal and
says how to use ``exec``; a local service has no container to commit and runs as this user."""

from __future__ import annotations

import getpass
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
from typer.testing import CliRunner

from dockyard import Workspace
from dockyard.cli import service_container
from dockyard.errors import ValidationError
from dockyard.ops import records, service_shell
from dockyard.ops.images import commit as committing
from dockyard.webservice import exec_in_service, open_shell


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("tools", path=str(tmp_path / "ws"))


def _record(ws: Workspace, name: str, target: str) -> SimpleNamespace:
    records.save(
        ws,
        records.ServiceRecord(
            name=name,
            target=target,
            state="Healthy",
            error=None,
            spec={"config": {}, "inference": {}, "image": None},
            runtime={"service_dir": str(Path(ws.path) / "services" / name)},
            model_ids=[],
            restart_count=0,
        ),  # fmt: skip
        event="made by the test",
    )
    return SimpleNamespace(workspace=ws, name=name)


def test_a_cluster_service_refuses_exec_shell_and_commit_saying_what_to_use(
    ws: Workspace,
) -> None:
    service = _record(ws, "on-ray", "ray")
    for call in (
        lambda: exec_in_service(service, ["ls"]),
        lambda: service_shell.open_shell(ws, "on-ray"),
        lambda: committing.commit(ws, "on-ray"),
    ):
        with pytest.raises(ValidationError) as refused:
            call()
        text = str(refused.value)
        assert "runs on a cluster (target 'ray')" in text
        assert "`dockyard service logs on-ray`" in text
        assert "`dockyard diagnose on-ray`" in text


def test_the_shell_needs_a_terminal_and_says_how_to_use_exec(ws: Workspace) -> None:
    service = _record(ws, "no-tty", "local")
    with pytest.raises(ValidationError) as refused:
        open_shell(service)  # pytest's stdin is no terminal
    assert "needs a terminal" in str(refused.value)
    assert 'dockyard service exec no-tty -- sh -c "ls -la"' in str(refused.value)

    app = typer.Typer()
    app.command("shell")(service_container.shell)
    app.command("exec")(service_container.exec_)
    done = CliRunner().invoke(app, ["shell", "no-tty", "-w", ws.path])
    assert isinstance(done.exception, ValidationError)
    assert "dockyard service exec no-tty --" in str(done.exception)


def test_a_local_service_has_no_container_to_commit(ws: Workspace) -> None:
    _record(ws, "on-here", "local")
    with pytest.raises(ValidationError) as refused:
        committing.commit(ws, "on-here")
    assert "runs as local processes: there is no container to commit" in str(refused.value)
    assert '`dockyard model deploy ... --dc dc.json`, computeType "aci"' in str(refused.value)


def test_a_local_service_runs_commands_as_this_user_only(ws: Workspace) -> None:
    service = _record(ws, "as-me", "local")
    other = "someone-else" if getpass.getuser() != "someone-else" else "another"
    with pytest.raises(ValidationError, match=f"--user {other} is for container services"):
        exec_in_service(service, ["id"], user=other)


def test_exec_needs_a_command(ws: Workspace) -> None:
    _record(ws, "no-cmd", "local")
    with pytest.raises(ValidationError, match="No command given"):
        service_shell.exec_in(ws, "no-cmd", [])


def test_a_local_service_without_a_deployment_says_so(ws: Workspace) -> None:
    service = _record(ws, "gone-one", "local")
    with pytest.raises(Exception) as failed:
        exec_in_service(service, ["ls"])
    assert "has no deployment on this machine" in str(failed.value)
    assert "dockyard service show gone-one" in str(failed.value)
