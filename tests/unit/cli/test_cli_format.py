"""The CLI's output rules and its translation of SDK advice (issue 9, items 10, 11, 13).

* JSON keys are camelCase at every level; user data (tags, variables) keeps its keys.
* Tables never cut a value: columns when everything fits the width, else ``key: value`` blocks.
* Every hint the SDK gives reads, at the CLI, as a flag or a command (no Python calls).
"""

from __future__ import annotations

import ast
import re
import types
from pathlib import Path

import pytest

from dockyard.cli import advice, common
from dockyard.errors import DockyardError
from dockyard.webservice.base import Webservice

SRC = Path(__file__).resolve().parents[3] / "src" / "dockyard"


# --- JSON ---------------------------------------------------------------------------------------
def test_json_keys_are_camel_case_at_every_level_and_user_keys_are_kept() -> None:
    data = {
        "name": "svc",
        "created_at": "2026-01-01T00:00:00+00:00",
        "deploymentConfig": {"scoring_timeout_ms": 60000, "environment_variables": {"MY_VAR": "1"}},
        "tags": {"my_tag": "x"},
        "files": [{"file_count": 1}],
    }
    out = common.to_json(data)
    assert out == {
        "name": "svc",
        "createdAt": "2026-01-01T00:00:00+00:00",
        "deploymentConfig": {"scoringTimeoutMs": 60000, "environmentVariables": {"MY_VAR": "1"}},
        "tags": {"my_tag": "x"},
        "files": [{"fileCount": 1}],
    }


# --- tables for people --------------------------------------------------------------------------
URI = "http://127.0.0.1:46499/score"
MODEL = "a-model-with-a-rather-long-name-for-the-test:12"


def test_rows_that_fit_are_columns_with_every_value_whole(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    common.emit(common.Output.table, [{"name": "svc", "scoringUri": URI, "models": [MODEL]}])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "scoringUri", "models"]
    assert lines[1].split() == ["svc", URI, MODEL]


def test_rows_too_wide_for_80_columns_become_key_value_blocks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    rows = [
        {"name": "svc-a", "scoringUri": URI, "models": [MODEL]},
        {"name": "svc-b", "scoringUri": URI.replace("46499", "46500"), "models": [MODEL, MODEL]},
    ]
    common.emit(common.Output.table, rows)
    out = capsys.readouterr().out
    assert "…" not in out
    blocks = out.split("\n\n")
    assert len(blocks) == 2
    assert re.search(rf"^scoringUri: +{re.escape(URI)}$", blocks[0], re.M)
    assert re.search(rf"^models: +{re.escape(MODEL)}, {re.escape(MODEL)}$", blocks[1], re.M)


def test_pairs_never_break_a_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    path = "/tmp/" + "/".join(["a-rather-long-folder-name"] * 6) + "/build.log"
    common.emit(
        common.Output.table,
        {"imageBuildLogUri": f"file://{path}", "size": 763_700_000, "log": "line 1\nline 2"},
        human=lambda d: {**d, "size": common.human_size(d["size"])},
    )
    out = capsys.readouterr().out
    assert f"imageBuildLogUri: file://{path}\n" in out
    assert re.search(r"^size: +763\.7 MB$", out, re.M)
    assert "log:\n  line 1\n  line 2\n" in out


def test_sizes_and_times_for_people() -> None:
    assert common.human_size(2) == "2 B"
    assert common.human_size(146_008_967) == "146.0 MB"
    assert common.human_size(None) is None
    assert common.human_time("2026-11-30T05:53:45.429129+00:00") == "2026-11-30 05:53:45 UTC"
    assert common.human_time("not a time") == "not a time"


# --- SDK advice in the CLI's words --------------------------------------------------------------
#: SDK hints that no CLI command can trigger (the CLI never passes these arguments), with why;
#: keyed by file name (not folder, so that moving a module keeps its entry) and a part of the text.
SDK_ONLY = {
    ("_env_registry.py", "Workspace.from_config()"): "the CLI always passes a Workspace",
    ("_image_build.py", "enable_gpu"): "no --enable-gpu flag",
    ("_image_package.py", ""): "Model.package has no CLI command",
    ("image_config.py", "enable_gpu"): "no --enable-gpu flag",
    ("image_config.py", "InferenceConfig(entry_script="): "the CLI passes an InferenceConfig",
    ("_model_path.py", "_workspace=ws"): "get_model_path runs inside score.py",
    ("filters.py", "Model.list(ws"): "the CLI builds the filters from --tag K=V",
    ("conda.py", "set_python_version()"): "the CondaDependencies API; the CLI reads files",
    ("conda.py", "set_pip_option()"): "the CondaDependencies API",
    ("conda.py", "remove_pip_option()"): "the CondaDependencies API",
    ("conda.py", "add_pip_package()"): "the CondaDependencies API",
    ("conda.py", "cd.save("): "the CondaDependencies API",
    ("environment.py", "env.serialize()"): "Environment.load_from_directory",
    ("environment.py", "overwrite=True"): "Environment.save_to_directory",
    ("image.py", "ContainerImage.image_configuration"): "the CLI builds the config",
    ("inference.py", "Environment.from_conda_specification"): "the CLI passes no object",
    ("inference.py", "workspace=ws"): "the CLI passes the workspace",
    ("model.py", "Model.serialize()"): "Model.deserialize",
    ("model.py", "Model(ws, name)"): "the CLI resolves NAME:VERSION itself",
    ("dockerfile.py", "runtime_wheel"): "an internal argument",
    ("envs.py", "build_hash"): "an internal spec",
    ("wheelhouse.py", "ca_bundle"): "an internal setting",
    ("wheelhouse.py", "python_deps"): "no CLI flag: the default is used",
    ("deployment.py", "Model(ws, name)"): "the CLI resolves NAME:VERSION itself",
    ("deployment.py", "deploy_configuration(port=8890)"): "the CLI builds the config",
    ("services.py", "Webservice.deploy_from_image"): "the CLI always gives an image finder",
}

#: What Python advice looks like: a call, a keyword argument, ``ws``, a snake_case parameter.
PYTHON_ADVICE = re.compile(
    r"\b(?!init\(\)|run\(\))[A-Za-z_][\w.]*\([^)]*\)"
    r"|\b\w+=(True|False|\.\.\.|')|\bws\b|\b[a-z]+_[a-z_]+\b"
)


def _text(node: ast.expr) -> str | None:
    """A hint's text; f-string fields become X."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "X" for v in node.values)
    if isinstance(node, ast.BinOp):
        left, right = _text(node.left), _text(node.right)
        return None if left is None or right is None else left + right
    return None


def _sdk_hints() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(("server/", "cli/")):
            continue  # the server's own settings; the CLI writes CLI advice itself
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    text = _text(keyword.value) if keyword.arg == "hint" else None
                    if text is not None:
                        found.append((relative, keyword.value.lineno, text))
    return found


def test_every_sdk_hint_reads_as_cli_flags_and_commands() -> None:
    """A new SDK hint with Python advice fails here: add its CLI form to cli/common.py's
    table (or, if no CLI command can trigger it, to SDK_ONLY with the reason)."""
    hints = _sdk_hints()
    assert len(hints) > 100  # the scan found the SDK's hints
    python_left = []
    for argv in (["model", "deploy"], ["model", "deploy", "--ic", "ic.json"], ["service", "run"]):
        common.reset_state(argv)
        common.set_context(service="svc", image="img:1")
        for relative, line, text in hints:
            if any(
                Path(relative).name == file and part in text for (file, part) in SDK_ONLY
            ):  # pragma: no cover - depends on the SDK's text
                continue
            cli = advice.cli_advice(text)
            if argv[:2] != ["model", "deploy"]:  # parameter names are flags only where they exist
                cli = re.sub(r"\b(entry_script|source_directory|conda_file)\b", "", cli)
            if PYTHON_ADVICE.search(cli.replace('{"workspace_name": "NAME"}', "")):
                python_left.append(f"{relative}:{line} ({' '.join(argv)}): {cli}")
    assert not python_left, "\n".join(python_left)


def _cli_text(exc: DockyardError, *argv: str, service: str = "svc") -> str:
    common.reset_state(argv)
    common.set_context(service=service)
    return advice.render_error(exc)


def _raised(call) -> DockyardError:  # type: ignore[no-untyped-def]
    with pytest.raises(DockyardError) as caught:
        call()
    return caught.value


def test_reload_of_a_container_service_names_service_update(tmp_path: Path) -> None:
    from dockyard import Workspace
    from dockyard.ops import records

    ws = Workspace.create("cli-format", path=str(tmp_path / "ws"), exist_ok=True)
    config = {"target": "docker", "cpu_cores": 0.1, "memory_gb": 0.5}
    records.save(ws, records.ServiceRecord(
        name="boxed", target="docker", state="Healthy", error=None, spec={"config": config},
        runtime={"service_dir": str(tmp_path / "boxed")}, model_ids=[], restart_count=0))  # fmt: skip
    service = Webservice(ws, "boxed")
    text = _cli_text(_raised(service.reload), "service", "reload", service="boxed")
    assert "`dockyard service reload` works for local services only" in text
    assert "`dockyard service update boxed --ic inferenceconfig.json`" in text
    assert "service.update(" not in text and "inference_config=" not in text


def test_keys_of_a_service_without_auth_name_the_deploy_command() -> None:
    stub = types.SimpleNamespace(name="open", auth_enabled=False)
    error = _raised(lambda: Webservice._require_auth(stub))
    text = _cli_text(error, "service", "keys", "open", service="open")
    assert "`dockyard model deploy --name open ... --dc deploymentconfig.json --overwrite`" in text
    assert '{"authEnabled": true}' in text and "deploy_configuration" not in text


def test_a_cli_hint_replaces_the_sdk_hint_and_notes_follow_the_message() -> None:
    error = DockyardError("Received bad response from service 'svc'", hint="read the logs")
    error.add_note("Request id: 1234")
    error.cli_hint = "`dockyard service logs svc --request-id 1234`"  # type: ignore[attr-defined]
    text = _cli_text(error, "service", "run", "svc")
    assert text.splitlines() == [
        "Received bad response from service 'svc'",
        "  Request id: 1234",
        "  What to do: `dockyard service logs svc --request-id 1234`",
    ]
    assert error.hint == "read the logs"  # the SDK object is left as it was


def test_parameter_names_become_flags_only_in_commands_that_have_them() -> None:
    error = DockyardError("entry_script 'x.py' does not exist", hint="entry_script is relative")
    assert "--entry-script 'x.py'" in _cli_text(error, "model", "deploy")
    assert "entryScript (in the --ic file)" in _cli_text(error, "model", "deploy", "--ic", "f")
    assert "entry_script 'x.py'" in _cli_text(error, "service", "show", "x")


def test_keys_given_in_a_deployment_config_are_hidden_from_service_show() -> None:
    from dockyard.cli.service import _hide_keys

    data = {"name": "svc", "deploymentConfig": {"primary_key": "s3cret", "secondary_key": None}}
    shown = _hide_keys(data, "svc")
    assert shown["deploymentConfig"]["primary_key"] == "(hidden: `dockyard service keys svc`)"
    assert shown["deploymentConfig"]["secondary_key"] is None
    assert "s3cret" not in str(common.to_json(shown))
