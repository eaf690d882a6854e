"""Options and output helpers shared by every CLI noun.

Every command takes ``--workspace PATH`` (else the config lookup of ``Workspace.from_config``, else
the default workspace) and ``--output table|json``. Tables are for people; JSON keys are stable and
documented in docs/cli.md. Errors are one line on stderr and a non-zero exit; ``--debug`` (global)
shows the traceback too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
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

_state: dict[str, Any] = {"debug": False}


def app_callback(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    """Register models, build them into images, deploy them as web services."""
    _state["debug"] = debug or os.environ.get("DOCKYARD_DEBUG") == "1"


def debug_enabled() -> bool:
    return bool(_state["debug"])


def load_workspace(path: Path | None):  # type: ignore[no-untyped-def]
    """The workspace a command works on: --workspace, else the config lookup, else the default."""
    from dockyard.workspace import Workspace

    if path is not None:
        return Workspace.from_path(path)
    return Workspace.from_config_or_default()


def emit(
    output: Output,
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """Print ``data`` as JSON (stable keys) or as a table / key-value listing for people."""
    if output == Output.json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
        return
    if isinstance(data, Mapping):
        table = Table(show_header=False, title=title, box=None)
        table.add_column("key", style="bold")
        table.add_column("value")
        for key, value in data.items():
            table.add_row(str(key), _cell(value))
        console.print(table)
        return
    rows = list(data) if isinstance(data, Iterable) else [data]
    if not rows:
        console.print(f"(no {title or 'items'})")
        return
    cols = list(columns or rows[0].keys())
    table = Table(title=title)
    for col in cols:
        table.add_column(col)
    for row in rows:
        table.add_row(*(_cell(row.get(col)) for col in cols))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
