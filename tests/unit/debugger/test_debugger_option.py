"""The debugger option as data: configuration, what it hands the server, the launch.json entry's
path mappings, the server's settings (one worker) and the cluster's refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import ValidationError, WebserviceError
from dockyard.ops import debugger
from dockyard.ops.records import ServiceRecord
from dockyard.server.settings import load_settings
from dockyard.webservice import AciWebservice, AksWebservice, LocalWebservice
from dockyard.webservice.config_file import config_from_file


def test_off_by_default_and_not_the_same_as_debug() -> None:
    config = LocalWebservice.deploy_configuration(debug=True)
    assert config.debugger_port is None
    settings = config.to_settings()
    assert "DOCKYARD_DEBUGPY_LISTEN" not in settings.server_env
    assert settings.server_env["DOCKYARD_DEBUG"] == "1"


def test_the_option_sets_the_servers_variables_and_one_worker() -> None:
    config = LocalWebservice.deploy_configuration(debugger_port=5680, worker_count=3)
    settings = config.to_settings()
    assert settings.server_env["DOCKYARD_DEBUGPY_LISTEN"] == "127.0.0.1:5680"
    assert settings.server_env["DOCKYARD_DEBUGPY_WAIT_S"] == "30"
    assert settings.worker_count == 1
    assert debugger.port_of(settings) == 5680
    aci = AciWebservice.deploy_configuration(debugger_port=5678, debugger_wait_s=5)
    assert aci.to_settings().server_env["DOCKYARD_DEBUGPY_WAIT_S"] == "5"


def test_bad_values_are_refused_naming_the_setting() -> None:
    with pytest.raises(ValidationError) as caught:
        LocalWebservice.deploy_configuration(debugger_port=70000)
    assert "debugger_port" in caught.value.message


def test_the_cluster_configuration_keeps_the_debugger_as_server_variables() -> None:
    config = AksWebservice.deploy_configuration(debugger_port=5690, debugger_wait_s=4)
    assert config.debugger == 5690
    settings = config.to_settings()
    assert settings.server_env["DOCKYARD_DEBUGPY_LISTEN"] == "127.0.0.1:5690"
    assert settings.server_env["DOCKYARD_DEBUGPY_WAIT_S"] == "4"
    assert AksWebservice.deploy_configuration().debugger is None
    with pytest.raises(ValidationError) as caught:
        AksWebservice.deploy_configuration(debugger_port=0)
    assert "debugger_port=0 is not a TCP port" in caught.value.message


def test_with_debugger_turns_it_on_for_every_target() -> None:
    local = LocalWebservice.deploy_configuration(port=8890).with_debugger(5678, 3)
    assert (local.port, local.debugger_port, local.debugger_wait_s) == (8890, 5678, 3)  # type: ignore[attr-defined]
    cluster = AksWebservice.deploy_configuration(num_replicas=1).with_debugger(5679)
    assert cluster.debugger == 5679
    assert cluster.to_settings().server_env["DOCKYARD_DEBUGPY_WAIT_S"] == "30"


def test_v1_deployment_config_file_keys(tmp_path: Path) -> None:
    path = tmp_path / "dc.json"
    path.write_text('{"computeType": "aci", "debuggerPort": 5679, "debuggerWaitSeconds": 12}')
    config = config_from_file(path)
    assert (config.debugger_port, config.debugger_wait_s) == (5679, 12)  # type: ignore[attr-defined]


def test_path_mappings_follow_the_app_root_layout() -> None:
    assert debugger.path_mappings("/p/src/score.py", "/p/src", "/var/azureml-app") == [
        {"localRoot": "/p/src", "remoteRoot": "/var/azureml-app/src"}
    ]
    assert debugger.path_mappings("/p/score.py", None, "/svc/app/") == [
        {"localRoot": "/p", "remoteRoot": "/svc/app"}
    ]


def _record(runtime: dict[str, object], config: dict[str, object]) -> ServiceRecord:
    return ServiceRecord(
        name="svc", target="local", state="Healthy", error=None,
        spec={"config": config, "inference": {"entryScript": "/p/score.py", "sourceDirectory": None}},
        runtime=runtime, model_ids=[], restart_count=0,
    )  # fmt: skip


def test_launch_config_and_the_error_without_a_debugger() -> None:
    info = {"host": "127.0.0.1", "port": 5678, "appRoot": "/svc/app", "waitSeconds": 30.0}
    entry = debugger.launch_config(_record({"debugger": info}, {}))
    assert entry["connect"] == {"host": "127.0.0.1", "port": 5678}
    assert entry["pathMappings"] == [{"localRoot": "/p", "remoteRoot": "/svc/app"}]
    with pytest.raises(WebserviceError) as caught:
        debugger.launch_config(_record({}, {"debug": True}))
    assert "debug=True, which only puts error details" in caught.value.message
    assert "--debugger" in str(caught.value.hint)


def test_the_server_runs_one_worker_with_a_debugger_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "score.py").write_text("def init(): pass\ndef run(d): return d\n")
    env = {"AML_APP_ROOT": str(tmp_path), "AZUREML_ENTRY_SCRIPT": "score.py"}
    assert load_settings([], {**env, "WORKER_COUNT": "3"}).workers == 3
    settings = load_settings([], {**env, "WORKER_COUNT": "3", "DOCKYARD_DEBUGPY_LISTEN": "5678"})
    assert settings.workers == 1
    assert any("ONE worker instead of 3" in w for w in settings.config_warnings)
    zero = load_settings([], {**env, "DOCKYARD_DEBUGPY_WAIT_S": "0"})
    assert zero.debugpy_wait_s == 0
