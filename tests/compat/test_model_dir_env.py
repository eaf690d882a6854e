"""AZUREML_MODEL_DIR and the other variables reach the script as they were given (issue 9, item 2).

Azure ML v1 starts the server in the app root with ``AZUREML_MODEL_DIR=azureml-models/<name>/<version>``
(``azureml-models`` for several models) and ``AZUREML_ENTRY_SCRIPT`` relative to the app root;
azmlinfsrv passes both on unchanged, and MLOpsPython's score.py takes
``AZUREML_MODEL_DIR.split('/')[1]`` as the model name. The scripts run in copies of one app root,
so paths under it are compared relative to it (see ``scripts/model_dir_env.py``).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from .compare import Answer, assert_same
from .conftest import PairPool, prepare_app_root
from .oracle import GUNICORN_LOCALHOST_CONFIG, ensure_oracle_venv
from .servers import DOCKYARD_PYTHON, HOST, Server, free_port, server_env

pytestmark = pytest.mark.oracle

FILES = {
    "azureml-models/diabetes/1/model.pkl": "version 1",
    "azureml-models/diabetes/2/model.pkl": "version 2",
    "azureml-models/other/5/other.pkl": "other",
}


@pytest.mark.parametrize(
    "model_dir",
    ["azureml-models/diabetes/2", "./azureml-models/diabetes/2", "azureml-models/diabetes/2/"],
)
def test_relative_model_dir_reaches_the_script_unchanged(pool: PairPool, model_dir: str) -> None:
    pair = pool.get(
        "model_dir_env",
        env={"AZUREML_MODEL_DIR": model_dir, "WORKER_COUNT": "1"},
        files=FILES,
        model=False,
    )
    oracle = pair.check("POST", "/score", content=b"{}")
    if model_dir.startswith("./"):
        # split('/')[1] is "azureml-models": get_model_path falls back to that folder of the
        # cwd and run() cannot open it, in both servers alike
        assert oracle.status == 500
        return
    body = json.loads(oracle.body)
    assert body["AZUREML_MODEL_DIR"] == model_dir
    assert body["model_name"] == "diabetes"
    assert body["model_path"] == "<app_root>/azureml-models/diabetes/2/model.pkl"
    assert body["model_content"] == "version 2" and body["model_dir_exists"] is True
    assert body["SCORING_TIMEOUT_MS"] is None  # azmlinfsrv does not export its default


def _start(kind: str, app_root: Path, argv: list[str], env: dict[str, str], log: Path) -> Server:
    import subprocess

    port = free_port()
    full_env = server_env(env)
    if kind == "oracle":
        cmd = [str(ensure_oracle_venv()), *argv, "--port", str(port)]
        full_env["GUNICORN_CMD_ARGS"] = f"--config {GUNICORN_LOCALHOST_CONFIG}"
    else:
        cmd = [str(DOCKYARD_PYTHON), "-m", "dockyard.server", *argv, "--host", HOST]
        cmd += ["--port", str(port)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=app_root,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(kind, cmd, port, log, proc, time.monotonic(), env)


def test_entry_script_from_the_environment_stays_relative(pool: PairPool, tmp_path: Path) -> None:
    """No --entry-script (azmlinfsrv then needs --config_file): AZUREML_ENTRY_SCRIPT as Azure ML
    sets it, relative to the app root, reaches the script unchanged; --config_file is exported
    as a real path."""
    env = {"AZUREML_ENTRY_SCRIPT": "src/score.py", "AZUREML_MODEL_DIR": "azureml-models/other/5"}
    servers: list[Server] = []
    try:
        for kind in ("oracle", pool.second_kind):
            root = tmp_path / kind
            prepare_app_root(root, "model_dir_env", FILES, None)
            (root / "src").mkdir()
            (root / "score.py").rename(root / "src" / "score.py")
            (root / "config.json").write_text(json.dumps({"SERVICE_NAME": "envs"}))
            argv = ["--config_file", "config.json"]
            servers.append(_start(kind, root, argv, env, tmp_path / f"{kind}.log"))
        for server in servers:
            server.wait_ready()
        answers = []
        for server in servers:
            response = httpx.post(server.base_url + "/score", content=b"{}", timeout=30.0)
            answers.append(Answer.of(response))
        assert_same(answers[0], answers[1], "POST /score")
        body = json.loads(answers[0].body)
        assert body["AZUREML_ENTRY_SCRIPT"] == "src/score.py"
        assert body["AZUREML_CONFIG_FILE"] == "<app_root>/config.json"
        assert (body["model_name"], body["model_content"]) == ("other", "other")
        assert body["WORKER_COUNT"] == "1"
    finally:
        for server in servers:
            server.stop()


@pytest.mark.slow
def test_failed_init_lists_a_relative_model_dir(pool: PairPool) -> None:
    """init() fails: both servers name the relative path the script used and list the folder
    (the server resolves the value under the app root for its own listing)."""
    env = {"AZUREML_MODEL_DIR": "azureml-models/diabetes/1"}
    servers = [
        pool.start_one(kind, "init_error", env=env, files=FILES, model=False)
        for kind in ("oracle", pool.second_kind)
    ]
    try:
        codes = [server.wait_exit(timeout=90) for server in servers]
    finally:
        for server in servers:
            server.stop()
    logs = [server.log() for server in servers]
    assert codes == [3, 3], logs[1][-3000:]
    for log in logs:
        assert "'azureml-models/diabetes/1/missing-model.pkl'" in log, log[-3000:]
        assert "Model Directory Contents:" in log, log[-3000:]
        assert re.search(r"\s{5}model\.pkl$", log, re.M), log[-3000:]
