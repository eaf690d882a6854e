"""``dockyard compute`` without a running cluster: what users see for an empty list, an unknown
name, an address where nothing listens, and deleting an attached target (asked, then forgotten)."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import pytest

from dockyard import Workspace
from dockyard.cli.main import main
from dockyard.ops import computes
from dockyard.store import computes as store


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("compute-cli", path=str(tmp_path / "ws"))


def test_list_show_and_attach_errors(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    w = ("-w", str(ws.path))
    assert run(capsys, "compute", "list", *w)[:2] == (0, "(no compute targets)\n")
    assert run(capsys, "compute", "list", *w, "-o", "json")[:2] == (0, "[]\n")
    code, out, err = run(capsys, "compute", "show", "nope", *w)
    assert code == 3 and out == ""
    assert "dockyard: error: There is no compute target named 'nope'" in err
    assert "check the name with `dockyard compute list`" in err
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, err = run(capsys, "compute", "attach", "far", "--address", f"127.0.0.1:{port}", *w)
    assert code == 7 and out == ""
    assert f"the Ray cluster at 127.0.0.1:{port} does not answer" in err
    code, _, err = run(capsys, "compute", "attach", "far", "--address", "no-port", *w)
    assert code == 2 and "'no-port' is not a Ray cluster address" in err
    code, _, err = run(capsys, "compute", "create", "x", *w)
    assert code == 2 and "Invalid compute target name 'x'" in err


def test_delete_of_an_attached_target_asks_then_only_forgets(
    ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(
        ws.store,
        store.ComputeRecord(
            name="far", kind="ray", provisioning=store.ATTACHED, address="10.0.0.5:6379",
            serve_port=8000, folder=None, state=computes.SUCCEEDED, details={},
        ),
    )  # fmt: skip
    w = ("-w", str(ws.path))
    listed = json.loads(run(capsys, "compute", "list", *w, "-o", "json")[1])
    assert [(t["name"], t["provisioning"], t["address"]) for t in listed] == [
        ("far", "attached", "10.0.0.5:6379")
    ]
    code, out, _ = run(capsys, "compute", "list", *w)
    assert code == 0 and out.splitlines()[0].split() == [
        "name", "provisioning", "state", "address", "servePort", "default"
    ]  # fmt: skip
    assert out.splitlines()[1].split() == [
        "far",
        "attached",
        "Succeeded",
        "10.0.0.5:6379",
        "8000",
        "false",
    ]
    assert run(capsys, "compute", "default", "far", *w)[1] == "far: the default compute target\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, out, _ = run(capsys, "compute", "delete", "far", *w)
    assert code == 1
    assert "Forget the attached cluster 'far' at 10.0.0.5:6379 (it keeps running)?" in out
    assert computes.get(ws, "far") is not None
    code, out, _ = run(capsys, "compute", "delete", "far", "--yes", *w, "-o", "json")
    assert code == 0
    assert json.loads(out) == {"name": "far", "deleted": True, "owned": False, "stopped": []}
    assert computes.get(ws, "far") is None
