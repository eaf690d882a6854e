"""`dockyard service debug-config NAME`: the VS Code ``launch.json`` entry that attaches to a
service deployed with the debugger (registered in cli/service.py)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from dockyard.cli.common import WorkspaceOpt, load_service, note

NameArg = Annotated[str, typer.Argument(help="Service name.")]


def debug_config(
    name: NameArg,
    workspace: WorkspaceOpt = None,
    bare: Annotated[
        bool,
        typer.Option(
            "--bare", help="Only the JSON entry, without the line that says where it goes."
        ),
    ] = False,
) -> None:
    """The VS Code launch.json entry that attaches to the service's debugger (debugpy), with
    path mappings from your folders to the service's; it stays valid across reloads. The service
    must run with the debugger: `dockyard model deploy ... --debugger`."""
    service = load_service(workspace, name)
    entry = service.get_debug_config()
    if not bare:
        note('Add this entry to "configurations" in .vscode/launch.json, then start it (F5):')
    typer.echo(json.dumps(entry, indent=2))
