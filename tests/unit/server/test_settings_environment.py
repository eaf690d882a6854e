"""What the script finds in os.environ: the values it was given, by azmlinfsrv's rules.

azmlinfsrv (``amlserver.merge_configuration``) passes AZUREML_MODEL_DIR, AZUREML_ENTRY_SCRIPT and
the other variables on unchanged; only its flags are exported (the entry script as a realpath,
the model folder verbatim). Azure ML v1 sets ``AZUREML_MODEL_DIR=azureml-models/<name>/<version>``
with the app root as the working directory, and MLOpsPython's score.py takes ``split('/')[1]`` of
it as the model name, so a value made absolute breaks it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockyard.server.settings import export_environment, load_settings


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "score.py").write_text("def init(): pass\ndef run(d): return d\n")
    (tmp_path / "azureml-models" / "diabetes" / "3").mkdir(parents=True)
    return tmp_path


def exported(argv: list[str], env: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    export_environment(load_settings(argv, env), out)
    return out


def test_relative_model_dir_reaches_the_script_unchanged(root: Path) -> None:
    env = {
        "AML_APP_ROOT": str(root),
        "AZUREML_ENTRY_SCRIPT": "score.py",
        "AZUREML_MODEL_DIR": "azureml-models/diabetes/3",
    }
    settings = load_settings([], env)
    out = exported([], env)
    assert out["AZUREML_MODEL_DIR"] == "azureml-models/diabetes/3"
    assert out["AZUREML_MODEL_DIR"].split("/")[1] == "diabetes"  # MLOpsPython's model name
    # the server resolves it for its own use (banner, listing), under the app root
    assert settings.model_dir == str(root / "azureml-models" / "diabetes" / "3")


def test_several_models_value_and_trailing_slashes_are_kept(root: Path) -> None:
    for value in ("azureml-models", "./azureml-models/", str(root) + "/azureml-models/"):
        env = {"AML_APP_ROOT": str(root), "AZUREML_ENTRY_SCRIPT": "score.py"}
        assert exported([], {**env, "AZUREML_MODEL_DIR": value})["AZUREML_MODEL_DIR"] == value


def test_model_dir_flag_is_exported_verbatim(root: Path) -> None:
    env = {"AML_APP_ROOT": str(root), "AZUREML_MODEL_DIR": "ignored"}
    out = exported(["--entry-script", str(root / "score.py"), "--model_dir", "models"], env)
    assert out["AZUREML_MODEL_DIR"] == "models"


def test_model_dir_resolves_under_the_app_root_not_the_callers_cwd(
    root: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    settings = load_settings(
        ["--app-root", str(root), "--model-dir", "azureml-models/diabetes/3"],
        {"AZUREML_ENTRY_SCRIPT": "score.py"},
    )
    assert settings.model_dir == str(root / "azureml-models" / "diabetes" / "3")


def test_entry_script_from_the_environment_stays_relative(root: Path) -> None:
    env = {"AML_APP_ROOT": str(root), "AZUREML_ENTRY_SCRIPT": "score.py"}
    assert exported([], env)["AZUREML_ENTRY_SCRIPT"] == "score.py"
    assert load_settings([], env).entry_script == str(root / "score.py")  # the server's own use


def test_entry_script_flag_is_exported_as_its_real_path(root: Path) -> None:
    link = root / "link.py"
    link.symlink_to(root / "score.py")
    out = exported(["--entry_script", str(link)], {"AML_APP_ROOT": str(root)})
    assert out["AZUREML_ENTRY_SCRIPT"] == os.path.realpath(link) == str(root / "score.py")


def test_values_from_config_json_are_not_exported(root: Path) -> None:
    (root / "config.json").write_text(
        json.dumps({"AZUREML_MODEL_DIR": "azureml-models/diabetes/3", "SCORING_TIMEOUT_MS": 5000})
    )
    env = {"AML_APP_ROOT": str(root), "AZUREML_ENTRY_SCRIPT": "score.py"}
    settings = load_settings([], env)
    assert settings.scoring_timeout_ms == 5000
    assert settings.model_dir == str(root / "azureml-models" / "diabetes" / "3")
    out = exported([], env)
    assert "AZUREML_MODEL_DIR" not in out and "SCORING_TIMEOUT_MS" not in out


def test_app_root_worker_count_and_timeout_pass_through(root: Path) -> None:
    env = {
        "AML_APP_ROOT": str(root) + "/",
        "AZUREML_ENTRY_SCRIPT": "score.py",
        "WORKER_COUNT": "02",
        "SCORING_TIMEOUT_MS": "60000",
    }
    out = exported([], env)
    assert out["AML_APP_ROOT"] == str(root) + "/"
    assert (out["WORKER_COUNT"], out["SCORING_TIMEOUT_MS"]) == ("02", "60000")


def test_defaults_are_what_azmlinfsrv_sets(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root)
    out = exported(["--entry-script", "score.py"], {})
    assert out["AML_APP_ROOT"] == str(root)  # setdefault(cwd)
    assert out["WORKER_COUNT"] == "1"
    assert "AZUREML_MODEL_DIR" not in out and "SCORING_TIMEOUT_MS" not in out
    out = exported(
        ["--entry-script", "score.py", "--workers", "2", "--scoring-timeout-ms", "9"], {}
    )
    assert (out["WORKER_COUNT"], out["SCORING_TIMEOUT_MS"]) == ("2", "9")


def test_a_relative_app_root_naming_another_folder_becomes_absolute(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server works in the app root (azmlinfsrv stays where it was started): "app" would
    name app/app from there, so the script gets the absolute path; "." is kept."""
    monkeypatch.chdir(root.parent)
    out = exported([], {"AML_APP_ROOT": root.name, "AZUREML_ENTRY_SCRIPT": "score.py"})
    assert out["AML_APP_ROOT"] == str(root)
    monkeypatch.chdir(root)
    out = exported([], {"AML_APP_ROOT": ".", "AZUREML_ENTRY_SCRIPT": "score.py"})
    assert out["AML_APP_ROOT"] == "."


def test_flags_azmlinfsrv_exports(root: Path) -> None:
    (root / "cfg.json").write_text("{}")
    out = exported(
        [
            "--entry-script",
            str(root / "score.py"),
            "--access_control_allow_origins",
            "*",
            "--config_file",
            str(root / "cfg.json"),
        ],
        {"AML_APP_ROOT": str(root)},
    )
    assert out["AML_CORS_ORIGINS"] == "*"
    assert out["AZUREML_CONFIG_FILE"] == str(root / "cfg.json")
