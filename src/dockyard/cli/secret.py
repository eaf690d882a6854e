"""``dockyard secret ...``: set, list, delete. Values are never printed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dockyard.cli.common import Output, OutputOpt, WorkspaceOpt, emit, load_workspace
from dockyard.errors import ValidationError

app = typer.Typer(
    help="Workspace secrets (the key vault). Values are never printed.", no_args_is_help=True
)
NameArg = Annotated[str, typer.Argument(help="Secret name (letters, digits, '-').")]


@app.command("set")
def set_(
    name: NameArg,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="Read the value from this file ('-' for stdin)."),
    ] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Set a secret. The value comes from --from-file, stdin, or a hidden prompt."""
    if from_file is not None and str(from_file) != "-":
        try:
            value = from_file.read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            raise ValidationError(
                f"Cannot read secret value from {from_file}: {exc.strerror}"
            ) from exc
    elif from_file is not None or not sys.stdin.isatty():
        value = sys.stdin.read().rstrip("\n")
    else:
        value = typer.prompt(f"Value for {name}", hide_input=True, confirmation_prompt=True)
    load_workspace(workspace).get_default_keyvault().set_secret(name, value)
    emit(output, {"name": name, "set": True})


@app.command("list")
def list_(workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """List secret names (never values)."""
    emit(output, load_workspace(workspace).get_default_keyvault().list_secrets(), title="secrets")


@app.command()
def delete(name: NameArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Delete a secret."""
    load_workspace(workspace).get_default_keyvault().delete_secret(name)
    emit(output, {"name": name, "deleted": True})
