"""Workspaces: create/get/from_config, the default workspace, idempotent create, secrets."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from dockyard import Keyvault, Workspace
from dockyard.errors import (
    ConflictError,
    SecretNotFoundError,
    ValidationError,
    WorkspaceNotFoundError,
)


def test_create_makes_a_workspace_under_dockyard_home(_isolated_home: Path) -> None:
    ws = Workspace.create("demo")
    assert ws.name == "demo"
    assert ws.path == _isolated_home / "workspaces" / "demo"
    assert (ws.path / "workspace.json").is_file()
    assert Workspace.get("demo") == ws
    assert Workspace(subscription_id="sub", resource_group="rg", workspace_name="demo") == ws


def test_create_at_a_path_and_open_it_by_path(tmp_path: Path) -> None:
    ws = Workspace.create("team", path=tmp_path / "ws")
    assert ws.path == (tmp_path / "ws").resolve()
    assert Workspace.from_path(tmp_path / "ws") == ws
    assert Workspace.get("team") == ws


def test_create_again_keeps_models_secrets_and_keys(tmp_path: Path) -> None:
    ws = Workspace.create("keep", path=tmp_path / "ws")
    ws.get_default_keyvault().set_secret("service-key", "s3cret")
    sha, _ = ws.blobs.put_bytes(b"model bytes")
    meta_before = (ws.path / "workspace.json").read_bytes()
    again = Workspace.create("keep", path=tmp_path / "ws", exist_ok=True)
    assert again.get_default_keyvault().get_secret("service-key") == "s3cret"
    assert again.blobs.path(sha).read_bytes() == b"model bytes"
    assert (ws.path / "workspace.json").read_bytes() == meta_before
    with pytest.raises(ConflictError, match="already exists"):
        Workspace.create("keep", path=tmp_path / "ws", exist_ok=False)
    assert again.get_default_keyvault().get_secret("service-key") == "s3cret"


def test_a_name_taken_elsewhere_or_a_folder_of_another_workspace_is_a_conflict(
    tmp_path: Path,
) -> None:
    Workspace.create("one", path=tmp_path / "a")
    with pytest.raises(ConflictError, match="'one'"):
        Workspace.create("one", path=tmp_path / "b")
    with pytest.raises(ConflictError, match="'one'.*'two'|holds workspace 'one'"):
        Workspace.create("two", path=tmp_path / "a")


@pytest.mark.parametrize("name", ["x", "-bad", "has space", "a" * 40, "dots.are.out"])
def test_bad_workspace_names_are_refused_naming_the_input(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        Workspace.create(name)
    assert repr(name) in str(info.value)


def test_missing_workspace_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFoundError, match="nope.*create"):
        Workspace.get("nope")
    with pytest.raises(WorkspaceNotFoundError, match="does not exist"):
        Workspace.from_path(tmp_path / "missing")


def test_cloud_only_arguments_are_accepted_and_logged_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="dockyard.workspace")
    ws = Workspace.create(
        "cloudy",
        subscription_id="0000",
        resource_group="rg",
        location="eastus2",
        create_resource_group=True,
        sku="enterprise",
    )
    assert ws.subscription_id == "0000"
    assert any(
        "ignoring cloud-only" in r.message and r.levelno == logging.DEBUG for r in caplog.records
    )


# --- config lookup -------------------------------------------------------------------------------
def test_write_config_then_from_config_from_a_subfolder(workdir: Path) -> None:
    ws = Workspace.create("proj", path=workdir / "ws-data")
    written = ws.write_config()
    assert written == workdir / ".dockyard" / "config.json"
    assert json.loads(written.read_text())["path"] == "ws-data"  # relative: the project can move
    sub = workdir / "src" / "deep"
    sub.mkdir(parents=True)
    assert Workspace.from_config(sub) == ws


def test_from_config_reads_an_azureml_v1_config(workdir: Path) -> None:
    (workdir / ".azureml").mkdir()
    (workdir / ".azureml" / "config.json").write_text(
        json.dumps({"subscription_id": "s", "resource_group": "r", "workspace_name": "v1ws"})
    )
    ws = Workspace.from_config()
    assert ws.name == "v1ws" and ws.subscription_id == "s"
    assert Workspace.from_config() == ws  # the second time it exists


def test_a_plain_config_json_that_names_no_workspace_is_passed_over(workdir: Path) -> None:
    (workdir / "config.json").write_text('{"learning_rate": 0.1}')
    with pytest.raises(WorkspaceNotFoundError) as info:
        Workspace.from_config()
    assert str(workdir) in str(info.value)


def test_missing_config_names_every_folder_looked_in(workdir: Path) -> None:
    sub = workdir / "a" / "b"
    sub.mkdir(parents=True)
    with pytest.raises(WorkspaceNotFoundError) as info:
        Workspace.from_config(sub)
    message = str(info.value)
    for folder in (sub, sub.parent, workdir, Path("/")):
        assert f"    {folder}\n" in message + "\n"
    assert ".azureml/config.json" in message


def test_the_home_folder_is_never_mistaken_for_a_project_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_home = tmp_path / "user"
    dockyard_home = user_home / ".dockyard"
    monkeypatch.setenv("DOCKYARD_HOME", str(dockyard_home))
    Workspace.create("default")
    (dockyard_home / "config.json").write_text(json.dumps({"workspace_name": "default"}))
    project = user_home / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    with pytest.raises(WorkspaceNotFoundError):
        Workspace.from_config()
    # ... and the CLI's fallback is the default workspace itself
    assert Workspace.from_config_or_default().name == "default"


def test_from_config_or_default_creates_the_default_workspace_once(workdir: Path) -> None:
    first = Workspace.from_config_or_default()
    assert first.name == "default"
    assert Workspace.from_config_or_default() == first


def test_workspace_list_has_azures_shape() -> None:
    Workspace.create("alpha")
    Workspace.create("beta")
    listed = Workspace.list("subscription")
    assert sorted(listed) == ["alpha", "beta"] and listed["alpha"][0].name == "alpha"


# --- secrets -------------------------------------------------------------------------------------
def test_keyvault_set_get_list_delete_with_owner_only_files() -> None:
    ws = Workspace.create("vault")
    kv = ws.get_default_keyvault()
    assert isinstance(kv, Keyvault)
    kv.set_secret("registry-password", "hunter2")
    kv.set_secrets({"a": "1", "b": "2"})
    assert kv.get_secret("registry-password") == "hunter2"
    assert kv.get_secrets(["a", "missing"]) == {"a": "1", "missing": None}
    assert kv.list_secrets() == [{"name": "a"}, {"name": "b"}, {"name": "registry-password"}]
    secret_file = ws.path / "secrets" / "registry-password"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret_file.parent.stat().st_mode) == 0o700
    kv.delete_secret("a")
    with pytest.raises(SecretNotFoundError, match="'a'"):
        kv.get_secret("a")
    with pytest.raises(SecretNotFoundError, match="'a'"):
        kv.delete_secret("a")


@pytest.mark.parametrize("name", ["../escape", "with space", "", "a" * 128, "under_score"])
def test_bad_secret_names_are_refused_naming_the_input(name: str) -> None:
    kv = Workspace.create("vault2").get_default_keyvault()
    with pytest.raises(ValidationError) as info:
        kv.set_secret(name, "v")
    assert repr(name) in str(info.value)


def test_secret_values_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    kv = Workspace.create("vault3").get_default_keyvault()
    kv.set_secret("token", "VALUE-THAT-MUST-NOT-LEAK")
    kv.get_secret("token")
    assert "VALUE-THAT-MUST-NOT-LEAK" not in caplog.text
