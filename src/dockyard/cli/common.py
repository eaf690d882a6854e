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
  The SDK's advice is written for Python callers ("pass overwrite=True");
  :func:`dockyard.cli.advice.render_error` turns it into the CLI's flags and commands.
"""

from __future__ import annotations

import json
import os
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


def context() -> dict[str, Any]:
    """What the running command works on (``argv``, ``service``, ``image`` ...)."""
    return dict(_state["context"])


def set_context(**values: Any) -> None:
    """Remember what the command works on (service, image), for the advice in error messages."""
    _state["context"].update({k: v for k, v in values.items() if v is not None})


def note(text: str) -> None:
    """A line for the person at the terminal, on stderr (stdout stays clean for --output json)."""
    sys.stderr.write(f"{text}\n")
    sys.stderr.flush()


# --- which workspace ----------------------------------------------------------------------------
def load_service(workspace: Path | None, name: str) -> Any:
    """The service a command works on, in the workspace of :func:`load_workspace`."""
    from dockyard import Webservice  # lazy: `dockyard --help` stays fast

    set_context(service=name)
    return Webservice(load_workspace(workspace), name)


def load_workspace(path: Path | None):  # type: ignore[no-untyped-def]
    """The workspace a command works on: --workspace, else the config lookup, else the default.

    When the workspace was not named (--workspace or DOCKYARD_WORKSPACE), a line on stderr says
    which one was used and why, so that nobody works in the default workspace by accident.
    """
    from dockyard.errors import WorkspaceNotFoundError  # lazy: `dockyard --help` stays fast
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
