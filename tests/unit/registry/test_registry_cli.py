"""The CLI nouns workspace, model and secret: tables, --output json, exit codes, no secret leaks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    code, out, err = run(capsys, *args, "--output", "json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def ws_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "ws"
    data = run_json(capsys, "workspace", "create", "cli-ws", "--path", str(path))
    assert isinstance(data, dict) and data["name"] == "cli-ws" and data["path"] == str(path)
    return str(path)


def test_workspace_create_show_verify(ws_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    shown = run_json(capsys, "workspace", "show", "-w", ws_path)
    assert isinstance(shown, dict)
    assert {"name", "id", "path", "createdTime", "database", "models", "secrets"} <= set(shown)
    report = run_json(capsys, "workspace", "verify", "-w", ws_path)
    assert isinstance(report, dict) and report["ok"] is True and report["damaged"] == []
    code, out, _ = run(capsys, "workspace", "verify", "-w", ws_path)
    assert code == 0 and "clean" in out


def test_model_register_list_show_download_delete(
    ws_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "outputs"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"w")
    reg = run_json(
        capsys, "model", "register", str(folder), "--name", "m", "--tag", "k=v", "-w", ws_path
    )
    assert isinstance(reg, dict) and reg["id"] == "m:1" and reg["tags"] == {"k": "v"}
    run_json(capsys, "model", "register", str(folder), "--name", "m", "-w", ws_path)
    listed = run_json(capsys, "model", "list", "--tag", "k=v", "-w", ws_path)
    assert isinstance(listed, list) and [m["id"] for m in listed] == ["m:1"]
    shown = run_json(capsys, "model", "show", "m:1", "-w", ws_path)
    assert isinstance(shown, dict) and shown["files"][0]["path"] == "outputs/w.bin"
    dl = run_json(capsys, "model", "download", "m", "--target", str(tmp_path / "dl"), "-w", ws_path)
    assert isinstance(dl, dict) and Path(dl["path"]) == tmp_path / "dl" / "outputs" / "w.bin"
    code, out, _ = run(capsys, "model", "list", "-w", ws_path)
    assert code == 0 and "m" in out
    code, _, err = run(capsys, "model", "delete", "m", "-w", ws_path)
    assert code == 2 and "m:VERSION" in err
    assert run_json(capsys, "model", "delete", "m:1", "-w", ws_path) == {
        "id": "m:1",
        "deleted": True,
    }


def test_errors_are_one_line_with_a_non_zero_exit(
    ws_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "model", "show", "ghost", "-w", ws_path)
    assert code == 3 and "'ghost'" in err and "Traceback" not in err
    code, _, err = run(capsys, "model", "register", "/no/such/file", "--name", "x", "-w", ws_path)
    assert code == 2 and "/no/such/file" in err


def test_secrets_are_set_from_stdin_and_never_printed(
    ws_path: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    value_file = tmp_path / "value"
    value_file.write_text("TOP-SECRET-VALUE\n")
    code, out, err = run(
        capsys, "secret", "set", "api-key", "--from-file", str(value_file), "-w", ws_path
    )
    assert code == 0 and "TOP-SECRET-VALUE" not in out + err
    assert run_json(capsys, "secret", "list", "-w", ws_path) == [{"name": "api-key"}]
    from dockyard import Workspace

    assert (
        Workspace.from_path(ws_path).get_default_keyvault().get_secret("api-key")
        == "TOP-SECRET-VALUE"
    )
    code, out, err = run(capsys, "--debug", "secret", "list", "-w", ws_path)
    assert "TOP-SECRET-VALUE" not in out + err
    assert run_json(capsys, "secret", "delete", "api-key", "-w", ws_path) == {
        "name": "api-key",
        "deleted": True,
    }
    code, _, err = run(capsys, "secret", "delete", "api-key", "-w", ws_path)
    assert code == 3 and "'api-key'" in err


def test_verify_exits_non_zero_on_a_damaged_blob(
    ws_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "m.pkl"
    model.write_bytes(b"bytes")
    reg = run_json(capsys, "model", "register", str(model), "--name", "m", "-w", ws_path)
    assert isinstance(reg, dict)
    shown = run_json(capsys, "model", "show", "m", "-w", ws_path)
    assert isinstance(shown, dict)
    sha = shown["files"][0]["sha256"]
    blob = Path(ws_path) / "blobs" / "sha256" / sha[:2] / sha
    os.chmod(blob, 0o644)
    blob.write_bytes(b"BYTES")
    result = subprocess.run(
        [sys.executable, "-m", "dockyard", "workspace", "verify", "-w", ws_path, "-o", "json"],
        capture_output=True, text=True, env={**os.environ},
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert json.loads(result.stdout)["damaged"] == [sha]
