"""The debugger on the local target, end to end: a real DAP client attaches to the service with
the ``launch.json`` entry dockyard prints, stops at a breakpoint in the user's own score.py during
a real request, continues, and the request answers 200; again after a ``reload()``. Without an
IDE the service starts after the bounded wait."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from dockyard import InferenceConfig, LocalWebservice, Model, Webservice, Workspace
from dockyard.errors import ConflictError, DeploymentError, WebserviceError

from .conftest import BREAKPOINT_LINE, SAMPLE, SCORE, free_port
from .dap_client import attach, stopped_frame

pytest.importorskip("debugpy")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("debugger-tests", path=str(tmp_path / "ws"), exist_ok=True)


@pytest.fixture
def services(ws: Workspace) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(Exception):
            Webservice(ws, name).delete()


def _post_in_background(uri: str) -> tuple[threading.Thread, dict[str, Any]]:
    """Send the sample in a thread (it waits while the breakpoint holds it)."""
    result: dict[str, Any] = {}

    def send() -> None:
        try:
            response = httpx.post(uri, content=SAMPLE, timeout=120)
            result["status"], result["body"] = response.status_code, response.json()
        except Exception as exc:  # noqa: BLE001 - the assertion shows it
            result["error"] = repr(exc)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread, result


def wait_for_listener(service: Webservice, times: int, timeout: float = 120) -> None:
    """Wait until the service's log says debugpy listens for the ``times``-th time."""
    deadline = time.monotonic() + timeout
    while service.get_logs().count("debugpy is listening on") < times:
        assert time.monotonic() < deadline, service.get_logs()
        time.sleep(0.1)


def hit_breakpoint(service: Webservice, launch: dict[str, Any], script: Path) -> dict[str, Any]:
    """Attach with ``launch``, break in run() of ``script`` during a request, continue; the
    request's answer."""
    port = launch["connect"]["port"]
    ide = attach(port, launch, {str(script): [BREAKPOINT_LINE]})
    try:
        service.wait_for_deployment(timeout_sec=120)
        thread, result = _post_in_background(str(service.scoring_uri))
        stopped, frame = stopped_frame(ide)
        assert stopped["body"]["reason"] == "breakpoint"
        assert frame["name"] == "run" and frame["line"] == BREAKPOINT_LINE
        assert Path(frame["source"]["path"]) == script  # the user's own file, mapped back
        assert thread.is_alive()  # held at the breakpoint
        ide.call("continue", threadId=stopped["body"]["threadId"])
        thread.join(60)
        assert result.get("status") == 200, result
        return dict(result["body"])
    except BaseException:
        print(service.get_logs(num_lines=200))  # shown with the failure
        raise
    finally:
        ide.close()


def test_local_service_debugger_breakpoint_in_run_and_after_reload(
    ws: Workspace, source: Path, services: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    services.append("dbg-local")
    model = Model.register(ws, model_path="model.json", model_name="dbgmodel")
    inference = InferenceConfig(entry_script="score.py", source_directory="src")
    port = free_port()
    config = LocalWebservice.deploy_configuration(
        debugger_port=port, debugger_wait_s=120, worker_count=2
    )
    service = Model.deploy(ws, "dbg-local", [model], inference, config)

    launch = service.get_debug_config()
    app_root = Path(ws.path) / "services" / "dbg-local" / "app"
    assert launch["request"] == "attach" and launch["type"] == "debugpy"
    assert launch["connect"] == {"host": "127.0.0.1", "port": port}
    assert launch["pathMappings"] == [{"localRoot": str(source), "remoteRoot": f"{app_root}/src"}]
    script = source / "score.py"

    assert hit_breakpoint(service, launch, script) == {"version": 1, "total": 12}
    log = service.get_logs()
    assert f"debugpy is listening on 127.0.0.1:{port}" in log
    assert "Workers:             1 (the debugger is on: one worker)" in log
    data = service.serialize()
    assert data["debugger"]["port"] == port and data["deploymentConfig"]["debugger_port"] == port

    # reload: the old version stops first (the port is the debugger's), the mapping stays valid
    script.write_text(SCORE.replace("VERSION = 1", "VERSION = 2"))
    reloading = threading.Thread(target=service.reload, daemon=True)
    capsys.readouterr()
    reloading.start()
    wait_for_listener(service, times=2)  # the new version's debugpy, not the old one's
    assert hit_breakpoint(service, launch, script) == {"version": 2, "total": 12}
    reloading.join(60)
    assert not reloading.is_alive()
    assert service.get_debug_config() == launch
    service.wait_for_deployment(show_output=True)
    shown = capsys.readouterr()
    assert "the running version stops first" in shown.out + shown.err
    assert "no version serves until it is ready (a gap)" in shown.out + shown.err
    assert f"debugger: debugpy listens on 127.0.0.1:{port}" in shown.out + shown.err
    assert "`dockyard service debug-config dbg-local`" in shown.out + shown.err


def test_without_an_ide_the_service_starts_after_the_bounded_wait(
    ws: Workspace, source: Path, services: list[str]
) -> None:
    services.append("dbg-noide")
    inference = InferenceConfig(entry_script="src/score.py")
    port = free_port()
    config = LocalWebservice.deploy_configuration(debugger_port=port, debugger_wait_s=3)
    started = time.monotonic()
    service = Model.deploy(ws, "dbg-noide", [], inference, config)
    service.wait_for_deployment(timeout_sec=60)
    took = time.monotonic() - started
    assert 3 <= took < 45
    assert service.run(SAMPLE) == {"version": 1, "total": 12}
    log = service.get_logs()
    assert "No debugger attached within 3 s; starting without one" in log
    # no source directory: the entry script's folder maps to the app root
    launch = service.get_debug_config()
    app_root = Path(ws.path) / "services" / "dbg-noide" / "app"
    assert launch["pathMappings"] == [{"localRoot": str(source), "remoteRoot": str(app_root)}]


def test_services_say_whether_the_debugger_is_on_and_errors_say_which_is_which(
    ws: Workspace, source: Path, services: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from dockyard.cli.main import main
    from dockyard.cli.service import app

    services.extend(["dbg-plain", "dbg-on"])
    inference = InferenceConfig(entry_script="score.py", source_directory="src")
    plain = Model.deploy(
        ws, "dbg-plain", [], inference, LocalWebservice.deploy_configuration(debug=True)
    )
    plain.wait_for_deployment(timeout_sec=60)
    with pytest.raises(WebserviceError) as caught:
        plain.get_debug_config()
    assert "runs without the debugger (debugger_port)" in caught.value.message
    assert "debug=True, which only puts error details into 500 answers" in caught.value.message
    assert "debugger_port=5678" in str(caught.value.hint)
    assert "--debugger" in str(caught.value.hint)
    assert plain.serialize()["debugger"] is None

    port = free_port()
    on = Model.deploy(
        ws, "dbg-on", [], inference,
        LocalWebservice.deploy_configuration(debugger_port=port, debugger_wait_s=0),
    )  # fmt: skip
    on.wait_for_deployment(timeout_sec=60)

    runner = CliRunner()
    where = ["--workspace", str(ws.path)]
    listed = runner.invoke(app, ["list", *where, "--output", "json"])
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["dbg-on"]["debugger"] == f"ON 127.0.0.1:{port} (one worker)"
    assert rows["dbg-plain"]["debugger"] == "off"
    shown = runner.invoke(app, ["show", "dbg-on", *where])
    assert f"ON 127.0.0.1:{port}" in shown.stdout
    printed = runner.invoke(app, ["debug-config", "dbg-on", *where, "--bare"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == on.get_debug_config()
    code = main(["service", "debug-config", "dbg-plain", *where])
    said = capsys.readouterr().err
    assert code != 0
    assert "runs without the debugger (debugger_port)" in said
    assert "`dockyard model deploy ... --debugger`" in said

    # another service cannot take the same debugger port
    with pytest.raises(ConflictError) as taken:
        Model.deploy(
            ws, "dbg-clash", [], inference,
            LocalWebservice.deploy_configuration(debugger_port=port),
        )  # fmt: skip
    assert "is the debugger port of dockyard service 'dbg-on'" in taken.value.message


def test_a_failed_reload_with_the_debugger_says_nothing_serves_and_the_next_one_works(
    ws: Workspace, source: Path, services: list[str]
) -> None:
    services.append("dbg-fail")
    inference = InferenceConfig(entry_script="score.py", source_directory="src")
    config = LocalWebservice.deploy_configuration(debugger_port=free_port(), debugger_wait_s=0)
    service = Model.deploy(ws, "dbg-fail", [], inference, config)
    service.wait_for_deployment(timeout_sec=60)
    script = source / "score.py"
    script.write_text(SCORE.replace("factor = 2", "factor = 1 / 0"))
    with pytest.raises(DeploymentError) as caught:
        service.reload()
    said = caught.value.message
    assert "no version of it is serving now" in said
    assert "the debugger is on: the previous version was stopped first" in said
    assert "ZeroDivisionError" in said
    script.write_text(SCORE.replace("VERSION = 1", "VERSION = 3"))
    service.reload()
    service.wait_for_deployment(timeout_sec=60)
    assert service.run(SAMPLE) == {"version": 3, "total": 12}


def test_the_cli_deploys_with_the_debugger(
    ws: Workspace, source: Path, services: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from dockyard.cli.main import main

    services.append("dbg-cli")
    port = free_port()
    code = main(
        ["model", "deploy", "--name", "dbg-cli", "--entry-script", "src/score.py",
         "--debugger-port", str(port), "--debugger-wait", "0", "--workspace", str(ws.path),
         "--output", "json"]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    assert json.loads(out.out)["debuggerPort"] == port
    assert f"The debugger listens on 127.0.0.1:{port} (one worker)" in out.err
    assert "dockyard service debug-config dbg-cli" in out.err
    assert Webservice(ws, "dbg-cli").run(SAMPLE) == {"version": 1, "total": 12}
