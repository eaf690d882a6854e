"""Settings from flags, environment variables and config.json (precedence and errors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.server.settings import SettingsError, load_settings


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "score.py").write_text("def init(): pass\ndef run(d): return d\n")
    return tmp_path


def test_defaults(root: Path) -> None:
    s = load_settings(["--entry-script", str(root / "score.py")], {"AML_APP_ROOT": str(root)})
    assert (s.port, s.workers, s.scoring_timeout_ms, s.max_concurrent_requests) == (
        5001,
        1,
        3_600_000,
        1,
    )
    assert s.app_root == str(root) and s.entry_script == str(root / "score.py")
    assert s.server_version_header and s.server_version_header.startswith("dockyard/")
    assert s.keys_file is None and s.cors_origins is None and not s.debug


def test_azmlinfsrv_spellings_and_env(root: Path) -> None:
    env = {
        "AML_APP_ROOT": str(root),
        "WORKER_COUNT": "3",
        "SCORING_TIMEOUT_MS": "1500",
        "AML_CORS_ORIGINS": "*",
    }
    s = load_settings(["--entry_script", str(root / "score.py"), "--model_dir", str(root)], env)
    assert (s.workers, s.scoring_timeout_ms, s.cors_origins, s.model_dir) == (
        3,
        1500,
        "*",
        str(root),
    )
    s = load_settings(["--entry_script", str(root / "score.py"), "--worker_count", "2"], env)
    assert s.workers == 2  # the flag wins over WORKER_COUNT


def test_env_entry_script_is_relative_to_the_app_root(root: Path) -> None:
    s = load_settings([], {"AML_APP_ROOT": str(root), "AZUREML_ENTRY_SCRIPT": "score.py"})
    assert s.entry_script == str(root / "score.py")


def test_config_json_fills_what_env_does_not_set(root: Path) -> None:
    (root / "config.json").write_text(
        json.dumps({"SCORING_TIMEOUT_MS": 777, "SERVICE_NAME": "svc", "junk": 1})
    )
    s = load_settings([], {"AML_APP_ROOT": str(root), "AZUREML_ENTRY_SCRIPT": "score.py"})
    assert (s.scoring_timeout_ms, s.service_name) == (777, "svc")
    assert any("junk" in w for w in s.config_warnings)
    s = load_settings(
        [],
        {"AML_APP_ROOT": str(root), "AZUREML_ENTRY_SCRIPT": "score.py", "SCORING_TIMEOUT_MS": "5"},
    )
    assert s.scoring_timeout_ms == 5


def test_dockyard_knobs(root: Path, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text('{"primaryKey": "a"}')
    env = {
        "AML_APP_ROOT": str(root),
        "AZUREML_ENTRY_SCRIPT": "score.py",
        "DOCKYARD_MAX_CONCURRENT_REQUESTS": "4",
        "DOCKYARD_MAX_REQUEST_WAIT_TIME_MS": "500",
        "DOCKYARD_MAX_REQUEST_BODY_BYTES": "2048",
        "DOCKYARD_KEYS_FILE": str(keys),
        "DOCKYARD_RUN_INLINE": "never",
        "DOCKYARD_DEBUG": "true",
    }
    s = load_settings([], env)
    assert (s.max_concurrent_requests, s.max_request_wait_time_ms, s.max_request_body_bytes) == (
        4,
        500,
        2048,
    )
    assert (s.keys_file, s.inline_mode, s.debug) == (str(keys), "never", True)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ([], {"SCORING_TIMEOUT_MS": "x"}, "SCORING_TIMEOUT_MS='x' is not a whole number"),
        ([], {"SCORING_TIMEOUT_MS": "0"}, "SCORING_TIMEOUT_MS='0' is out of range"),
        (["--port", "0"], {}, "--port='0' is out of range"),
        ([], {"WORKER_COUNT": "-1"}, "WORKER_COUNT='-1' is out of range"),
        ([], {"AZUREML_LOG_LEVEL": "chatty"}, "is not a log level"),
        ([], {"DOCKYARD_KEYS_FILE": "/nonexistent/keys.json"}, "does not exist"),
        ([], {"AZUREML_ENTRY_SCRIPT": "missing.py"}, "missing.py does not exist"),
        ([], {"AZUREML_DEBUG_PORT": "x"}, "AZUREML_DEBUG_PORT"),
    ],
)
def test_errors_name_the_setting(
    root: Path, argv: list[str], env: dict[str, str], message: str
) -> None:
    env = {"AML_APP_ROOT": str(root), "AZUREML_ENTRY_SCRIPT": "score.py", **env}
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_settings(argv, env)


def test_no_entry_script_and_no_main_py(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no entry script"):
        load_settings([], {"AML_APP_ROOT": str(tmp_path)})


def test_server_version_header_can_be_turned_off(root: Path) -> None:
    env = {
        "AML_APP_ROOT": str(root),
        "AZUREML_ENTRY_SCRIPT": "score.py",
        "SERVER_VERSION_LOG_RESPONSE_ENABLED": "false",
    }
    assert load_settings([], env).server_version_header is None


@pytest.mark.parametrize("value", ["5678", "0.0.0.0:5678", "localhost:1"])
def test_debugpy_listen_values(root: Path, value: str) -> None:
    env = {"AML_APP_ROOT": str(root), "DOCKYARD_DEBUGPY_LISTEN": value}
    assert load_settings(["--entry-script", str(root / "score.py")], env).debugpy_listen == value


@pytest.mark.parametrize("value", ["abc", "0.0.0.0:", "host:99999", "5678:"])
def test_bad_debugpy_listen_is_a_settings_error(root: Path, value: str) -> None:
    env = {"AML_APP_ROOT": str(root), "DOCKYARD_DEBUGPY_LISTEN": value}
    with pytest.raises(SettingsError, match="DOCKYARD_DEBUGPY_LISTEN=.* is not HOST:PORT or PORT"):
        load_settings(["--entry-script", str(root / "score.py")], env)
