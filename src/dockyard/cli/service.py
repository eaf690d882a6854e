"""``dockyard service ...``: list, show, logs, run, reload, update, start, stop, delete, keys."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.cli.common import Output, OutputOpt, WorkspaceOpt, console, emit, load_workspace

app = typer.Typer(
    help="Deployed web services: inspect, call, reload, update, delete.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="Service name.")]


def _service(workspace: Path | None, name: str) -> Any:
    from dockyard.webservice.base import Webservice

    return Webservice(load_workspace(workspace), name)


def _row(service: Any) -> dict[str, Any]:
    data = service.serialize()
    return {
        "name": data["name"],
        "computeType": data["computeType"],
        "state": data["state"],
        "scoringUri": data["scoringUri"],
        "restartCount": data["restartCount"],
        "models": data["models"],
    }


@app.command("list")
def list_(workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """List the workspace's services with their state and scoring URI."""
    from dockyard.webservice.base import Webservice

    services = Webservice.list(load_workspace(workspace))
    emit(output, [_row(s) for s in services], title="services")


@app.command()
def show(name: NameArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Everything about one service, including why it is not Healthy."""
    service = _service(workspace, name)
    data = service.serialize()
    if output == Output.json:
        emit(output, data)
        return
    error = data.pop("error", None)
    emit(output, {k: v for k, v in data.items() if k != "deploymentConfig"}, title=name)
    if error:
        console.print("[bold red]error:[/bold red]")
        console.print(error, markup=False, highlight=False)


@app.command()
def logs(
    name: NameArg,
    workspace: WorkspaceOpt = None,
    num_lines: Annotated[int, typer.Option("--num-lines", "-n", help="Lines to show.")] = 5000,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
) -> None:
    """The service's log: start-up banner, requests, print() output, tracebacks."""
    service = _service(workspace, name)
    text = service.get_logs(num_lines=num_lines)
    sys.stdout.write(text)
    sys.stdout.flush()
    if not follow:
        return
    path = service._service_dir() / "server.log"
    if not path.exists():  # not a local process service: poll the target's log
        _follow_by_polling(service, text)
        return
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        try:
            while True:
                line = handle.readline()
                if line:
                    sys.stdout.write(line.decode("utf-8", "replace"))
                    sys.stdout.flush()
                else:
                    time.sleep(0.2)
        except KeyboardInterrupt:
            return


def _follow_by_polling(service: Any, seen: str) -> None:
    last = seen.splitlines()[-1] if seen.strip() else None
    try:
        while True:
            time.sleep(1.0)
            lines = service.get_logs(num_lines=1000).splitlines()
            start = 0
            if last is not None and last in lines:
                start = len(lines) - lines[::-1].index(last)
            for line in lines[start:]:
                sys.stdout.write(line + "\n")
            sys.stdout.flush()
            if lines:
                last = lines[-1]
    except KeyboardInterrupt:
        return


@app.command()
def run(
    name: NameArg,
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", help="Request body (JSON text). Default: read stdin."),
    ] = None,
    input_file: Annotated[
        Path | None, typer.Option("--input-file", "-i", help="Read the body from a file.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Send one scoring request and print the answer."""
    if input_file is not None:
        body = input_file.read_text()
    elif data is not None:
        body = data
    else:
        body = sys.stdin.read()
    result = _service(workspace, name).run(body)
    typer.echo(json.dumps(result) if not isinstance(result, str) else result)


@app.command()
def reload(name: NameArg, workspace: WorkspaceOpt = None) -> None:
    """Pick up edits to score.py and the source directory (local services)."""
    service = _service(workspace, name)
    with console.status(f"reloading {name}"):
        service.reload()
    console.print(f"{name}: {service.state}")


@app.command()
def update(
    name: NameArg,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Model id name:version (repeat for several)."),
    ] = None,
    ic: Annotated[Path | None, typer.Option("--ic", help="v1 inferenceconfig.json")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Roll out new models or a new inference config without downtime."""
    from dockyard.assets.inference import InferenceConfig

    service = _service(workspace, name)
    inference_config = InferenceConfig.from_file(str(ic)) if ic else None
    with console.status(f"updating {name}"):
        service.update(models=model or None, inference_config=inference_config)
    console.print(f"{name}: {service.state}")


@app.command()
def start(name: NameArg, workspace: WorkspaceOpt = None) -> None:
    """Start a stopped service (e.g. after a reboot) from its recorded deployment."""
    service = _service(workspace, name)
    service.start()
    service.wait_for_deployment(show_output=True, timeout_sec=600)
    console.print(f"{name}: {service.state} at {service.scoring_uri}")


@app.command()
def stop(name: NameArg, workspace: WorkspaceOpt = None) -> None:
    """Stop a service's processes (its records stay; `start` brings it back)."""
    service = _service(workspace, name)
    service.stop()
    console.print(f"{name}: stopped")


@app.command()
def delete(name: NameArg, workspace: WorkspaceOpt = None) -> None:
    """Stop a service and remove it (its models stay registered)."""
    _service(workspace, name).delete()
    console.print(f"{name}: deleted")


@app.command()
def keys(
    name: NameArg,
    regen: Annotated[
        str | None, typer.Option("--regen", help="Regenerate the Primary or Secondary key.")
    ] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show a service's keys (only here: they never appear in logs), or regenerate one."""
    service = _service(workspace, name)
    if regen:
        service.regen_key(regen)
    primary, secondary = service.get_keys()
    emit(output, {"primaryKey": primary, "secondaryKey": secondary})


@app.command("replicas")
def replicas(
    target_rps: Annotated[
        float, typer.Option("--target-rps", help="Requests per second to serve.")
    ],
    request_seconds: Annotated[
        float, typer.Option("--request-seconds", help="Seconds one request takes.")
    ],
    max_concurrent: Annotated[
        int, typer.Option("--max-concurrent", help="Requests one replica serves at once.")
    ] = 1,
    target_utilization: Annotated[
        float, typer.Option("--target-utilization", help="0.7 or 70 (%).")
    ] = 0.7,
    output: OutputOpt = Output.table,
) -> None:
    """How many replicas a load needs (the seed guide's formula)."""
    from dockyard.webservice.config import replicas_needed

    count = replicas_needed(target_rps, request_seconds, max_concurrent, target_utilization)
    emit(
        output, {"replicas": count, "formula": "ceil(rps * seconds / utilization / max_concurrent)"}
    )
