"""``dockyard compute ...``: create, attach, list, show, default, delete compute targets (Ray
clusters that cluster services run on). Each command is one call of :mod:`dockyard.compute`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.cli.common import (
    Output,
    OutputOpt,
    WorkspaceOpt,
    emit,
    err_console,
    load_workspace,
    note,
)

app = typer.Typer(
    help="Compute targets: Ray clusters that cluster services run on. `create` starts a local "
    "cluster dockyard owns (and stops on `delete`); `attach` records one that runs elsewhere.",
    no_args_is_help=True,
)
NameArg = Annotated[str, typer.Argument(help="Compute target name (2-16 letters, digits, '-').")]
DefaultOpt = Annotated[
    bool,
    typer.Option("--default", help="Make it the cluster that services naming none go to."),
]
ServePortOpt = Annotated[
    int | None,
    typer.Option("--serve-port", help="Port of Ray Serve's HTTP proxy.", min=1, max=65535),
]


def _target(workspace: Path | None, name: str) -> Any:
    from dockyard import ComputeTarget  # lazy: `dockyard --help` stays fast

    return ComputeTarget(load_workspace(workspace), name)


def _row(target: Any) -> dict[str, Any]:
    data = target.serialize()
    return {
        "name": data["name"],
        "provisioning": data["provisioning"],
        "state": data["provisioningState"],
        "address": data["address"],
        "servePort": data["servePort"],
        "default": data["isDefault"],
    }


def _where(target: Any) -> str:
    data = target.serialize()
    return (
        f"Ray cluster at {data['address']}, Serve at http://{data['serveHost']}:{data['servePort']}"
    )


@app.command()
def create(
    name: NameArg,
    cpus: Annotated[
        int | None,
        typer.Option("--cpus", help="CPUs of the cluster (default: the machine's cores).", min=1),
    ] = None,
    serve_port: ServePortOpt = None,
    default: DefaultOpt = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Start a local Ray cluster (with Ray Serve) that dockyard owns; it runs until `delete`."""
    from dockyard import ComputeTarget, RayCompute  # lazy: `dockyard --help` stays fast

    ws = load_workspace(workspace)
    config = RayCompute.provisioning_configuration(
        num_cpus=cpus, serve_port=serve_port, default=default
    )
    with err_console.status(f"starting a local Ray cluster for {name}"):
        target = ComputeTarget.create(ws, name, config)
    if output == Output.json:
        emit(output, target.serialize())
        return
    typer.echo(f"{name}: {target.provisioning_state}: {_where(target)}")
    note(f"it runs until `dockyard compute delete {name}`, which stops exactly its processes")


@app.command()
def attach(
    name: NameArg,
    address: Annotated[
        str,
        typer.Option(
            "--address", help="HOST:PORT of the cluster's GCS, or ray://HOST:PORT (Ray Client)."
        ),
    ],
    serve_port: ServePortOpt = None,
    serve_host: Annotated[
        str | None,
        typer.Option("--serve-host", help="Host of Ray Serve's proxy (default: the address's)."),
    ] = None,
    dashboard_url: Annotated[
        str | None, typer.Option("--dashboard-url", help="The cluster's Ray dashboard URL.")
    ] = None,
    default: DefaultOpt = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Record a Ray cluster that runs elsewhere (dockyard never stops it)."""
    from dockyard import ComputeTarget, RayCompute  # lazy: `dockyard --help` stays fast

    ws = load_workspace(workspace)
    config = RayCompute.attach_configuration(
        address=address,
        serve_port=serve_port or 8000,
        serve_host=serve_host,
        dashboard_url=dashboard_url,
        default=default,
    )
    with err_console.status(f"asking the Ray cluster at {address}"):
        target = ComputeTarget.attach(ws, name, config)
    if output == Output.json:
        emit(output, target.serialize())
        return
    typer.echo(f"{name}: attached: {_where(target)}")
    note("dockyard never stops an attached cluster; `dockyard compute delete` only forgets it")


@app.command("list")
def list_(workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """List the workspace's compute targets."""
    from dockyard import ComputeTarget  # lazy: `dockyard --help` stays fast

    targets = ComputeTarget.list(load_workspace(workspace))
    if output == Output.json:
        emit(output, [t.serialize() for t in targets])
        return
    emit(output, [_row(t) for t in targets], title="compute targets")


@app.command()
def show(name: NameArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Everything about one compute target, and how its cluster is now."""
    target = _target(workspace, name)
    with err_console.status(f"asking the Ray cluster of {name}"):
        status = target.get_status().to_json()
    data = dict(target.serialize())
    data["status"] = {
        "alive": status["alive"],
        "nodes": len(status["nodes"]),
        "cpus": status["cpus"],
        "rayVersion": status["ray_version"],
        "error": status["error"],
    }
    data["processes"] = target.processes()
    if output == Output.json:
        data["status"]["nodes"] = status["nodes"]
        emit(output, data)
        return
    errors = data.pop("provisioningErrors", None)
    emit(output, data)
    if errors:
        typer.echo("error:")
        for error in errors:
            typer.echo(str(error).rstrip("\n"))


@app.command()
def default(
    name: NameArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table
) -> None:
    """Make a compute target the one that cluster services naming none go to."""
    target = _target(workspace, name)
    target.set_default()
    if output == Output.json:
        emit(output, target.serialize())
    else:
        typer.echo(f"{name}: the default compute target")


@app.command()
def delete(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Remove a compute target: a cluster dockyard started is stopped (exactly its processes);
    an attached one is only forgotten."""
    target = _target(workspace, name)
    pids = target.processes()
    if target.owned:
        question = f"Stop the local Ray cluster {name!r} ({len(pids)} processes) and remove it?"
        done = f"{name}: deleted (stopped {len(pids)} processes)"
    else:
        question = f"Forget the attached cluster {name!r} at {target.address} (it keeps running)?"
        done = f"{name}: forgotten (the cluster at {target.address} keeps running)"
    if not yes and not typer.confirm(question):
        raise typer.Exit(1)
    with err_console.status(f"deleting {name}"):
        target.delete()
    if output == Output.json:
        emit(output, {"name": name, "deleted": True, "owned": target.owned, "stopped": pids})
    else:
        typer.echo(done)
