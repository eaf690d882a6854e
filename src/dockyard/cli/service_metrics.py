"""`dockyard service metrics NAME`: a service's request rates and latency percentiles over the
last minute, from its own /metrics (registered in cli/service.py)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from dockyard.cli.common import Output, OutputOpt, WorkspaceOpt, load_service

NameArg = Annotated[str, typer.Argument(help="Service name.")]


def metrics(
    name: NameArg,
    window: Annotated[
        float,
        typer.Option("--window", help="Seconds the rates and percentiles cover.", min=1),
    ] = 60.0,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Request rates, status classes, latency and run() percentiles and requests in flight
    over the last minute (--window), from the service's own /metrics. --output json prints the
    keys of dockyard.webservice.metrics.get_service_metrics."""
    from dockyard.webservice import get_service_metrics  # lazy: `dockyard --help` stays fast

    data = get_service_metrics(load_service(workspace, name), window_s=window)
    if output == Output.json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(render(data))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def render(data: dict[str, Any]) -> str:
    """The numbers for people, one per line."""
    status = data["status_per_s"]
    latency, run = data["latency_ms"], data["run_ms"]
    rows = [
        ("service", data["service"]),
        ("window", f"last {data['window_s']:.0f} s"),
        ("replicas", str(data["replicas"])),
        ("requests", f"{data['requests_per_s']:.2f}/s"),
        (
            "status",
            "  ".join(f"{key} {status[key]:.2f}/s" for key in ("2xx", "4xx", "5xx", "503")),
        ),
        (
            "latency",
            f"p50 {_ms(latency['p50'])}  p90 {_ms(latency['p90'])}  p99 {_ms(latency['p99'])}",
        ),
        ("run()", f"p50 {_ms(run['p50'])}  p99 {_ms(run['p99'])}"),
        ("in flight", str(data["in_flight"])),
    ]
    if data["replicas"] == 0:
        hint = f"`dockyard service show {data['service']}` says why"
        rows.append(("note", f"the service does not answer: {hint}"))
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)
