"""Options and output helpers shared by every CLI noun.

Every command takes ``--workspace PATH`` (else the config lookup of ``Workspace.from_config``, else
the default workspace; a line on stderr says which one was used) and ``--output table|json``.

* ``--output json`` prints one JSON document on stdout. Keys are camelCase at every level (as
  Azure's ``serialize()`` names them); the keys inside user data (tags, properties, environment
  variables) are kept as given. Numbers are numbers (sizes in bytes). docs/cli.md lists them.
* Tables are for people, and never cut a value: a list is printed as aligned columns when it fits
  the terminal's width (``COLUMNS``, else 80 when the output is piped), else as ``key: value``
  blocks; a single object is always ``key: value`` lines. No value is truncated or wrapped by us.
* Errors are one message on stderr and a non-zero exit; ``--debug`` (global) adds the traceback.
  The SDK's advice is written for Python callers ("pass overwrite=True"); :func:`render_error`
  turns it into the CLI's flags and commands ("pass --overwrite").
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

err_console = Console(stderr=True)


class Output(StrEnum):
    table = "table"
    json = "json"


WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder. Default: the nearest .dockyard/config.json (or v1 .azureml/config.json), else the default workspace.",
        envvar="DOCKYARD_WORKSPACE",
    ),
]
OutputOpt = Annotated[
    Output, typer.Option("--output", "-o", help="table for people, json for scripts.")
]
#: How long a command waits for a service to become Healthy (the service keeps starting after).
DEFAULT_WAIT_SECONDS = 600.0
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        help="Seconds to wait for the service to become Healthy (it keeps starting after that; "
        "`dockyard service show NAME` shows its state).",
        min=1,
    ),
]

_state: dict[str, Any] = {"debug": False, "context": {}, "workspace_noted": False}


def reset_state(argv: Sequence[str] = ()) -> None:
    """Start a command afresh (the CLI may run several commands in one process, as tests do)."""
    _state.update(debug=False, context={"argv": list(argv)}, workspace_noted=False)


def app_callback(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    """Register models, build them into images, deploy them as web services."""
    _state["debug"] = debug or os.environ.get("DOCKYARD_DEBUG") == "1"


def debug_enabled() -> bool:
    return bool(_state["debug"])


def set_context(**values: Any) -> None:
    """Remember what the command works on (service, image), for the advice in error messages."""
    _state["context"].update({k: v for k, v in values.items() if v is not None})


def note(text: str) -> None:
    """A line for the person at the terminal, on stderr (stdout stays clean for --output json)."""
    sys.stderr.write(f"{text}\n")
    sys.stderr.flush()


# --- which workspace ----------------------------------------------------------------------------
def load_workspace(path: Path | None):  # type: ignore[no-untyped-def]
    """The workspace a command works on: --workspace, else the config lookup, else the default.

    When the workspace was not named (--workspace or DOCKYARD_WORKSPACE), a line on stderr says
    which one was used and why, so that nobody works in the default workspace by accident.
    """
    from dockyard.errors import (
        WorkspaceNotFoundError,
    )  # lazy: `dockyard --help` stays fast
    from dockyard.workspace import (
        DEFAULT_WORKSPACE,
        Workspace,
    )  # lazy: `dockyard --help` stays fast

    if path is not None:
        return Workspace.from_path(path)
    cwd = Path.cwd()
    found = Workspace.find_config(cwd)
    if found is not None:
        ws = Workspace.from_config(found)
        _note_workspace(f"Using workspace {ws.name!r} ({ws.path}) named by {found}")
        return ws
    try:
        Workspace.get(DEFAULT_WORKSPACE)  # only opens the folder: no database yet
        existed = True
    except WorkspaceNotFoundError:
        existed = False
    ws = Workspace.create(DEFAULT_WORKSPACE, exist_ok=True)
    _note_workspace(
        f"Using workspace {ws.name!r} ({ws.path}{'' if existed else ', created now'}): "
        f"no .dockyard/config.json found from {cwd} upward; pass --workspace PATH, or run "
        "`dockyard workspace create NAME --write-config` in your project folder"
    )
    return ws


def _note_workspace(text: str) -> None:
    if not _state["workspace_noted"]:
        _state["workspace_noted"] = True
        note(text)


# --- JSON ---------------------------------------------------------------------------------------
#: Keys whose values are user data: the keys inside them are printed as given.
OPAQUE_KEYS = frozenset(
    {"tags", "properties", "environmentVariables", "includedFiles", "condaDependencies"}
)


def camel(key: str) -> str:
    """``scoring_timeout_ms`` -> ``scoringTimeoutMs``; camelCase keys are kept."""
    if "_" not in key.strip("_"):
        return key
    head, *rest = key.strip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest if part)


def to_json(data: Any) -> Any:
    """``data`` with camelCase keys at every level (user data inside OPAQUE_KEYS kept as is)."""
    if isinstance(data, Mapping):
        result = {}
        for key, value in data.items():
            name = camel(str(key))
            result[name] = value if name in OPAQUE_KEYS else to_json(value)
        return result
    if isinstance(data, list | tuple):
        return [to_json(item) for item in data]
    return data


def print_json(data: Any) -> None:
    """One JSON document on stdout, exactly as given (no key conversion)."""
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def emit(
    output: Output,
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    human: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
) -> None:
    """Print ``data`` as JSON (camelCase keys) or, for people, as a table or key-value lines.

    ``human`` maps one item to what a person reads (e.g. sizes as "1.2 MB"); JSON gets the data.
    ``title`` names the items in the "(no ...)" line of an empty list.
    """
    data = to_json(data)
    if output == Output.json:
        print_json(data)
        return

    def for_people(item: Mapping[str, Any]) -> Mapping[str, Any]:
        shown = dict(human(item) if human else item)
        if "createdTime" in shown:
            shown["createdTime"] = human_time(shown["createdTime"])
        return shown

    if isinstance(data, Mapping):
        print_pairs(for_people(data))
        return
    rows = list(data) if isinstance(data, list | tuple) else [data]
    if not rows:
        typer.echo(f"(no {title or 'items'})")
        return
    if not isinstance(rows[0], Mapping):
        for row in rows:
            typer.echo(cell(row))
        return
    shown = [for_people(row) for row in rows]
    print_rows(shown, list(columns or shown[0].keys()))


# --- tables for people --------------------------------------------------------------------------
def terminal_width() -> int:
    """``COLUMNS`` when set, else the terminal's width, else 80 (piped output)."""
    return shutil.get_terminal_size((80, 24)).columns


def cell(value: Any) -> str:
    """A value on one line, in full."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "-"
    text = str(value)
    return text if text else "-"


def _width(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def print_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Aligned columns when every full value fits the width, else one ``key: value`` block per
    row. Values are never cut: identifiers, URIs and paths stay whole for copy and paste."""
    table = [[cell(row.get(col)) for col in columns] for row in rows]
    widths = [
        max(_width(col), *(_width(line[i]) for line in table)) for i, col in enumerate(columns)
    ]
    if sum(widths) + 2 * (len(columns) - 1) <= terminal_width():
        for line in [list(columns), *table]:
            padded = [text + " " * (widths[i] - _width(text)) for i, text in enumerate(line)]
            typer.echo("  ".join(padded).rstrip())
        return
    for index, row in enumerate(rows):
        if index:
            typer.echo("")
        print_pairs({col: row.get(col) for col in columns})


def print_pairs(data: Mapping[str, Any], indent: str = "") -> None:
    """``key: value`` lines (keys aligned). A value is never broken: a long one runs past the
    edge of the terminal instead; a multi-line one follows its key, indented; a nested object or a
    list of objects gets its own indented lines."""
    keys = [str(k) for k in data]
    pad = max((_width(k) for k in keys), default=0)
    for key, value in data.items():
        label = f"{indent}{key}:"
        if isinstance(value, Mapping) and value:
            typer.echo(label)
            print_pairs(value, indent + "  ")
        elif isinstance(value, list | tuple) and any(isinstance(v, Mapping) for v in value):
            typer.echo(label)
            for item in value:
                typer.echo(f"{indent}  - {cell(item)}")
        elif isinstance(value, str) and "\n" in value.rstrip("\n"):
            typer.echo(label)
            for line in value.rstrip("\n").splitlines():
                typer.echo(f"{indent}  {line}".rstrip())
        else:
            typer.echo(f"{label}{' ' * (pad - _width(str(key)))} {cell(value)}".rstrip())


def human_size(size: Any) -> Any:
    """Bytes as people read them (``763.7 MB``); other values unchanged."""
    if not isinstance(size, int | float) or isinstance(size, bool):
        return size
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return size  # pragma: no cover


def human_time(value: Any) -> Any:
    """An ISO 8601 time as ``2026-01-31 12:00:05 UTC`` (seconds); other values unchanged."""
    from datetime import datetime

    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    offset = moment.utcoffset()
    zone = "" if offset is None else " UTC" if not offset else moment.strftime(" %z")
    return moment.strftime("%Y-%m-%d %H:%M:%S") + zone


# --- errors: the SDK's advice in the CLI's words ------------------------------------------------
def render_error(exc: BaseException) -> str:
    """The text of an error as a CLI user should read it.

    A ``cli_hint`` attribute on the error (set by a command, or one day by the SDK) replaces its
    hint; then :func:`cli_advice` rewrites advice given for Python callers into flags and commands.
    Notes added with ``exc.add_note()`` (e.g. a request id) follow the message.
    """
    from dockyard import (
        DockyardError,
    )  # lazy: `dockyard --help` stays fast

    if not isinstance(exc, DockyardError):
        return str(exc)
    saved = exc.message, exc.hint
    hint = getattr(exc, "cli_hint", None) or exc.hint
    exc.message = cli_advice(exc.message)
    exc.hint = cli_advice(hint) if hint else hint
    try:
        text = str(exc)
    finally:
        exc.message, exc.hint = saved
    notes = [n for n in getattr(exc, "__notes__", ()) if n not in text]
    if notes:
        head, sep, rest = text.partition("\n  What to do:")
        text = head + "".join(f"\n  {n}" for n in notes) + sep + rest
    return text


def _ctx(key: str, default: str) -> str:
    value = _state["context"].get(key)
    return str(value) if value else default


def _argv() -> list[str]:
    return list(_state["context"].get("argv") or [])


def _command() -> str:
    """``noun verb`` of the command being run (e.g. ``model deploy``)."""
    words = [a for a in _argv() if not a.startswith("-")]
    return " ".join(words[:2])


#: Commands whose inference-config settings are flags (or keys of an --ic file).
_INFERENCE_COMMANDS = ("model deploy", "image create", "service update")


def _has_flag(*flags: str) -> bool:
    return any(a in flags or a.split("=", 1)[0] in flags for a in _argv())


def _uses_ic_file() -> bool:
    return any(a in ("--ic", "--inference-config") or a.startswith("--ic=") for a in _argv())


def _service_words() -> dict[str, str]:
    s = _ctx("service", "NAME")
    return {
        "logs": f"`dockyard service logs {s}`",
        "show": f"`dockyard service show {s}`",
        "reload": f"`dockyard service reload {s}`",
        "update": f"`dockyard service update {s} --ic inferenceconfig.json`",
        "update_any": f"`dockyard service update {s} [--model NAME:VERSION] [--ic inferenceconfig.json]`",
        "deploy": f"`dockyard model deploy --name {s} ... --overwrite`",
        "delete": f"`dockyard service delete {s}`",
        "start": f"`dockyard service start {s}`",
    }


Rule = tuple[str, Callable[[re.Match[str]], str]]

#: The SDK's ``Model.deploy(ws, 'NAME', [Model(ws, 'm', version=1), ...], ...)`` advice.
_DEPLOY_CALL = r"Model\.deploy\(ws, '([^']+)', \[([^\]]*)\],[^)]*\)"


def _deploy_command(match: re.Match[str]) -> str:
    """``dockyard model deploy`` for a ``Model.deploy(...)`` call in the SDK's advice: the user's
    own command line when the failing command was that deployment, else one naming the models."""
    if _same_deploy(match.group(1)):
        argv = [a for a in _argv() if a != "--overwrite"]
        return f"`dockyard {shlex.join(argv)} --overwrite`"
    models = re.findall(r"Model\(ws, '([^']+)'(?:, version=(\d+))?\)", match.group(2))
    flags = "".join(
        f" -m {name}:{version}" if version else f" -m {name}" for name, version in models
    )
    return f"`dockyard model deploy --name {match.group(1)}{flags} ... --overwrite`"


def _same_deploy(name: str) -> bool:
    """The command being run is ``dockyard model deploy --name NAME``."""
    return _command() == "model deploy" and _ctx("service", "") == name


def _redeploy(match: re.Match[str], files: str) -> str:
    if _same_deploy(match.group(1)):
        return (
            f"deploy again with the same command once the files are fixed: {_deploy_command(match)}"
        )
    return f"deploy again: {_deploy_command(match)} ({files})"


def _rules() -> list[Rule]:
    """SDK advice -> CLI advice. Specific sentences first, then the SDK names one by one."""
    w = _service_words()
    image = _ctx("image", "NAME:VERSION")
    ic = _uses_ic_file()
    ic_file = "the --ic file"

    def lit(text: str) -> Callable[[re.Match[str]], str]:
        return lambda _m: text

    def param(flag: str, key: str) -> Callable[[re.Match[str]], str]:
        if _command() not in _INFERENCE_COMMANDS:
            return lambda m: m.group(0)  # another command: leave the text alone
        return lit(f"{key} (in {ic_file})" if ic else flag)

    return [
        # --- services --------------------------------------------------------------------------
        (r"pick another name, delete it first, or pass overwrite=True",
         lit(f"pick another --name, delete it first ({w['delete']}), or pass --overwrite to replace it")),
        (r"use service\.update\(inference_config=\.\.\.\) to roll out a changed script",
         lit(f"roll out a changed script with {w['update']}")),
        (r"use service\.update\(image=\.\.\.\) or update\(inference_config=\.\.\.\)",
         lit(f"roll out the script again with {w['update']}")),
        (r"reload\(\) works for local services only", lit("`dockyard service reload` works for local services only")),
        (r"deploy with deploy_configuration\(auth_enabled=True\) to get keys",
         lit(f"deploy it again with keys: `dockyard model deploy --name {_ctx('service', 'NAME')} ... "
             '--dc deploymentconfig.json --overwrite`, where the file holds {"authEnabled": true}')),
        (r"deploy it again with Model\.deploy\(\.\.\.\) or `dockyard model deploy`", lit(f"deploy it again: {w['deploy']}")),
        (r"deploy (the service|it) again \(overwrite=True\)", lambda m: f"deploy {m.group(1)} again: {w['deploy']}"),
        (r"delete and deploy again to change the port",
         lit(f"{w['delete']}, then deploy it again with --port PORT")),
        (r"choose another port in (?:LocalWebservice\.)?deploy_configuration\(port=\.\.\.\), or omit it",
         lit('choose another --port (or "port" in the --dc file), or leave it out')),
        (r"deploy with LocalWebservice\.deploy_configuration\(\) for now",
         lit('deploy locally for now (no --dc, or a --dc file with "computeType": "local")')),
        (r"fix the named argument; see docs/deploy\.md",
         lit("fix that setting in the --dc file; see docs/deploy.md" if _has_flag("--dc")
             else "fix that setting; see docs/deploy.md")),
        (r"cannot answer run\(\)", lit("cannot answer requests")),
        (r"regen_key: unknown key", lit("--regen: unknown key")),
        (r'use "Primary" or "Secondary"', lit("use --regen Primary or --regen Secondary")),
        (r"check service\.state \(([^)]*)\) and service\.get_logs\(\)",
         lambda m: f"the service is {m.group(1)}: see {w['show']} and {w['logs']}"),
        (r"service\.reload\(\) \(local\) or service\.update\(\)",
         lit(f"{w['reload']} (local services) or {w['update']}")),
        (r"deploy again with the fixed inference_config and the same deployment_config: " + _DEPLOY_CALL,
         lambda m: _redeploy(m, "with the fixed --ic file or --entry-script, and the --dc file you deployed with")),
        (r"deploy again with the fixed inference_config: " + _DEPLOY_CALL,
         lambda m: _redeploy(m, "with the fixed --ic file or --entry-script")),
        (_DEPLOY_CALL, _deploy_command),
        (r"service\.get_logs\(request_id=['\"]?([\w.:-]+)['\"]?\)",
         lambda m: f"`dockyard service logs {_ctx('service', 'NAME')} --request-id {m.group(1)}`"),
        (r"WebserviceException\.request_id", lit("the `Request id:` line of `dockyard service run`")),
        (r"service\.start\(\), then service\.wait_for_deployment\(\)", lit(w["start"] + " (it waits until Healthy)")),
        (r"service\.start\(\)", lit(w["start"])),
        (r"wait longer \(service\.wait_for_deployment\(timeout_sec=\.\.\.\)\)",
         lit(f"wait longer ({w['show']} shows its state)")),
        (r"wait until it is Healthy: service\.wait_for_deployment\(\)",
         lit(f"wait until it is Healthy ({w['show']} shows its state)")),
        (r"service\.wait_for_deployment\(\) says why", lit(f"{w['show']} says why")),
        (r"service\.wait_for_deployment\([^)]*\)", lit(w["show"])),
        (r"service\.get_logs\(\)", lit(w["logs"])),
        (r"service\.reload\(\)", lit(w["reload"])),
        (r"service\.update\(inference_config=[^)]*\)", lit(w["update"])),
        (r"service\.update\(models=[^)]*\)", lit(f"`dockyard service update {_ctx('service', 'NAME')} --model NAME:VERSION`")),
        (r"service\.update\([^)]*\)", lit(w["update_any"])),
        (r"service\.state\b", lit(w["show"])),
        # --- images ----------------------------------------------------------------------------
        (r"wait for the build \(image\.wait_for_creation\(\)\) or create the image again",
         lit(f"`dockyard image show {image}` shows how the build is going; if it failed, "
             "create the image again with `dockyard image create`")),
        (r" or Image\.list\(ws\)", lit("")),
        (r"\(Image\.create\)", lit("(`dockyard image create`)")),
        (r"Image\.set_container_registry\(ws, address\)", lit("`dockyard image registry ADDRESS`")),
        (r"to change the base, set base_image instead", lit("to change the base, use --base-image instead")),
        # --- models ----------------------------------------------------------------------------
        (r" or Model\.list\(ws\)", lit("")),
        (r"Pass exist_ok=True \(--exist-ok\)", lit("Pass --exist-ok")),
        (r"Pass model_framework too, e\.g\. Model\.Framework\.SCIKITLEARN\.",
         lit("Pass --framework too, e.g. --framework ScikitLearn.")),
        (r"\bmodel_framework_version\b", lit("--framework-version")),
        (r"use child_paths to pick", lit("use --child-path to pick")),
        (r"child_paths are relative to model_path\.", lit("--child-path values are relative to PATH.")),
        (r"\bchild_paths\b", lit("--child-path values")),
        (r"Delete or update those services first \(`dockyard service delete NAME`\)",
         lit("Delete those services first (`dockyard service delete NAME`), or move them to "
             "another model version (`dockyard service update NAME --model NAME:VERSION`)")),
        # --- environments ----------------------------------------------------------------------
        (r"register it with env\.register\(ws\) / ", lit("register it with ")),
        (r"ask for a version instead: Environment\.get\(ws, name, version='2'\)",
         lit("ask for a version instead: --version 2")),
        (r"use one of those versions, or omit the version for the latest",
         lit("pass one of those with --version, or leave --version out for the latest")),
        (r"omit the version to get the latest", lit("leave --version out to get the latest")),
        # --- workspaces ------------------------------------------------------------------------
        (r"Create it with Workspace\.create\([^)]*\) or (`dockyard workspace create [^`]*`)",
         lambda m: f"Create it with {m.group(1)}"),
        (r"Pass exist_ok=True to open it", lit("Leave out --no-exist-ok to open it")),
        (r"open the existing one with Workspace\.get\(NAME\)",
         lit("use the existing one with --workspace PATH")),
        (r"open it with Workspace\.from_path\(PATH\)", lit("use it with --workspace PATH")),
        (r"Use Workspace\.get\(NAME\), Workspace\.from_config\(\) or Workspace\.create\(NAME\)\.",
         lit("Pass --workspace PATH, or create one with `dockyard workspace create NAME`.")),
        (r"Run `dockyard workspace create NAME` and then ws\.write_config\(\) in your project "
         r"folder, or pass the config file's path: Workspace\.from_config\(path=\.\.\.\)\.",
         lit("Run `dockyard workspace create NAME --write-config` in your project folder, "
             "or pass --workspace PATH.")),
        (r"recreate it with ws\.write_config\(\)",
         lit("recreate it with `dockyard workspace create NAME --write-config`")),
        (r"fix database_url / DOCKYARD_DATABASE_URL", lit("fix --database-url / DOCKYARD_DATABASE_URL")),
        (r"use one of (.+?), or pass suite=\.\.\. explicitly",
         lambda m: f"use --python with one of {m.group(1)}"),
        # --- inference config: flags (model deploy, image create) or keys of the --ic file -------
        (r"keep entry_script='score\.py'", lit("keep only entryScript" if ic else "keep --entry-script score.py")),
        (r"e\.g\. InferenceConfig\(entry_script='score\.py', environment=env\)",
         lit('e.g. {"entryScript": "score.py"}' if ic else "e.g. --entry-script score.py")),
        (r"InferenceConfig\(entry_script='score\.py', environment=myenv\)",
         lit('an inference config with an environment, e.g. --ic inferenceconfig.json holding '
             '{"entryScript": "score.py", "environment": {...}}')),
        (r"use runtime='python' or leave it out", lit('use "runtime": "python" or leave it out')),
        (r"fix InferenceConfig\((\w+)=\.\.\.\)", lambda m: f"fix {m.group(1)}"),
        (r"\bentry_script\b", param("--entry-script", "entryScript")),
        (r"\bsource_directory\b", param("--source-directory", "sourceDirectory")),
        (r"\bconda_file\b", param("--conda-file", "condaFile")),
        (r"env\.python\.conda_dependencies", lit("the environment's python.condaDependencies")),
        (r"env\.docker\.base_image", lit("its docker.baseImage")),
        (r"\bpython\.interpreter_path\b", lit("python.interpreterPath")),
    ]  # fmt: skip


def cli_advice(text: str) -> str:
    """Rewrite advice meant for Python callers into the CLI's flags and commands."""
    for pattern, replace in _rules():
        text = re.sub(pattern, replace, text)
    return text
