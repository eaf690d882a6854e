"""``dockyard diagnose``: the seed's isolation steps for a service, a score.py before deploying,
or an image; one line per step, then what failed, the evidence and the fix.

Exit code 0 when every step passed (or was skipped), 1 when one failed. ``--output json`` prints
``{"subject", "ok", "failedStep", "steps": [{"step", "status", "finding", "evidence", "fix"}]}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.cli.common import Output, OutputOpt, WorkspaceOpt, load_workspace, print_json

_MARKS = {"passed": "passed ", "failed": "FAILED ", "skipped": "skipped"}


def diagnose(
    service: Annotated[
        str | None, typer.Argument(help="A deployed service to diagnose (read-only).")
    ] = None,
    entry_script: Annotated[
        Path | None,
        typer.Option("--entry-script", help="Before deploying: the score.py to check."),
    ] = None,
    source_directory: Annotated[
        Path | None,
        typer.Option(
            "--source-directory", help="The folder of the entry script (copied as a deploy does)."
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="NAME[:VERSION] of a registered model (repeatable)."),
    ] = None,
    conda_file: Annotated[
        Path | None, typer.Option("--conda-file", help="The environment as a conda YAML file.")
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option("--environment", "-e", help="A registered environment NAME[:VERSION]."),
    ] = None,
    sample: Annotated[
        str | None,
        typer.Option("--sample", help="A request body for run(): JSON text, or @FILE."),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="An image NAME[:VERSION]: scan its build log."),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", help="Seconds import, init() and the sample may take.", min=1),
    ] = 600.0,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Find the first failing step of a deployment: `dockyard diagnose SERVICE`, `dockyard
    diagnose --entry-script score.py [--source-directory DIR] [--model NAME[:VERSION]]
    [--conda-file env.yml | --environment NAME[:VERSION]] [--sample JSON|@file]`, or
    `dockyard diagnose --image NAME[:VERSION]`."""
    from dockyard import diagnose as run_diagnosis  # lazy: `dockyard --help` stays fast
    from dockyard.errors import ValidationError  # lazy: `dockyard --help` stays fast

    if service is None and entry_script is None and image is None:
        raise ValidationError(
            "Say what to diagnose: a service, a score.py before deploying, or an image.",
            hint="`dockyard diagnose SERVICE`, `dockyard diagnose --entry-script score.py "
            "[--model NAME[:VERSION]] [--conda-file env.yml]`, or `dockyard diagnose --image "
            "NAME[:VERSION]`",
        )
    report = run_diagnosis(
        load_workspace(workspace), service, entry_script=entry_script,
        source_directory=source_directory, models=model, conda_file=conda_file,
        environment=environment, sample=sample, image=image, timeout=timeout,
        show_output=output == Output.table,
    )  # fmt: skip
    data = report.to_dict()
    if output == Output.json:
        print_json(data)
    else:
        _print(data)
    if not data["ok"]:
        raise typer.Exit(1)


def _print(data: dict[str, Any]) -> None:
    from rich.console import Console  # lazy: `dockyard --help` stays fast
    from rich.markup import escape  # lazy: `dockyard --help` stays fast

    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]diagnosis of {escape(data['subject'])}[/bold]")
    colours = {"passed": "green", "failed": "bold red", "skipped": "dim"}
    for step in data["steps"]:
        mark = f"[{colours[step['status']]}]{_MARKS[step['status']]}[/]"
        console.print(f"  {mark} {escape(step['step'])}: {escape(step['finding'])}")
    failed = next((s for s in data["steps"] if s["status"] == "failed"), None)
    if failed is None:
        console.print("[green]no step failed[/green]")
        return
    console.print(f"\n[bold red]{escape(failed['step'])} failed:[/] {escape(failed['finding'])}")
    if failed["evidence"]:
        console.print("[bold]evidence:[/bold]")
        for line in failed["evidence"].splitlines():
            console.print(f"  {escape(line)}")
    if failed["fix"]:
        console.print(f"[bold]fix:[/bold] {escape(failed['fix'])}")
