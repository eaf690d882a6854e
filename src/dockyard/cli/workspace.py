"""``dockyard workspace ...``: create, show, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.cli.common import Output, OutputOpt, WorkspaceOpt, emit, load_workspace

app = typer.Typer(
    help="Workspaces: create one, show it, verify its stored files.", no_args_is_help=True
)


def details(ws: Any) -> dict[str, Any]:
    """The JSON shape of a workspace (documented in docs/workspace.md)."""
    data = dict(ws.get_details())
    if "created_at" in data:
        data["createdTime"] = data.pop("created_at")
    data["models"] = len(ws.models)  # model names
    data["secrets"] = len(ws.get_default_keyvault().list_secrets())
    return data


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Workspace name (letters, digits, '-', '_').")],
    path: Annotated[
        Path | None,
        typer.Option(
            "--path", help="Folder for the workspace. Default: $DOCKYARD_HOME/workspaces/NAME."
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="DOCKYARD_DATABASE_URL",
            help="PostgreSQL URL for the metadata (default: SQLite in the folder).",
        ),
    ] = None,
    exist_ok: Annotated[
        bool,
        typer.Option(
            "--exist-ok/--no-exist-ok", help="Open an existing workspace instead of failing."
        ),
    ] = True,
    write_config: Annotated[
        bool,
        typer.Option(
            "--write-config", help="Also write .dockyard/config.json in the current folder."
        ),
    ] = False,
    output: OutputOpt = Output.table,
) -> None:
    """Create a workspace (idempotent: an existing one is opened, never changed)."""
    from dockyard import Workspace  # lazy: `dockyard --help` stays fast

    ws = Workspace.create(name, path=path, exist_ok=exist_ok, database_url=database_url)
    data = details(ws)
    if write_config:
        data["config"] = str(ws.write_config())
    emit(output, data)


@app.command()
def show(workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Show the workspace the other commands use (name, folder, database, counts)."""
    ws = load_workspace(workspace)
    emit(output, details(ws))


@app.command()
def verify(
    workspace: WorkspaceOpt = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Check sizes only, not SHA-256 of every byte.")
    ] = False,
    output: OutputOpt = Output.table,
) -> None:
    """Check every stored model file; exit 5 when one is damaged or missing."""
    ws = load_workspace(workspace)
    report = ws.verify(full=not quick)
    data = {"workspace": ws.name, **report.to_dict()}
    if output == Output.json:
        emit(output, data)
    else:
        state = "clean" if report.ok else "DAMAGED"
        typer.echo(
            f"workspace {ws.name}: {state}: {report.checked} blobs, {report.bytes_checked} bytes checked"
        )
        for sha in report.damaged:
            typer.echo(f"  damaged: {sha}")
        for sha in report.missing:
            typer.echo(f"  missing: {sha}")
        if report.stale_temp:
            typer.echo(
                f"  {len(report.stale_temp)} leftover temporary file(s) from interrupted writes (not damage)"
            )
        if not report.ok:
            typer.echo("  What to do: re-register the affected models from their source files.")
    if not report.ok:
        raise typer.Exit(5)
