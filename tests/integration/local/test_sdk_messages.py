"""What the SDK tells a user (issue 9): progress that shows only the operation waited for, run()
errors that carry the request id and the call that prints that request's log, run() on a service
that cannot answer fails at once with its state and error, and hints that lead somewhere (each
hint here is followed and must lead to a working service).

Real local services on 127.0.0.1 (no environment: the server runs in this interpreter), except
the environment failure, which builds a (failing) environment with uv.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard import Environment, InferenceConfig, LocalWebservice, Model, Webservice, Workspace
from dockyard.errors import WebserviceException
from tests.integration.local.helpers import run_cli, script_folder

pytestmark = pytest.mark.slow

SCORE = """
import json, os

def init():
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.txt")) as f:
        print("init done with", f.read())

def run(data):
    print("scoring", data)
    if "boom" in data:
        raise ValueError("boom: the input broke run()")
    return {"echo": data}
"""

FAILING_INIT = """
def init():
    raise ValueError("model file is corrupt: cannot load weights")

def run(data):
    return data
"""


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return script_folder(tmp_path / "src", SCORE)


def _register(ws: Workspace, tmp_path: Path, text: str) -> Model:
    path = tmp_path / f"model-{text}" / "model.txt"
    path.parent.mkdir()
    path.write_text(text)
    return Model.register(ws, model_path=str(path), model_name="weights")


def _deploy(ws: Workspace, name: str, models: list[Any], src: Path, services: list[str], **cfg: Any) -> Webservice:  # fmt: skip
    services.append(name)
    config = InferenceConfig(entry_script="score.py", source_directory=str(src))
    return Model.deploy(ws, name, models, config, LocalWebservice.deploy_configuration(**cfg))


# --- item 9: progress shows only the operation waited for ------------------------------------------
def test_progress_after_an_update_shows_only_the_update(
    ws, tmp_path, src, services, capsys
) -> None:  # type: ignore[no-untyped-def]
    service = _deploy(ws, "progress", [_register(ws, tmp_path, "one")], src, services)
    service.wait_for_deployment()
    service.update(models=[_register(ws, tmp_path, "two")])
    capsys.readouterr()
    service.wait_for_deployment(show_output=True)
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert "update:" in text and "generation 2" in text
    assert "Healthy at http://127.0.0.1:" in text
    for old in ("deployment requested", "generation 1", "layout: app root", "start: starting"):
        assert old not in text.replace("update: layout: app root", ""), (old, text)
    lines = [ln for ln in text.splitlines() if ln.startswith("  ")]
    assert len(lines) == len(set(lines)), text  # each event once


def test_progress_of_start_after_stop_has_no_old_event(ws, tmp_path, src, services, capsys) -> None:  # type: ignore[no-untyped-def]
    service = _deploy(ws, "restart", [_register(ws, tmp_path, "one")], src, services)
    service.wait_for_deployment()
    service.stop()
    assert service.state == "Stopped"
    service.start()
    capsys.readouterr()
    service.wait_for_deployment(show_output=True)
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert "Healthy" in text
    for old in ("Stopped", "stopped", "deployment requested", "layout: app root"):
        assert old not in text, (old, text)
    # the CLI's start prints the same progress (and nothing from before it)
    service.stop()
    result = run_cli(ws, "service", "start", "restart", timeout=180)
    assert result.returncode == 0, result.stderr
    cli_text = result.stdout + result.stderr
    assert "Healthy" in cli_text
    for old in ("Stopped", "stopped on request", "deployment requested", "generation 1)"):
        assert old not in cli_text.replace("Healthy: ready", ""), (old, cli_text)
    assert service.run("again") == {"echo": "again"}


# --- item 12: a 500 carries the request id and the call that prints that request's log ------------
def test_a_failed_run_names_its_request_id_and_get_logs_prints_that_request(
    ws, tmp_path, src, services, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    service = _deploy(ws, "requestid", [_register(ws, tmp_path, "one")], src, services)
    service.wait_for_deployment()
    assert service.run("hello") == {"echo": "hello"}
    with pytest.raises(WebserviceException) as info:
        service.run("boom")
    error = info.value
    assert error.status_code == 500
    request_id = error.request_id
    assert request_id and re.fullmatch(r"[0-9a-f-]{36}", request_id)
    text = str(error)
    assert f"\nRequest id: {request_id}\n" in text
    assert "An unexpected error occurred in scoring script" in text
    assert "Headers:" not in text and "content-length" not in text
    call = f"service.get_logs(request_id={request_id!r})"
    assert call in (error.hint or "")
    # the call it names prints that request's lines, traceback included, and nothing else
    deadline = time.monotonic() + 5
    logs = ""
    while time.monotonic() < deadline and "ValueError" not in logs:
        logs = eval(call, {"service": service})  # noqa: S307 - the hint, run as a user would
        time.sleep(0.1)
    assert "scoring boom" in logs
    assert 'raise ValueError("boom: the input broke run()")' in logs
    assert "ValueError: boom: the input broke run()" in logs
    assert "score.py" in logs
    assert "scoring hello" not in logs and "init done" not in logs
    assert "no log line" in service.get_logs(request_id="no-such-request")

    # no answer at all (a run() stuck past the scoring timeout): the bound, the id it sent
    def stuck(*_: Any, **kwargs: Any) -> Any:
        raise httpx.ReadTimeout("timed out")

    monkeypatch.setattr(httpx, "post", stuck)
    with pytest.raises(WebserviceException) as info:
        service.run("hello")
    assert "no answer within 3605 s (the scoring timeout plus 5 s)" in str(info.value)
    assert info.value.state == "Healthy"
    assert info.value.request_id and f"Request id: {info.value.request_id}" in str(info.value)
    assert f"service.get_logs(request_id={info.value.request_id!r})" in (info.value.hint or "")


# --- item 4: run() on a service that cannot answer fails at once ----------------------------------
def test_run_on_a_crash_looping_or_stopped_service_fails_fast_with_state_and_error(
    ws, tmp_path, src, services, capsys
) -> None:  # type: ignore[no-untyped-def]
    (src / "score.py").write_text(FAILING_INIT)
    service = _deploy(
        ws, "crashrun", [_register(ws, tmp_path, "one")], src, services, scoring_timeout_ms=30_000
    )
    with pytest.raises(WebserviceException):
        service.wait_for_deployment(timeout_sec=60)
    assert service.state == "CrashLoopBackOff"
    for _ in range(3):  # also while a back-off retry runs init() again
        started = time.monotonic()
        with pytest.raises(WebserviceException) as info:
            service.run("hello")
        assert time.monotonic() - started < 5
        error = info.value
        assert error.state == "CrashLoopBackOff"
        text = str(error)
        assert "cannot answer run(): it is CrashLoopBackOff" in text
        assert "ValueError: model file is corrupt: cannot load weights" in text
        assert "service.reload()" in (error.hint or "")
        time.sleep(0.7)
    # the hint: fix score.py, then service.reload()
    (src / "score.py").write_text(SCORE)
    service.reload()
    capsys.readouterr()
    service.wait_for_deployment(show_output=True, timeout_sec=60)
    progress = capsys.readouterr().err
    assert "  Healthy: reload: done" in progress, progress  # the state then, not a stale one
    assert "server failed to start" not in progress  # the crash loop was before the reload
    assert service.run("fixed") == {"echo": "fixed"}

    service.stop()
    started = time.monotonic()
    with pytest.raises(WebserviceException) as info:
        service.run("hello")
    assert time.monotonic() - started < 5
    assert info.value.state == "Stopped"
    assert "service.start()" in (info.value.hint or "")
    service.start()
    service.wait_for_deployment(timeout_sec=60)
    assert service.run("back") == {"echo": "back"}


# --- item 11: after an environment failure every hint leads to a working service -------------------
def test_after_an_environment_failure_hints_lead_to_a_working_service(
    ws, tmp_path, src, services
) -> None:  # type: ignore[no-untyped-def]
    model = _register(ws, tmp_path, "one")
    (src / "env.yml").write_text(
        "name: bad\ndependencies:\n  - python=3.11\n  - pip:\n      - six==99.0.0\n"
    )
    env = Environment.from_conda_specification(name="bad-env", file_path=str(src / "env.yml"))
    bad = InferenceConfig(entry_script="score.py", source_directory=str(src), environment=env)
    services.append("envfail")
    with pytest.raises(WebserviceException) as info:
        Model.deploy(ws, "envfail", [model], bad)
    redeploy = "Model.deploy(ws, 'envfail', [Model(ws, 'weights', version=1)], inference_config, deployment_config, overwrite=True)"  # fmt: skip
    assert redeploy in (info.value.hint or "")
    service = Webservice(ws, "envfail")
    assert service.state == "Failed"

    # run(): at once, the state, what failed, and the call that fixes it (not `service start`)
    started = time.monotonic()
    with pytest.raises(WebserviceException) as info:
        service.run("hello")
    assert time.monotonic() - started < 5
    assert info.value.state == "Failed"
    assert "six==99.0.0" in str(info.value) and "[environment]" in str(info.value)
    assert redeploy in (info.value.hint or "")
    assert "dockyard service start" not in str(info.value)

    # get_logs(): what failed, not nothing (the CLI prints the same)
    logs = service.get_logs()
    assert "failed at step environment" in logs and "six==99.0.0" in logs
    assert "Model.deploy(" not in logs  # the log is shown to CLI users too: no SDK call in it
    shown = run_cli(ws, "service", "logs", "envfail", timeout=180)
    assert "six==99.0.0" in shown.stdout + shown.stderr

    # start(): nothing to start, and the same call (not "deployment.json is missing")
    with pytest.raises(WebserviceException) as info:
        service.start()
    assert "deployment.json" not in str(info.value)
    assert redeploy in (info.value.hint or "")

    # follow the hint as written, with the environment fixed
    fixed = InferenceConfig(entry_script="score.py", source_directory=str(src))
    namespace = {
        "ws": ws,
        "Model": Model,
        "inference_config": fixed,
        "deployment_config": LocalWebservice.deploy_configuration(),
    }
    again = eval(redeploy, namespace)  # noqa: S307 - the hint, run as a user would
    again.wait_for_deployment(timeout_sec=60)
    assert again.run("hello") == {"echo": "hello"}
    assert "six==99.0.0" not in again.get_logs()
