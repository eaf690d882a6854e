"""The pure pieces of ``dockyard.diagnose``: running steps until one fails, reading access lines
and the seed's 503 advice in numbers, tracebacks as the user reads them, and the inputs
(paths, samples) checked before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dockyard
from dockyard.builders.app_root import AppRoot
from dockyard.diagnosis.access_log import load_of, overload_advice, requests_of
from dockyard.diagnosis.before_deploy import sample_text
from dockyard.diagnosis.layout_step import check_layout, resolve_paths
from dockyard.diagnosis.probe_steps import ScriptContext, clean, error_line
from dockyard.diagnosis.report import DiagnosisReport, Step, run_steps
from dockyard.errors import EnvironmentBuildError, ValidationError


# --- steps ----------------------------------------------------------------------------------------
def test_steps_stop_at_the_first_failure_and_the_rest_are_not_checked() -> None:
    ran: list[str] = []

    def passes(name: str) -> Step:
        ran.append(name)
        return Step(name, "passed", "fine")

    def probe() -> list[Step]:
        ran.append("probe")
        return [
            Step("import", "passed", "ok"),
            Step("init", "failed", "init() raised", "tb", "fix"),
        ]

    steps = run_steps(
        [
            ("models", lambda: passes("models")),
            (("import", "init", "score"), probe),
            ("later", lambda: passes("later")),
        ]
    )
    assert ran == ["models", "probe"]
    assert [(s.step, s.status) for s in steps] == [
        ("models", "passed"), ("import", "passed"), ("init", "failed"), ("score", "skipped"),
        ("later", "skipped"),
    ]  # fmt: skip
    assert steps[-1].finding == "not checked: step 'init' failed first"
    report = DiagnosisReport("entry script score.py", steps)
    assert report.failed is steps[2] and not report.ok
    data = report.to_dict()
    assert data["failedStep"] == "init" and data["ok"] is False
    assert json.loads(json.dumps(data)) == data
    text = str(report)
    assert "  FAILED   init: init() raised" in text and text.endswith("fix: fix")


def test_a_dockyard_error_is_its_steps_failure() -> None:
    def fails() -> Step:
        raise EnvironmentBuildError("Cannot install 'x==9'", log_tail="uv said no", hint="pin x")

    [step] = run_steps([("environment", fails)])
    assert step == Step("environment", "failed", "Cannot install 'x==9'", "uv said no", "pin x")


# --- access lines and overload --------------------------------------------------------------------
LOG = """\
2026-01-01 12:00:00,100 I [7] dockyard.server - Worker ready
2026-01-01 12:00:00,500 I [7] dockyard.access - POST /score 200 200.000ms 12 rid=a
2026-01-01 12:00:00,900 I [7] dockyard.access - GET /health/ready 200 0.100ms 2 rid=b
2026-01-01 12:00:01,200 I [7] dockyard.access - POST /score 503 100.000ms 80 rid=c
2026-01-01 12:00:01,300 I [7] dockyard.access - POST /score?x=1 503 100.000ms 80 rid=d
2026-01-01 12:00:01,400 I [7] dockyard.access - POST /api/v1/service/s/score 200 400.000ms 12 rid=e
2026-01-01 12:00:09,000 I [7] dockyard.access - POST /score 500 3.000ms 70 rid=f
"""


def test_access_lines_of_the_scoring_route_are_read_back() -> None:
    requests = requests_of(LOG)
    assert [(r.status, r.rid) for r in requests] == [
        (200, "a"), (503, "c"), (503, "d"), (200, "e"), (500, "f"),
    ]  # fmt: skip
    load = load_of(requests)
    assert load.peak_rps == 4  # 12:00:00.5 .. 12:00:01.4: a sliding second, not a calendar one
    assert load.run_seconds == pytest.approx(0.3)


def test_overload_advice_uses_the_services_own_numbers() -> None:
    load = load_of(requests_of(LOG))
    local = overload_advice(load, {"replica_max_concurrent_requests": 1}, None)
    assert "replica_max_concurrent_requests=1" in local
    assert "max_request_wait_time=the server's default 60000 ms" in local
    assert "raise replica_max_concurrent_requests to 2 " in local  # ceil(4 x 0.3) = 2

    cluster = {
        "replica_max_concurrent_requests": 1, "max_request_wait_time": 500,
        "autoscale_min_replicas": 1, "autoscale_max_replicas": 1,
        "autoscale_target_utilization": 70,
    }  # fmt: skip
    advice = overload_advice(load, cluster, 1)
    # the seed's formula: ceil(4 * 0.3 / 0.7 / 1) = 2
    assert "ceil(4 * 0.300 / 0.7 / 1) = 2 replica(s)" in advice
    assert "set autoscale_min_replicas to 2 (now 1)" in advice
    assert "autoscale_max_replicas to at least 2 (now 1)" in advice
    assert "1 replica(s) were running" in advice
    calm = overload_advice(load, {**cluster, "autoscale_min_replicas": 3, "autoscale_max_replicas": 5}, 3)  # fmt: skip
    assert "lower autoscale_target_utilization (now 70)" in calm


# --- tracebacks as the user reads them ------------------------------------------------------------
def test_tracebacks_keep_the_users_frames_and_name_their_files(tmp_path: Path) -> None:
    source = tmp_path / "project" / "src"
    root = tmp_path / "tmp" / "app"
    ctx = ScriptContext(
        entry_script=source / "score.py",
        source_directory=source,
        app_root=AppRoot(path=root, entry_script="src/score.py", source_directory="src",
                         model_dir=root / "azureml-models"),
        models=[],
        environment=None,
    )  # fmt: skip
    text = f"""Traceback (most recent call last):
  File "/venv/lib/dockyard/server/user_script.py", line 204, in call_init
    script.init()
  File "<frozen importlib._bootstrap>", line 241, in _call_with_frames_removed
  File "{root}/src/score.py", line 5, in init
    load(Model.get_model_path("x"))
  File "{root}/src/helpers.py", line 2, in load
    raise OSError("nope")
OSError: nope
"""
    shown = ctx.traceback(text)
    assert shown.splitlines() == [
        "Traceback (most recent call last):",
        f'  File "{source}/score.py", line 5, in init',
        '    load(Model.get_model_path("x"))',
        f'  File "{source}/helpers.py", line 2, in load',
        '    raise OSError("nope")',
        "OSError: nope",
    ]
    assert ctx.where(shown) == f"{source}/helpers.py, line 2"
    assert ctx.user_paths(f"{root}/azureml-models/x/1") == "<app root>/azureml-models/x/1"
    assert clean("plain text") == "plain text"
    assert error_line(shown + "\nModel Directory Contents:\n1/\n    model.txt") == "OSError: nope"


# --- inputs ---------------------------------------------------------------------------------------
def test_samples_are_text_files_or_json(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"data": [1]}')
    assert sample_text('{"a": 1}') == '{"a": 1}'
    assert sample_text(f"@{tmp_path / 's.json'}") == '{"data": [1]}'
    assert sample_text({"data": [1, 2]}) == '{"data": [1, 2]}'
    assert sample_text(b'"x"') == '"x"' and sample_text(None) is None
    with pytest.raises(ValidationError, match="sample file .* does not exist"):
        sample_text(f"@{tmp_path / 'gone.json'}")


def test_layout_checks_the_paths_a_deploy_needs(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (tmp_path / "outside.py").write_text("x = 1\n")
    (source / "my-score.py").write_text("x = 1\n")
    cases = {
        ("score.py", str(source)): "the entry script",
        ("score.py", str(tmp_path / "nowhere")): "the source directory",
        (str(tmp_path / "outside.py"), str(source)): "is outside the source directory",
        ("my-score.py", str(source)): "is not an importable Python module name",
    }
    for (script, folder), words in cases.items():
        step, app_root = check_layout(resolve_paths(script, folder), [], tmp_path / "app")
        assert step.status == "failed" and words in step.finding and step.fix, step
        assert app_root is None


def test_the_sdk_call_names_one_thing_to_diagnose(tmp_path: Path) -> None:
    ws = dockyard.Workspace.create("one-thing", path=str(tmp_path / "ws"))
    with pytest.raises(ValidationError, match="Say what to diagnose"):
        dockyard.diagnose(ws)
    with pytest.raises(ValidationError, match="2 of them were given"):
        dockyard.diagnose(ws, "svc", image="img:1")
