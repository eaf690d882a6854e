"""The public SDK calls the CLI is built on (issue 10): each does, from Python, what its command
does (Workspace.find_config for the workspace note, dockyard.webservice.config_from_file for
``--dc``, dockyard.server.main for ``dockyard serve``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard import LocalWebservice, Workspace


def test_find_config_names_the_file_from_config_reads(tmp_path: Path) -> None:
    ws = Workspace.create("lookup", path=str(tmp_path / "ws"))
    project = tmp_path / "project"
    (project / "deep" / "er").mkdir(parents=True)
    config = ws.write_config(project)
    assert Workspace.find_config(project / "deep" / "er") == config
    assert Workspace.find_config(str(project)) == config
    assert Workspace.from_config(Workspace.find_config(project / "deep")).path == ws.path
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    assert Workspace.find_config(lonely) is None


def test_find_config_starts_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace.create("lookup-cwd", path=str(tmp_path / "ws"))
    config = ws.write_config(tmp_path / "here")
    monkeypatch.chdir(tmp_path / "here")
    assert Workspace.find_config() == config


def test_a_v1_deployment_config_file_is_read_by_the_public_reader(tmp_path: Path) -> None:
    from dockyard.webservice import config_from_file

    dc = tmp_path / "deploymentconfig.json"
    dc.write_text(json.dumps({"computeType": "local", "port": 8890}))
    config = config_from_file(dc)
    assert type(config) is type(LocalWebservice.deploy_configuration())
    assert config.port == 8890
    assert LocalWebservice.deploy_configuration().port is None  # a free port when deployed


def test_the_scoring_servers_entry_point_is_public(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dockyard.server

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AZUREML_ENTRY_SCRIPT", raising=False)
    assert "main" in dockyard.server.__all__
    assert dockyard.server.main([]) == 2  # a bad setting: exit code 2 and one line saying so
    assert "dockyard serve: bad setting: no entry script" in capsys.readouterr().err
