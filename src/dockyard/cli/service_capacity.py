"""`dockyard service replicas` and `dockyard service capacity`: how many replicas a load needs,
by the seed's formula or measured on the running service (registered in cli/service.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dockyard.cli.common import (
    Output,
    OutputOpt,
    WorkspaceOpt,
    emit,
    err_console,
    load_service,
)

NameArg = Annotated[str, typer.Argument(help="Service name.")]


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
    from dockyard import replicas_needed  # lazy: `dockyard --help` stays fast

    count = replicas_needed(target_rps, request_seconds, max_concurrent, target_utilization)
    emit(
        output, {"replicas": count, "formula": "ceil(rps * seconds / utilization / max_concurrent)"}
    )


def capacity(
    name: NameArg,
    rps: Annotated[
        float | None,
        typer.Option("--rps", help="The request rate to plan for (requests per second)."),
    ] = None,
    duration: Annotated[
        float, typer.Option("--duration", help="Seconds of load at most (up to 600).")
    ] = 10.0,
    max_requests: Annotated[
        int, typer.Option("--max-requests", help="Requests at most (the other bound).")
    ] = 2000,
    sample: Annotated[
        Path | None,
        typer.Option(
            "--sample",
            help="A JSON file with one request body. Default: the example of the service's "
            "swagger input.",
            dir_okay=False,
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option("--allow-remote", help="Load a service that is not on this machine."),
    ] = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Measure what a Healthy service serves (a bounded load test) and recommend
    autoscale_min_replicas, autoscale_max_replicas and autoscale_target_utilization for --rps.

    The load runs at replica_max_concurrent_requests times the replicas serving, for at most
    --duration seconds and --max-requests requests; the measured request time goes into the
    seed's formula (`dockyard service replicas`). Without --rps: what the current settings
    sustain. --output json prints every number used.
    """
    from dockyard.webservice import measure_capacity  # lazy: `dockyard --help` stays fast

    service = load_service(workspace, name)
    with err_console.status(f"measuring {name}: at most {duration:g} s or {max_requests} requests"):
        report = measure_capacity(
            service,
            rps,
            duration_s=duration,
            max_requests=max_requests,
            sample=sample,
            allow_remote=allow_remote,
        )
    data = report.to_dict()
    if output == Output.json:
        emit(output, data)
        return
    _capacity_table(data)
    recommended = data["recommended"]
    if recommended["deploy_call"]:
        typer.echo(f"deploy with: {recommended['deploy_call']}")
    else:
        typer.echo(
            f"the current settings sustain about {recommended['sustained_rps']:.1f} rps "
            f"({recommended['sustained_rps_per_replica']:.1f} per replica); "
            f"plan for a rate with --rps R"
        )


def _capacity_table(data: dict[str, Any]) -> None:
    """The measurement and the recommendation for people: a short table of what was used."""
    load, measured, recommended = data["load"], data["measured"], data["recommended"]
    errors = ", ".join(f"{e['status']}: {e['count']}" for e in load["errors"]) or "none"
    run_time = measured["run_seconds"]
    rows = [
        ("sample", data["sample_source"]),
        ("load", f"{load['duration_seconds']:.1f} s at concurrency {load['concurrency']} "
                 f"({load['replicas']} replica(s) x {load['replica_max_concurrent_requests']})"),
        ("requests", f"{load['requests']} sent, {load['succeeded']} answered 200, "
                     f"{load['rejected_503']} answered 503, other errors: {errors}"),
        ("throughput", f"{measured['throughput_rps']:.1f} rps "
                       f"({measured['throughput_per_replica_rps']:.1f} per replica)"),
        ("request seconds", f"{measured['request_seconds']:.4f} mean; p50 "
                            f"{measured['latency_p50_seconds']:.4f}, p90 "
                            f"{measured['latency_p90_seconds']:.4f}, p99 "
                            f"{measured['latency_p99_seconds']:.4f}"),
        ("unloaded", f"{measured['unloaded_seconds']:.4f} s"),
        ("run() seconds", "-" if run_time is None else f"{run_time:.4f} (the server's own)"),
    ]  # fmt: skip
    rules = {rule.split(" = ", 1)[0]: rule.split(" = ", 1)[1] for rule in recommended["rules"]}
    if recommended["target_rps"] is not None:
        rows.append(("target rate", f"{recommended['target_rps']:g} rps"))
    for setting in ("autoscale_min_replicas", "autoscale_max_replicas"):
        if setting in rules:
            rows.append((setting, rules[setting]))
    rows.append(("autoscale_target_utilization", rules["autoscale_target_utilization"]))
    sustain = next(r for r in recommended["rules"] if r.startswith("the current settings sustain"))
    rows.append(("sustained now", sustain.removeprefix("the current settings sustain ")))
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    console = Console()
    with console.capture() as captured:
        console.print(table)
    typer.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))
