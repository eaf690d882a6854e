"""Every hint the CLI shows is a flag or a command that works in the CLI (issue 9, items 11, 12).

Each test triggers an error through the CLI as a user would, checks that the hint names the CLI's
flag or command (and no Python call), then runs what the hint says and checks that it works.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli.conftest import LONG_MODEL, SCORE, Result, cli
from tests.integration.docker.conftest import (  # noqa: F401 - fixtures used by name
    base_image,
    docker_client,
)

pytestmark = pytest.mark.slow

#: What advice for Python callers looks like.
PYTHON = re.compile(r"\w+=(True|False|\.\.\.)|service\.\w+\(|Model\.\w+\(|ws\.\w+\(|Workspace\.")


def hint_of(result: Result) -> str:
    """The error's "What to do" text (all of them, for an error that wraps another)."""
    assert result.code != 0, result.stdout
    assert "\ndockyard: error: " in f"\n{result.stderr}", result.stderr
    assert not PYTHON.search(result.stderr), result.stderr
    hints = re.findall(r"What to do: (.*)", result.stderr)
    assert hints, result.stderr
    return "\n".join(hints)


def command_in(text: str, start: str) -> list[str]:
    """The first `dockyard ...` command in ``text`` that starts with ``start``, as argv."""
    for found in re.findall(r"`dockyard ([^`]+)`", text):
        if found.startswith(start):
            return shlex.split(found)
    raise AssertionError(f"no `dockyard {start}...` in: {text}")


@pytest.fixture
def w(ws: Any) -> list[str]:
    return ["--workspace", str(ws.path)]


@pytest.fixture
def model_id(ws: Any, project: Path, w: list[str]) -> str:
    done = cli("model", "register", str(project / "model.txt"), "--name", LONG_MODEL, *w)
    assert done.code == 0, done.stderr
    return f"{LONG_MODEL}:1"


def deploy_args(name: str, model_id: str, project: Path, *extra: str) -> list[str]:
    return ["model", "deploy", "--name", name, "-m", model_id, "--entry-script", "score.py",
            "--source-directory", str(project / "src"), *extra]  # fmt: skip


def test_keys_of_a_service_without_auth_hint_a_deploy_that_gives_keys(
    w: list[str], model_id: str, project: Path, tmp_path: Path, services: list[str]
) -> None:
    services.append("hint-keys")
    assert cli(*deploy_args("hint-keys", model_id, project), *w).code == 0
    hint = hint_of(cli("service", "keys", "hint-keys", *w))
    assert '{"authEnabled": true}' in hint
    argv = command_in(hint, "model deploy --name hint-keys")
    assert argv[argv.index("--dc") + 1] == "deploymentconfig.json" and "--overwrite" in argv

    # Run it: the "..." are the flags the service was deployed with.
    (tmp_path / "deploymentconfig.json").write_text(json.dumps({"authEnabled": True}))
    fixed = [a for a in argv if a != "..."]
    fixed[fixed.index("--dc") + 1] = str(tmp_path / "deploymentconfig.json")
    rest = [
        "-m",
        model_id,
        "--entry-script",
        "score.py",
        "--source-directory",
        str(project / "src"),
    ]
    done = cli(*fixed, *rest, *w)
    assert done.code == 0, done.stderr
    keys = cli("service", "keys", "hint-keys", "--output", "json", *w)
    assert keys.code == 0 and json.loads(keys.stdout)["primaryKey"]


def test_download_into_a_full_folder_hints_exist_ok(
    w: list[str], model_id: str, tmp_path: Path
) -> None:
    target = ["--target", str(tmp_path / "dl")]
    assert cli("model", "download", model_id, *target, *w).code == 0
    hint = hint_of(cli("model", "download", model_id, *target, *w))
    assert "--exist-ok" in hint and "exist_ok" not in hint
    assert cli("model", "download", model_id, *target, "--exist-ok", *w).code == 0


def test_creating_an_existing_workspace_hints_leaving_out_no_exist_ok(tmp_path: Path) -> None:
    args = ["workspace", "create", "twice", "--path", str(tmp_path / "twice")]
    assert cli(*args).code == 0
    hint = hint_of(cli(*args, "--no-exist-ok"))
    assert "Leave out --no-exist-ok" in hint
    assert cli(*args).code == 0


def test_a_framework_version_alone_hints_the_framework_flag(w: list[str], project: Path) -> None:
    args = ["model", "register", str(project / "model.txt"), "--name", "fw"]
    hint = hint_of(cli(*args, "--framework-version", "1.0", *w))
    assert "--framework ScikitLearn" in hint
    done = cli(*args, "--framework-version", "1.0", "--framework", "ScikitLearn", *w)
    assert done.code == 0, done.stderr


def test_a_missing_model_hints_model_list(w: list[str], model_id: str) -> None:
    hint = hint_of(cli("model", "show", "no-such-model", *w))
    argv = command_in(hint, "model list")
    assert "Model.list" not in hint
    listed = cli(*argv, "--output", "json", *w)
    assert listed.code == 0 and [m["id"] for m in json.loads(listed.stdout)] == [model_id]


def test_a_wrong_entry_script_names_the_flags(
    w: list[str], model_id: str, project: Path, services: list[str]
) -> None:
    services.append("hint-script")
    failed = cli(*deploy_args("hint-script", model_id, project)[:-4], "--entry-script",
                 "src/score.py", "--source-directory", str(project / "src"), *w)  # fmt: skip
    assert "--entry-script 'src/score.py' does not exist" in failed.stderr
    assert "--entry-script is relative to --source-directory" in hint_of(failed)
    assert cli(*deploy_args("hint-script", model_id, project), *w).code == 0


def test_a_taken_port_hints_the_port_flag(
    w: list[str], model_id: str, project: Path, services: list[str]
) -> None:
    services.append("hint-port")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        hint = hint_of(cli(*deploy_args("hint-port", model_id, project, "--port", str(port)), *w))
        assert "--port" in hint and "deploy_configuration" not in hint
        done = cli(*deploy_args("hint-port", model_id, project), "--output", "json", *w)
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["port"] != port


def test_a_crashing_init_hints_logs_and_reload_which_work(
    w: list[str], model_id: str, project: Path, services: list[str]
) -> None:
    services.append("hint-crash")
    (project / "src" / "score.py").write_text(
        "def init():\n    raise RuntimeError('model file missing')\n\ndef run(data):\n    return data\n"
    )
    failed = cli(*deploy_args("hint-crash", model_id, project), *w)
    hint = hint_of(failed)
    assert "RuntimeError: model file missing" in failed.stderr
    # the traceback names the user's own file, not the deployment's copy under app-<hash>/
    script = (project / "src" / "score.py").resolve()
    assert f'File "{script}", line 2, in init' in failed.stderr, failed.stderr
    assert "/app-" not in failed.stderr.split("dockyard: error:")[1].split("What to do")[0]
    logs = cli(*command_in(hint, "service logs hint-crash"), *w)
    assert logs.code == 0 and "RuntimeError: model file missing" in logs.stdout
    (project / "src" / "score.py").write_text(SCORE)
    reload = cli(*command_in(hint, "service reload hint-crash"), "--output", "json", *w)
    assert reload.code == 0, reload.stderr
    assert json.loads(reload.stdout)["state"] == "Healthy"


def test_an_environment_failure_hints_the_deploy_command_that_works(
    w: list[str], model_id: str, project: Path, services: list[str]
) -> None:
    services.append("hint-env")
    (project / "src" / "env.yml").write_text(
        "name: bad\ndependencies:\n  - python=3.11\n  - pip:\n      - no-such-package-dockyard-xyz\n"
    )
    args = deploy_args("hint-env", model_id, project, "--conda-file", "env.yml")
    failed = cli(*args, *w)
    assert "no-such-package-dockyard-xyz" in failed.stderr
    again = command_in(hint_of(failed), "model deploy --name hint-env")
    assert again == [*args, *w, "--overwrite"]  # the user's own command, to run once fixed

    # run, start and logs of the failed service say what failed and lead to the same deploy.
    for argv in (["service", "run", "hint-env", "--data", '"x"'], ["service", "start", "hint-env"]):
        hint = hint_of(cli(*argv, *w))
        assert command_in(hint, "model deploy --name hint-env")[:4] == args[:4], hint
        assert "dockyard service start" not in hint
    logs = cli("service", "logs", "hint-env", *w)
    assert logs.code == 0 and "no-such-package-dockyard-xyz" in logs.stdout

    (project / "src" / "env.yml").write_text("name: good\ndependencies:\n  - python=3.11\n")
    fixed = [a for a in again if a not in ("--conda-file", "env.yml")]
    done = cli(*fixed, "--output", "json")
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "Healthy"


def test_a_failed_request_prints_its_id_and_the_logs_command_that_shows_its_traceback(
    w: list[str], model_id: str, project: Path, services: list[str]
) -> None:
    services.append("hint-request")
    assert cli(*deploy_args("hint-request", model_id, project), *w).code == 0
    failed = cli("service", "run", "hint-request", "--data", '"boom"', *w)
    ids = re.findall(r"^\s*Request id: (\S+)$", failed.stderr, re.M)
    assert len(ids) == 1, failed.stderr
    argv = command_in(hint_of(failed), "service logs hint-request")
    assert argv == ["service", "logs", "hint-request", "--request-id", ids[0]]
    logs = cli(*argv, *w)
    assert logs.code == 0
    assert "ValueError: the request asked for a failure" in logs.stdout
    assert all(ids[0] in line for line in logs.stdout.splitlines() if "rid=" in line)
    as_json = json.loads(cli(*argv, "--output", "json", *w).stdout)
    assert as_json["requestId"] == ids[0] and "ValueError" in as_json["logs"]


@pytest.mark.docker
def test_a_name_taken_by_another_target_hints_overwrite_and_delete(
    w: list[str], model_id: str, project: Path, tmp_path: Path, services: list[str],
    base_image: str,  # noqa: F811
) -> None:  # fmt: skip
    services.append("hint-taken")
    assert cli(*deploy_args("hint-taken", model_id, project), *w).code == 0
    (tmp_path / "aci.json").write_text(json.dumps({"computeType": "aci"}))
    hint = hint_of(
        cli(*deploy_args("hint-taken", model_id, project, "--dc", str(tmp_path / "aci.json")), *w)
    )
    assert "--overwrite" in hint
    deleted = cli(*command_in(hint, "service delete hint-taken"), *w)
    assert deleted.code == 0, deleted.stderr
    assert json.loads(cli("service", "list", "-o", "json", *w).stdout) == []


@pytest.mark.docker
def test_reload_of_a_container_service_hints_update_which_works(
    w: list[str], model_id: str, project: Path, tmp_path: Path, services: list[str],
    base_image: str,  # noqa: F811
) -> None:  # fmt: skip
    services.append("hint-boxed")
    (tmp_path / "aci.json").write_text(json.dumps({"computeType": "aci"}))
    deployed = cli(
        *deploy_args("hint-boxed", model_id, project, "--dc", str(tmp_path / "aci.json")),
        *w,
        timeout=600,
    )
    assert deployed.code == 0, deployed.stderr
    hint = hint_of(cli("service", "reload", "hint-boxed", *w))
    argv = command_in(hint, "service update hint-boxed")
    assert argv == ["service", "update", "hint-boxed", "--ic", "inferenceconfig.json"]
    (project / "src" / "score.py").write_text(SCORE.replace('{"echo": data}', '{"echo2": data}'))
    (tmp_path / "inferenceconfig.json").write_text(
        json.dumps({"entryScript": "score.py", "sourceDirectory": str(project / "src")})
    )
    argv[-1] = str(tmp_path / "inferenceconfig.json")
    updated = cli(*argv, "--output", "json", *w, timeout=600)
    assert updated.code == 0, updated.stderr
    assert json.loads(updated.stdout)["state"] == "Healthy"
    ran = cli("service", "run", "hint-boxed", "--data", '"x"', *w)
    assert json.loads(ran.stdout) == {"echo2": "x"}


def test_a_deploy_that_outlasts_its_timeout_says_so_and_hints_service_show(
    w: list[str], model_id: str, project: Path, services: list[str]
) -> None:
    services.append("hint-slow")
    (project / "src" / "score.py").write_text(
        "import time\n\ndef init():\n    time.sleep(8)\n\ndef run(data):\n    return data\n"
    )
    started = time.monotonic()
    failed = cli(*deploy_args("hint-slow", model_id, project, "--timeout", "2"), *w)
    assert time.monotonic() - started < 30  # bounded by --timeout, not by init()
    assert "is still Transitioning after 2 s" in failed.stderr, failed.stderr
    shown = cli(*command_in(hint_of(failed), "service show hint-slow"), "-o", "json", *w)
    assert shown.code == 0 and json.loads(shown.stdout)["state"] in ("Transitioning", "Healthy")


def test_a_bad_setting_in_the_dc_file_says_to_fix_the_file(
    w: list[str], model_id: str, project: Path, tmp_path: Path, services: list[str]
) -> None:
    services.append("hint-dc")
    dc = tmp_path / "deploymentconfig.json"
    dc.write_text(json.dumps({"computeType": "local", "scoringTimeoutMs": -1}))
    args = deploy_args("hint-dc", model_id, project, "--dc", str(dc))
    failed = cli(*args, *w)
    assert "scoring_timeout_ms: Input should be greater than 0" in failed.stderr
    assert "fix that setting in the --dc file" in hint_of(failed)
    dc.write_text(json.dumps({"computeType": "local", "scoringTimeoutMs": 5000}))
    assert cli(*args, *w).code == 0
    shown = json.loads(cli("service", "show", "hint-dc", "-o", "json", *w).stdout)
    assert shown["deploymentConfig"]["scoringTimeoutMs"] == 5000
    assert (
        cli(*deploy_args("hint-dc", model_id, project, "--port", "0"), *w).code == 2
    )  # no traceback
