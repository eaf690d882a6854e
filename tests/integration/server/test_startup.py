"""Start-up: exit code 3 and the log for import/init() failures, 2 for bad settings, workers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import free_port


def test_init_failure_exits_3_with_traceback_and_model_listing(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        """
        def init():
            raise RuntimeError("model missing")
        def run(data):
            return data
        """,
        args=["--model-dir", "models"],
        files={"models/m/1/model.pkl": "x"},
    )
    assert server.exit_code == 3
    log = server.log()
    assert "User's init function failed" in log
    assert 'raise RuntimeError("model missing")' in log
    assert "RuntimeError: model missing" in log
    assert "Model Directory Contents:" in log
    assert "        1/" in log and "            model.pkl" in log


def test_import_failure_exits_3(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server("import nonexistent_mod\n")
    assert server.exit_code == 3
    log = server.log()
    assert "ModuleNotFoundError: No module named 'nonexistent_mod'" in log
    assert "Failed to import the entry script" in log


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("def init(): pass\n", "does not have a run() function defined."),
        ("def run(data): pass\n", "does not have a init() function defined."),
        (
            "def init(): pass\ndef run(*args): pass\n",
            "run() cannot accept positional-only arguments, *args, or **kwargs.",
        ),
        (
            "def init(): pass\ndef run(): pass\n",
            "run() needs to accept an argument for input data.",
        ),
        (
            "def init(): pass\ndef run(request_headers): pass\n",
            'run() needs to accept an argument other than "request_headers".',
        ),
    ],
)
def test_bad_scripts_exit_3(start_server, script: str, message: str) -> None:  # type: ignore[no-untyped-def]
    server = start_server(script)
    assert server.exit_code == 3
    assert message in server.log()


@pytest.mark.parametrize(
    ("env", "args", "needle"),
    [
        ({"SCORING_TIMEOUT_MS": "soon"}, [], "SCORING_TIMEOUT_MS='soon' is not a whole number"),
        ({"WORKER_COUNT": "0"}, [], "WORKER_COUNT='0' is out of range"),
        ({}, ["--port", "70000"], "--port='70000' is out of range"),
        ({"AZUREML_LOG_LEVEL": "LOUD"}, [], "AZUREML_LOG_LEVEL='LOUD' is not a log level"),
        ({"DOCKYARD_RUN_INLINE": "maybe"}, [], "DOCKYARD_RUN_INLINE"),
    ],
)
def test_bad_settings_exit_2_with_one_line(
    start_server, env: dict[str, str], args: list[str], needle: str
) -> None:  # type: ignore[no-untyped-def]
    server = start_server("def init(): pass\ndef run(d): return d\n", env=env, args=args)
    assert server.exit_code == 2
    lines = [line for line in server.log().splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], lines


def test_missing_entry_script_is_a_bad_setting(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dockyard.server",
            "--entry-script",
            "nope.py",
            "--port",
            str(free_port()),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "nope.py does not exist" in result.stderr


def test_main_py_fallback_and_env_entry_script(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(files={"main.py": "def init(): pass\ndef run(data): return 'main'\n"})
    assert server.post("/score", content="x").json() == "main"
    server = start_server(
        files={"src/score.py": "def init(): pass\ndef run(data): return 'src'\n"},
        env={"AZUREML_ENTRY_SCRIPT": "src/score.py"},
    )
    assert server.post("/score", content="x").json() == "src"


def test_two_workers_share_the_port(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        "import os\ndef init(): pass\ndef run(data): return os.getpid()\n", args=["--workers", "2"]
    )
    pids = set()
    deadline = time.monotonic() + 20
    while len(pids) < 2 and time.monotonic() < deadline:
        with httpx.Client(base_url=server.url) as client:  # a new connection each round
            pids.add(client.post("/score", content="x").json())
    assert len(pids) == 2
    assert server.log().count("ready for serving traffic") == 2
    assert server.stop() == 0


def test_worker_init_failure_stops_all_workers_with_3(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        "def init():\n    raise ValueError('nope')\ndef run(d): return d\n", args=["--workers", "2"]
    )
    assert server.exit_code == 3


def test_sigterm_stops_cleanly(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server("def init(): pass\ndef run(d): return d\n")
    assert server.post("/score", content="x").status_code == 200
    assert server.stop() == 0
    assert "POST /score 200" in server.log()  # access lines are flushed on the way out


def test_dockyard_serve_cli_runs_the_same_server(tmp_path: Path) -> None:
    (tmp_path / "score.py").write_text("def init(): pass\ndef run(d): return 'cli'\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "DOCKYARD_"))}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dockyard",
            "serve",
            "--entry_script",
            "score.py",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert httpx.post(f"http://127.0.0.1:{port}/score", content="x").json() == "cli"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize(
    ("script", "where"),
    [
        ("import time\ndef init():\n    time.sleep(60)\ndef run(d): return d\n", "time.sleep(60)"),
        ("import time\ntime.sleep(60)\ndef init(): pass\ndef run(d): return d\n", "time.sleep(60)"),
    ],
    ids=["slow-init", "slow-import"],
)
def test_startup_timeout_exits_3_naming_the_setting(start_server, script: str, where: str) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    server = start_server(script, env={"DOCKYARD_STARTUP_TIMEOUT_S": "1.5"})
    assert server.exit_code == 3
    assert time.monotonic() - started < 30  # not the 60 s the script would take
    log = server.log()
    assert (
        "Start-up timeout: import and init() did not finish within DOCKYARD_STARTUP_TIMEOUT_S=1.5 s; "
        "make init() faster, or raise or unset DOCKYARD_STARTUP_TIMEOUT_S"
    ) in log
    assert where in log  # the traceback shows where start-up was when it was stopped
    assert "Model Directory Contents" in log


@pytest.mark.parametrize("env", [{}, {"DOCKYARD_STARTUP_TIMEOUT_S": "60"}], ids=["default", "60s"])
def test_slow_init_within_the_startup_timeout_is_fine(start_server, env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        "import time\ndef init():\n    time.sleep(3)\ndef run(d): return 'loaded'\n", env=env
    )
    assert server.exit_code is None
    assert server.post("/score", content="x").json() == "loaded"
    done = re.search(r"Script loaded and init\(\) done in ([0-9.]+) s", server.log())
    assert done and float(done.group(1)) >= 3, server.log()
    assert server.stop() == 0


def test_bad_startup_timeout_is_a_bad_setting(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        "def init(): pass\ndef run(d): return d\n", env={"DOCKYARD_STARTUP_TIMEOUT_S": "soon"}
    )
    assert server.exit_code == 2
    assert "DOCKYARD_STARTUP_TIMEOUT_S='soon' is not a number" in server.log()
