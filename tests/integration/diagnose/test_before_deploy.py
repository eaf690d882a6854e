"""``dockyard.diagnose`` before deploying: one test per failing step, each asserting the step
named, the finding, the evidence and the fix, then applying the fix and seeing the step pass.

The script runs in dockyard's own Python (no environment: the fastest path) except in the
environment test, which builds a real one with uv (one small package).
"""

from __future__ import annotations

import importlib.metadata
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import dockyard
from dockyard import Model, Workspace
from dockyard.diagnosis import DiagnosisReport
from tests.integration.diagnose.conftest import diagnose_cli, write_script

HEALTHY = """\
import json
from azureml.core.model import Model

def init():
    global weather
    with open(Model.get_model_path("summer")) as f:
        weather = f.read().strip()

def run(data):
    return {"weather": weather, "asked": json.loads(data)}
"""


def statuses(report: DiagnosisReport) -> dict[str, str]:
    return {s.step: s.status for s in report.steps}


def check(ws: Workspace, folder: Path, **kw: object) -> DiagnosisReport:
    kw.setdefault("models", ["summer"])
    kw.setdefault("sample", '{"city": "Seoul"}')
    return dockyard.diagnose(
        ws, entry_script="score.py", source_directory=str(folder), timeout=60, **kw
    )


def test_a_healthy_script_passes_every_step(ws: Workspace, model: Model, tmp_path: Path) -> None:
    folder = write_script(tmp_path / "src", HEALTHY)
    report = check(ws, folder)
    assert report.ok and report.failed is None
    assert statuses(report) == dict.fromkeys(
        ["models", "environment", "layout", "import", "signatures", "init", "score"], "passed"
    )
    assert "summer:1" in report.step("models").finding
    assert "AZUREML_MODEL_DIR=azureml-models/summer/1" in report.step("layout").finding
    assert "Model.get_model_path('summer') -> <app root>/azureml-models/summer/1/model.txt" in (
        report.step("init").finding
    )
    assert '{"weather": "sunny", "asked": {"city": "Seoul"}}' in report.step("score").finding

    # the CLI: the same findings as JSON, exit code 0
    code, data, _ = diagnose_cli(
        ws, "--entry-script", "score.py", "--source-directory", str(folder), "--model", "summer",
        "--sample", '{"city": "Seoul"}',
    )  # fmt: skip
    assert code == 0 and data["ok"] is True and data["failedStep"] is None
    assert [s["step"] for s in data["steps"]] == [s.step for s in report.steps]
    assert {s["status"] for s in data["steps"]} == {"passed"}
    assert set(data["steps"][0]) == {"step", "status", "finding", "evidence", "fix"}


def test_an_unregistered_model_fails_the_models_step_until_it_is_registered(
    ws: Workspace, model: Model, tmp_path: Path
) -> None:
    folder = write_script(tmp_path / "src", HEALTHY.replace('"summer"', '"winter"'))
    report = check(ws, folder, models=["winter"])
    failed = report.failed
    assert failed is not None and failed.step == "models"
    assert "model 'winter' is not registered" in failed.finding
    assert "registered models: summer" in failed.finding
    assert "`dockyard model register PATH --name winter`" in failed.fix
    assert statuses(report)["score"] == "skipped"
    assert "not checked: step 'models' failed first" in report.step("score").finding

    (tmp_path / "winter.txt").write_text("snowy\n")
    Model.register(ws, model_path=str(tmp_path / "winter.txt"), model_name="winter")  # the fix
    assert check(ws, folder, models=["winter"]).ok


def test_a_missing_version_names_the_versions_there_are(ws: Workspace, model: Model) -> None:
    report = dockyard.diagnose(ws, entry_script=__file__, models=["summer:7"])
    failed = report.failed
    assert failed is not None and failed.step == "models"
    assert "has no version 7" in failed.finding and "its versions: 1" in failed.finding
    assert "--model summer:1" in failed.fix


def test_a_damaged_model_file_fails_the_models_step(
    ws: Workspace, model: Model, tmp_path: Path
) -> None:
    folder = write_script(tmp_path / "src", HEALTHY)
    blob = ws.blobs.blob_path(model.files[0].sha256)
    os.chmod(blob, stat.S_IWUSR | stat.S_IRUSR)
    blob.write_text("rainy\n")  # the stored bytes no longer match their SHA-256
    report = check(ws, folder)
    failed = report.failed
    assert failed is not None and failed.step == "models"
    assert "summer:1: 1 of its 1 stored file(s) no longer hold the bytes" in failed.finding
    assert "model.txt: stored file" in failed.evidence and "damaged" in failed.evidence
    assert "register the model again" in failed.fix and "dockyard workspace verify" in failed.fix

    (tmp_path / "model.txt").write_text("sunny again\n")
    Model.register(ws, model_path=str(tmp_path / "model.txt"), model_name="summer")  # the fix
    assert check(ws, folder, models=["summer:2"]).ok


def test_an_import_error_points_into_the_users_file(
    ws: Workspace, model: Model, tmp_path: Path
) -> None:
    folder = write_script(tmp_path / "src", "import json\nimport weather_forecasts\n" + HEALTHY)
    report = check(ws, folder)
    failed = report.failed
    assert failed is not None and failed.step == "import"
    script = folder.resolve() / "score.py"
    assert "ModuleNotFoundError: No module named 'weather_forecasts'" in failed.finding
    assert f"{script}, line 2" in failed.finding
    assert f'File "{script}", line 2, in <module>' in failed.evidence
    assert "dockyard-diagnose-" not in failed.evidence  # no path of the temporary app root
    assert "dockyard/server/" not in failed.evidence  # the server's own frames are left out
    assert "the package that provides 'weather_forecasts'" in failed.fix
    assert f"remove the import at {script}, line 2" in failed.fix

    write_script(folder, HEALTHY)  # the fix: the import removed
    assert check(ws, folder).ok


def test_a_script_without_run_fails_the_signatures_step(
    ws: Workspace, model: Model, tmp_path: Path
) -> None:
    folder = write_script(tmp_path / "src", HEALTHY.split("def run")[0])
    report = check(ws, folder)
    failed = report.failed
    assert failed is not None and failed.step == "signatures"
    assert "does not have a run() function defined" in failed.finding
    assert "def run(data):" in failed.fix
    assert statuses(report)["import"] == "passed"

    write_script(folder, HEALTHY)
    assert statuses(check(ws, folder))["signatures"] == "passed"


def test_run_with_star_args_and_init_with_arguments_are_not_usable(
    ws: Workspace, model: Model, tmp_path: Path
) -> None:
    folder = write_script(
        tmp_path / "a", "def init():\n    pass\n\ndef run(*args):\n    return 1\n"
    )
    failed = check(ws, folder).failed
    assert failed is not None and failed.step == "signatures"
    assert "*args" in failed.finding and "one named parameter" in failed.fix

    folder = write_script(
        tmp_path / "b", "def init(path):\n    pass\n\ndef run(data):\n    return 1\n"
    )
    failed = check(ws, folder).failed
    assert failed is not None and failed.step == "signatures"
    assert "init() requires the argument(s) path" in failed.finding
    assert "def init():" in failed.fix


def test_init_that_raises_fails_the_init_step_with_the_model_folder(
    ws: Workspace, model: Model, tmp_path: Path
) -> None:
    broken = HEALTHY.replace("    global weather\n", "    global weather\n    raise RuntimeError('the forecast service is down')\n")  # fmt: skip
    folder = write_script(tmp_path / "src", broken)
    report = check(ws, folder)
    failed = report.failed
    assert failed is not None and failed.step == "init"
    script = folder.resolve() / "score.py"
    assert f"init() raised RuntimeError: the forecast service is down at {script}, line 6" == (
        failed.finding
    )
    assert "AZUREML_MODEL_DIR=azureml-models/summer/1" in failed.evidence
    assert "summer/\n        1/\n            model.txt" in failed.evidence
    assert f"fix init() at {script}, line 6" in failed.fix

    write_script(folder, HEALTHY)
    assert statuses(check(ws, folder))["init"] == "passed"


def test_get_model_path_to_a_wrong_name_lists_the_model_folder(
    ws: Workspace, model: Model, tmp_path: Path
) -> None:
    folder = write_script(tmp_path / "src", HEALTHY.replace('get_model_path("summer")', 'get_model_path("my-best-model")'))  # fmt: skip
    report = check(ws, folder)
    failed = report.failed
    assert failed is not None and failed.step == "init"
    script = folder.resolve() / "score.py"
    assert f"Model.get_model_path('my-best-model') at {script}, line 6" in failed.finding
    assert (
        "raised ModelNotFoundException: the deployment has no such model (summer:1 deployed)"
        in (failed.finding)
    )
    assert "the app root's models folder (AZUREML_MODEL_DIR=azureml-models/summer/1)" in (
        failed.evidence
    )
    assert "azureml-models/\n    summer/\n        1/\n            model.txt" in failed.evidence
    assert f"call Model.get_model_path('summer') at {script}, line 6" in failed.fix
    assert "--model my-best-model" in failed.fix

    write_script(folder, HEALTHY)  # the fix: the deployed name
    fixed = check(ws, folder)
    assert statuses(fixed)["init"] == "passed" and fixed.ok


def test_a_sample_that_makes_run_raise_fails_the_score_step(
    ws: Workspace, model: Model, tmp_path: Path
) -> None:
    folder = write_script(tmp_path / "src", HEALTHY.replace('"asked": json.loads(data)', '"asked": json.loads(data)["days"]'))  # fmt: skip
    report = check(ws, folder)
    failed = report.failed
    assert failed is not None and failed.step == "score"
    script = folder.resolve() / "score.py"
    assert f"run() raised KeyError: 'days' at {script}, line 10 for the sample (--sample)" == (
        failed.finding
    )
    assert f'File "{script}", line 10, in run' in failed.evidence
    assert 'sample: {"city": "Seoul"}' in failed.evidence
    assert f"fix run() at {script}, line 10" in failed.fix

    assert check(ws, folder, sample='{"days": 3}').ok  # the sample run() expects


def test_a_value_run_cannot_send_as_json_fails_the_score_step(
    ws: Workspace, model: Model, tmp_path: Path
) -> None:
    folder = write_script(tmp_path / "src", HEALTHY.replace('return {"weather"', 'return {1, 2}; {"weather"'))  # fmt: skip
    report = check(ws, folder)
    failed = report.failed
    assert failed is not None and failed.step == "score"
    assert "its value is not JSON: TypeError: Object of type set is not JSON serializable" in (
        failed.finding
    )
    assert "return plain lists, dicts, numbers and strings" in failed.fix

    write_script(folder, HEALTHY.replace('return {"weather"', 'return sorted({1, 2}); {"weather"'))  # fmt: skip
    assert check(ws, folder).ok


def test_the_input_schema_example_is_the_sample_when_none_is_given(
    ws: Workspace, tmp_path: Path
) -> None:
    folder = write_script(
        tmp_path / "src",
        "import numpy as np\n"
        "from inference_schema.schema_decorators import input_schema\n"
        "from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType\n"
        "def init():\n    pass\n"
        "@input_schema('data', NumpyParameterType(np.array([[1.0, 2.5]])))\n"
        "def run(data):\n    return float(data.sum())\n",
    )
    report = check(ws, folder, models=[], sample=None)
    score = report.step("score")
    assert score.status == "passed"
    assert "the sample (the @input_schema example) scored: 200" in score.finding
    assert score.finding.endswith("the answer is JSON: 3.5")

    plain = write_script(
        tmp_path / "plain", "def init():\n    pass\ndef run(data):\n    return 1\n"
    )
    skipped = check(ws, plain, models=[], sample=None).step("score")
    assert skipped.status == "skipped" and "pass --sample" in skipped.finding


def test_init_that_never_returns_is_stopped_at_the_timeout(ws: Workspace, tmp_path: Path) -> None:
    folder = write_script(
        tmp_path / "src",
        "import time\ndef init():\n    print('waiting for the model server')\n    time.sleep(60)\n"
        "def run(data):\n    return 1\n",
    )
    report = dockyard.diagnose(ws, entry_script="score.py", source_directory=str(folder), timeout=3)
    failed = report.failed
    assert failed is not None and failed.step == "init"
    assert failed.finding == "init() did not finish within 3 s (stopped)"
    assert "waiting for the model server" in failed.evidence
    assert "--timeout SECONDS" in failed.fix


def test_an_unresolvable_pin_fails_the_environment_step(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_ENV_CACHE", str(tmp_path / "envs"))
    folder = write_script(
        tmp_path / "src",
        "import packaging\ndef init():\n    pass\ndef run(data):\n    return packaging.__name__\n",
    )
    env_file = tmp_path / "env.yml"
    env_file.write_text("name: pins\ndependencies:\n  - pip:\n      - packaging==99.0.1\n")
    report = check(ws, folder, models=[], conda_file=str(env_file))
    failed = report.failed
    assert failed is not None and failed.step == "environment"
    python = ".".join(map(str, sys.version_info[:3]))
    assert f"the conda file {env_file} does not install for Python {python}" in failed.finding
    assert "Cannot install 'packaging==99.0.1'" in failed.finding
    assert "(as written: packaging==99.0.1)" in failed.finding
    assert "full log:" in failed.evidence
    assert f"edit the conda file {env_file}: pin a version that exists" in failed.fix

    version = importlib.metadata.version("packaging")  # a version that exists
    env_file.write_text(f"name: pins\ndependencies:\n  - pip:\n      - packaging=={version}\n")
    fixed = check(ws, folder, models=[], conda_file=str(env_file))
    assert fixed.ok, fixed
    assert f"packaging=={version}" in fixed.step("environment").evidence
    assert fixed.step("score").finding.endswith('the answer is JSON: "packaging"')


def test_the_cli_says_which_step_failed_and_exits_1(
    ws: Workspace, model: Model, tmp_path: Path
) -> None:
    folder = write_script(tmp_path / "src", HEALTHY.replace('"summer"', '"autumn"'))
    args = ["--entry-script", "score.py", "--source-directory", str(folder), "-m", "summer"]
    code, data, _ = diagnose_cli(ws, *args, "--sample", "@" + str(_sample(tmp_path)))
    assert code == 1 and data["ok"] is False and data["failedStep"] == "init"
    sdk = check(ws, folder)  # the same findings as objects (timings aside)
    assert [(s["step"], s["status"]) for s in data["steps"]] == [
        (s.step, s.status) for s in sdk.steps
    ]
    failed = next(s for s in data["steps"] if s["status"] == "failed")
    assert failed == sdk.step("init").to_dict()

    table = subprocess.run(
        [sys.executable, "-m", "dockyard", "diagnose", *args, "--workspace", str(ws.path)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert table.returncode == 1
    lines = table.stdout.splitlines()
    assert lines[0] == f"diagnosis of entry script {folder.resolve() / 'score.py'}"
    assert lines[1].startswith("  passed  models: registered")
    assert any(line.startswith("  FAILED  init: init() failed: Model.get_model_path('autumn')") for line in lines)  # fmt: skip
    assert "fix: call Model.get_model_path('summer')" in table.stdout


def _sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.json"
    path.write_text('{"city": "Seoul"}')
    return path


def test_a_missing_server_dependency_names_the_package_to_add(
    ws: Workspace, model: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's environment without azureml-defaults: score.py's @input_schema decorators
    need inference-schema, which the environment does not install."""
    monkeypatch.setenv("DOCKYARD_ENV_CACHE", str(tmp_path / "envs"))
    folder = write_script(
        tmp_path / "src",
        "from inference_schema.schema_decorators import input_schema\n" + HEALTHY,
    )
    env_file = tmp_path / "env.yml"
    env_file.write_text("name: lean\ndependencies:\n  - pip:\n      - packaging\n")
    report = check(ws, folder, conda_file=str(env_file))
    failed = report.failed
    assert failed is not None and failed.step == "import", report
    assert "No module named 'inference_schema'" in failed.finding
    assert (
        f"add inference-schema (it provides 'inference_schema') to the conda file {env_file}"
        in (failed.fix)
    )

    env_file.write_text(
        "name: lean\ndependencies:\n  - pip:\n      - packaging\n      - inference-schema\n"
    )  # the fix, as the finding says
    assert check(ws, folder, conda_file=str(env_file)).ok
